// spec.trigger.schedule, pure: when VolSync starts the next scheduled syncs.
// VolSync v0.16.0 parses the schedule with robfig/cron v3 (five fields: minute,
// hour, day of month, month, day of week; names such as jan or mon; the
// descriptors @hourly, @daily, @weekly, @monthly, @yearly and @every <d>;
// an optional TZ= or CRON_TZ= prefix) in the controller's time zone, UTC in
// its container. Only UTC is modelled: another zone gives an error.

export type Schedule =
  | { kind: 'cron'; minute: Set<number>; hour: Set<number>; dom: Set<number>; month: Set<number>; dow: Set<number>; domOrDow: boolean }
  | { kind: 'every'; ms: number }

const BOUNDS = {
  minute: [0, 59],
  hour: [0, 23],
  dom: [1, 31],
  month: [1, 12],
  dow: [0, 6],
} as const
type FieldName = keyof typeof BOUNDS

const NAMES: Partial<Record<FieldName, string[]>> = {
  month: ['', 'jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  dow: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
}

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
}

const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Zulu', 'Etc/Zulu'])

/** Parse a schedule as VolSync does; an error names what it cannot model. */
export function parseSchedule(spec: string): Schedule | { error: string } {
  let text = spec.trim()
  const zone = /^(?:CRON_)?TZ=(\S+)\s+/.exec(text)
  if (zone) {
    if (!UTC_ZONES.has(zone[1]!)) return { error: `schedule ${JSON.stringify(spec)}: time zone ${zone[1]} is not modelled (UTC only)` }
    text = text.slice(zone[0].length)
  }
  if (text.startsWith('@every ')) {
    const ms = goDuration(text.slice('@every '.length).trim())
    return ms === null || ms < 1000 ? { error: `schedule ${JSON.stringify(spec)}: bad @every duration` } : { kind: 'every', ms }
  }
  if (text.startsWith('@')) {
    const expanded = DESCRIPTORS[text]
    if (!expanded) return { error: `schedule ${JSON.stringify(spec)}: unknown descriptor` }
    text = expanded
  }
  const fields = text.split(/\s+/)
  if (fields.length !== 5) return { error: `schedule ${JSON.stringify(spec)}: expected 5 fields, got ${fields.length}` }
  const parsed: Partial<Record<FieldName, { values: Set<number>; star: boolean }>> = {}
  const names: FieldName[] = ['minute', 'hour', 'dom', 'month', 'dow']
  for (const [i, name] of names.entries()) {
    const field = parseField(fields[i]!, name)
    if ('error' in field) return { error: `schedule ${JSON.stringify(spec)}: ${field.error}` }
    parsed[name] = field
  }
  return {
    kind: 'cron',
    minute: parsed.minute!.values,
    hour: parsed.hour!.values,
    dom: parsed.dom!.values,
    month: parsed.month!.values,
    dow: parsed.dow!.values,
    // robfig/cron: when neither day field is a bare "*" (or "?"), a day matches either of them
    domOrDow: !parsed.dom!.star && !parsed.dow!.star,
  }
}

function parseField(text: string, name: FieldName): { values: Set<number>; star: boolean } | { error: string } {
  const [min, max] = BOUNDS[name]
  const values = new Set<number>()
  let star = false
  for (const part of text.split(',')) {
    const [range, stepText, ...rest] = part.split('/')
    if (rest.length) return { error: `too many slashes in ${part}` }
    let lo: number
    let hi: number
    let partStar = false
    if (range === '*' || range === '?') {
      ;[lo, hi, partStar] = [min, max, true]
    } else {
      const ends = range!.split('-')
      if (ends.length > 2) return { error: `too many hyphens in ${part}` }
      const a = value(ends[0]!, name)
      const b = ends.length === 2 ? value(ends[1]!, name) : a
      if (a === null || b === null) return { error: `cannot read ${part}` }
      ;[lo, hi] = [a, b]
    }
    let step = 1
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) return { error: `bad step in ${part}` }
      step = Number(stepText)
      if (!range!.includes('-') && !partStar) hi = max // "N/step" means N-max/step
      if (step > 1) partStar = false
    }
    if (lo < min || hi > max || lo > hi) return { error: `${part} is out of range ${min}-${max}` }
    for (let v = lo; v <= hi; v += step) values.add(v)
    star ||= partStar
  }
  return { values, star }
}

function value(text: string, name: FieldName): number | null {
  const named = NAMES[name]?.indexOf(text.toLowerCase()) ?? -1
  if (named > 0 || (named === 0 && name === 'dow')) return named
  return /^\d+$/.test(text) ? Number(text) : null
}

/** Go's time.ParseDuration for the units a schedule uses (h, m, s, ms). */
function goDuration(text: string): number | null {
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }
  let ms = 0
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/y
  let at = 0
  while (at < text.length) {
    re.lastIndex = at
    const m = re.exec(text)
    if (!m) return null
    ms += Number(m[1]) * unit[m[2]!]!
    at = re.lastIndex
  }
  return text.length ? ms : null
}

/** The first time strictly after `after` (ms since the epoch) the schedule fires, in whole minutes (UTC). */
export function nextRun(schedule: Schedule, after: number): number {
  if (schedule.kind === 'every') return Math.floor((after + schedule.ms) / 1000) * 1000
  const s = schedule
  let t = new Date(Math.floor(after / 60_000) * 60_000 + 60_000)
  // a schedule that never fires (31 Feb) ends the search after 5 years, as robfig/cron's does
  const limit = t.getTime() + 5 * 366 * 86_400_000
  while (t.getTime() < limit) {
    const dayOk =
      s.month.has(t.getUTCMonth() + 1) &&
      (s.domOrDow
        ? s.dom.has(t.getUTCDate()) || s.dow.has(t.getUTCDay())
        : s.dom.has(t.getUTCDate()) && s.dow.has(t.getUTCDay()))
    if (!dayOk) {
      t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + 1))
      continue
    }
    if (!s.hour.has(t.getUTCHours())) {
      t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), t.getUTCHours() + 1))
      continue
    }
    if (!s.minute.has(t.getUTCMinutes())) {
      t = new Date(t.getTime() + 60_000)
      continue
    }
    return t.getTime()
  }
  return Number.POSITIVE_INFINITY
}
