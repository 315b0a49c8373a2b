// Retention, pure: which snapshots VolSync's `restic forget` keeps, by which
// rule, and until when each is expected to survive the scheduled backups.
//
// VolSync v0.16.0 turns spec.restic.retain into FORGET_OPTIONS
// (mover/restic/mover.go generateForgetOptions: --keep-hourly/daily/weekly/
// monthly/yearly N, --keep-within D, --keep-last N; no retain, or an empty
// one, is --keep-last 1) and its mover runs `restic forget --host volsync
// <options>` after every backup (mover-restic/entry.sh). restic 0.18.1 groups
// the snapshots by host and paths and applies the policy to each group: newest
// first, each "last n <period>" rule keeps the newest snapshot of each period
// until n periods are counted, the oldest snapshot of the group is kept too
// while a rule has counts left, and --keep-within keeps what is newer than
// the newest snapshot minus the duration. Periods are read on the wall clock
// of the offset each snapshot's time was recorded with.
import { parseResticInstant, type ResticSnapshot } from './restic.ts'
import type { ReplicationSource } from '../volsync/objects.ts'
import { nextRun, parseSchedule, type Schedule } from '../volsync/schedule.ts'

/** restic's --keep-within duration: calendar units, as written (1y2m3d4h). */
export interface WithinDuration {
  years: number
  months: number
  days: number
  hours: number
}

/** A count: 0 no rule, -1 unlimited. */
export interface RetainPolicy {
  last: number
  hourly: number
  daily: number
  weekly: number
  monthly: number
  yearly: number
  within: WithinDuration | null
}

/** The host VolSync's mover backs up as; forget only looks at its snapshots (--host volsync). */
export const MOVER_HOST = 'volsync'

/** How VolSync's FORGET_OPTIONS read (for messages). */
export function policyWords(p: RetainPolicy): string {
  const parts: string[] = []
  for (const key of ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    if (p[key]) parts.push(`${key} ${p[key] === -1 ? 'unlimited' : p[key]}`)
  }
  if (p.within) parts.push(`within ${durationText(p.within)}`)
  if (p.last) parts.push(`last ${p.last === -1 ? 'unlimited' : p.last}`)
  return parts.join(', ')
}

/** spec.restic.retain -> the options VolSync gives `restic forget` (FORGET_OPTIONS, as words). */
export function forgetFlags(retain: unknown): string[] {
  const r = (retain ?? {}) as Record<string, unknown>
  const flags: string[] = []
  for (const key of ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    if (r[key] !== undefined && r[key] !== null) flags.push(`--keep-${key}`, String(r[key]))
  }
  if (r.within !== undefined && r.within !== null) flags.push('--keep-within', String(r.within))
  if (r.last !== undefined && r.last !== null) flags.push('--keep-last', String(r.last))
  return flags.length ? flags : ['--keep-last', '1']
}

/**
 * spec.restic.retain -> the policy VolSync's mover applies, or why restic
 * would refuse it (its forget then fails and forgets nothing).
 */
export function retainPolicy(retain: unknown): RetainPolicy | { error: string } {
  const policy: RetainPolicy = { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0, within: null }
  const r = (retain ?? {}) as Record<string, unknown>
  let any = false
  for (const key of ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    const v = r[key]
    if (v === undefined || v === null) continue
    any = true
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      return { error: `retain.${key} ${JSON.stringify(v)}: restic refuses it (negative values not allowed)` }
    }
    policy[key] = v
  }
  if (r.within !== undefined && r.within !== null) {
    any = true
    const d = parseWithin(String(r.within))
    if (!d) return { error: `retain.within ${JSON.stringify(r.within)}: restic cannot read it as a duration (e.g. 3d, 1y2m)` }
    policy.within = isZero(d) ? null : d
  }
  if (r.last !== undefined && r.last !== null) {
    any = true
    const text = String(r.last)
    if (text === 'unlimited') policy.last = -1
    else if (/^\d+$/.test(text)) policy.last = Number(text)
    else return { error: `retain.last ${JSON.stringify(r.last)}: restic refuses it (a count or "unlimited")` }
  }
  if (!any) policy.last = 1 // VolSync's default: --keep-last 1
  const empty = !policy.within && [policy.last, policy.hourly, policy.daily, policy.weekly, policy.monthly, policy.yearly].every((n) => n === 0)
  if (empty) return { error: 'the retain policy keeps nothing: restic refuses it ("no policy was specified")' }
  return policy
}

/** restic's ParseDuration: numbers with the units y, m (months), d, h; a repeated unit overrides. */
export function parseWithin(text: string): WithinDuration | null {
  const d: WithinDuration = { years: 0, months: 0, days: 0, hours: 0 }
  const s = text.trim()
  const re = /(\d+)([ymdh])/y
  let at = 0
  while (at < s.length) {
    re.lastIndex = at
    const m = re.exec(s)
    if (!m) return null
    const n = Number(m[1])
    if (m[2] === 'y') d.years = n
    else if (m[2] === 'm') d.months = n
    else if (m[2] === 'd') d.days = n
    else d.hours = n
    at = re.lastIndex
  }
  return d
}

const isZero = (d: WithinDuration) => !d.years && !d.months && !d.days && !d.hours

/** As restic prints a duration: 1y2m3d4h, zero units left out. */
export function durationText(d: WithinDuration): string {
  return `${d.years ? `${d.years}y` : ''}${d.months ? `${d.months}m` : ''}${d.days ? `${d.days}d` : ''}${d.hours ? `${d.hours}h` : ''}`
}

/** What the policy needs to know of a snapshot. */
export interface PolicySnapshot {
  id: string
  /** whole seconds since the epoch */
  seconds: number
  nanos: number
  /** the UTC offset its time was recorded with */
  offsetSeconds: number
  hostname: string
  /** sorted paths, joined: the group key besides the host */
  paths: string
}

export function policySnapshot(s: Pick<ResticSnapshot, 'id' | 'time' | 'hostname' | 'paths'>): PolicySnapshot {
  const at = parseResticInstant(s.time)
  return { id: s.id, ...at, hostname: s.hostname ?? '', paths: [...(s.paths ?? [])].sort().join('\n') }
}

const newerFirst = (a: PolicySnapshot, b: PolicySnapshot) => b.seconds - a.seconds || b.nanos - a.nanos

/** The wall clock of a snapshot (UTC getters read it). */
const wall = (s: PolicySnapshot) => new Date((s.seconds + s.offsetSeconds) * 1000)

function isoWeek(d: Date): number {
  // the ISO year and week of the Thursday of d's week
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 3 - ((d.getUTCDay() + 6) % 7)))
  const year = thursday.getUTCFullYear()
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1
  return year * 100 + week
}

type Bucketer = (s: PolicySnapshot, nr: number) => number
const BUCKETS: { key: keyof Omit<RetainPolicy, 'within'>; reason: string; bucket: Bucketer }[] = [
  { key: 'last', reason: 'last snapshot', bucket: (_s, nr) => nr },
  { key: 'hourly', reason: 'hourly snapshot', bucket: (s) => { const w = wall(s); return ((w.getUTCFullYear() * 100 + w.getUTCMonth() + 1) * 100 + w.getUTCDate()) * 100 + w.getUTCHours() } },
  { key: 'daily', reason: 'daily snapshot', bucket: (s) => { const w = wall(s); return (w.getUTCFullYear() * 100 + w.getUTCMonth() + 1) * 100 + w.getUTCDate() } },
  { key: 'weekly', reason: 'weekly snapshot', bucket: (s) => isoWeek(wall(s)) },
  { key: 'monthly', reason: 'monthly snapshot', bucket: (s) => { const w = wall(s); return w.getUTCFullYear() * 100 + w.getUTCMonth() + 1 } },
  { key: 'yearly', reason: 'yearly snapshot', bucket: (s) => wall(s).getUTCFullYear() },
]

/**
 * --keep-within's limit: the newest snapshot that is not in the future, minus
 * the duration in calendar units on that snapshot's wall clock (Go's AddDate
 * normalises 31 March minus a month to 3 March, as Date.UTC does).
 */
function withinLimit(group: readonly PolicySnapshot[], d: WithinDuration, nowMs: number): { seconds: number; nanos: number } | null {
  let latest: PolicySnapshot | null = null
  for (const s of group) {
    const beforeNow = s.seconds * 1000 + s.nanos / 1e6 < nowMs
    if (beforeNow && (!latest || newerFirst(s, latest) < 0)) latest = s
  }
  if (!latest) return null // none before now: restic's "latest" is the zero time, everything is within
  const w = wall(latest)
  const shifted = Date.UTC(
    w.getUTCFullYear() - d.years, w.getUTCMonth() - d.months, w.getUTCDate() - d.days,
    w.getUTCHours() - d.hours, w.getUTCMinutes(), w.getUTCSeconds(),
  )
  return { seconds: shifted / 1000 - latest.offsetSeconds, nanos: latest.nanos }
}

/**
 * restic's ApplyPolicy over one group: the reasons for each kept snapshot
 * (restic's own "matches" words); a snapshot not in the map is forgotten.
 * `group` must be newest first (ties in the order restic read them).
 */
export function applyPolicy(group: readonly PolicySnapshot[], policy: RetainPolicy, nowMs: number): Map<string, string[]> {
  const kept = new Map<string, string[]>()
  const counts = BUCKETS.map((b) => policy[b.key])
  const last: (number | null)[] = BUCKETS.map(() => null)
  const limit = policy.within ? withinLimit(group, policy.within, nowMs) : null
  group.forEach((s, nr) => {
    const reasons: string[] = []
    if (policy.within && (!limit || s.seconds > limit.seconds || (s.seconds === limit.seconds && s.nanos > limit.nanos))) {
      reasons.push(`within ${durationText(policy.within)}`)
    }
    BUCKETS.forEach((b, i) => {
      if (counts[i] === 0) return
      const val = b.bucket(s, nr)
      const oldest = nr === group.length - 1
      if (val !== last[i] || oldest) {
        reasons.push(val === last[i] ? `oldest ${b.reason}` : b.reason)
        last[i] = val
        if (counts[i]! > 0) counts[i]!--
      }
    })
    if (reasons.length) kept.set(s.id, reasons)
  })
  return kept
}

/** restic's groups under `forget --host volsync`: by paths; other hosts are not touched. */
function moverGroups(snapshots: readonly PolicySnapshot[]): Map<string, PolicySnapshot[]> {
  const groups = new Map<string, PolicySnapshot[]>()
  for (const s of snapshots) {
    if (s.hostname !== MOVER_HOST) continue
    groups.set(s.paths, [...(groups.get(s.paths) ?? []), s])
  }
  for (const g of groups.values()) g.sort(newerFirst) // Array.prototype.sort is stable, as restic's sort.Stable
  return groups
}

/** What becomes of one snapshot. */
export interface Fate {
  /**
   * the rules that keep it at the next forget (restic's words: "hourly
   * snapshot", "within 3d", ...); empty: the next forget removes it; null:
   * VolSync's forget does not look at it (another host)
   */
  keptBy: string[] | null
  /**
   * the scheduled backup whose forget is expected to remove it (ms since the
   * epoch), and how many scheduled backups from now that is
   */
  until: { at: number; backups: number } | null
  /**
   * why `until` is null: kept past the last simulated backup (`beyond` is
   * its time), no scheduled backups, or VolSync does not forget it
   */
  open?: { kind: 'beyond'; at: number } | { kind: 'no-schedule' } | { kind: 'other-host' }
}

/** How far ahead the scheduled backups are simulated. */
export const MAX_BACKUPS = 5_000
const MAX_BACKUPS_UNLIMITED = 1_000

/**
 * The fate of each snapshot: the rules that keep it now, and the scheduled
 * backup whose forget is expected to remove it, found by adding the next
 * scheduled backups one by one (each a snapshot of /data at its scheduled
 * time) and applying the policy after each, as the mover does. `schedule`
 * null: no scheduled backups (a parked or manual-only source).
 */
export function predictRetention(
  snapshots: readonly PolicySnapshot[],
  policy: RetainPolicy,
  schedule: Schedule | null,
  nowMs: number,
  maxBackups = MAX_BACKUPS,
): Map<string, Fate> {
  const fates = new Map<string, Fate>()
  for (const s of snapshots) if (s.hostname !== MOVER_HOST) fates.set(s.id, { keptBy: null, until: null, open: { kind: 'other-host' } })
  const groups = moverGroups(snapshots)
  for (const group of groups.values()) {
    const now = applyPolicy(group, policy, nowMs)
    for (const s of group) fates.set(s.id, { keptBy: now.get(s.id) ?? [], until: null })
  }
  if (!schedule) {
    for (const fate of fates.values()) if (fate.keptBy) fate.open = { kind: 'no-schedule' }
    return fates
  }
  const unlimited = [policy.last, policy.hourly, policy.daily, policy.weekly, policy.monthly, policy.yearly].includes(-1)
  const steps = Math.min(maxBackups, unlimited ? MAX_BACKUPS_UNLIMITED : maxBackups)
  // the mover backs up /data: its scheduled snapshots join that group
  const dataKey = '/data'
  let group = groups.get(dataKey) ?? []
  // ids that start with NUL stand for snapshots no one asked about (predictNewSnapshot's older one)
  const pending = new Set(group.map((s) => s.id).filter((id) => !id.startsWith('\0')))
  let t = nowMs
  for (let k = 1; k <= steps && pending.size > 0; k++) {
    t = nextRun(schedule, t)
    if (!Number.isFinite(t)) break
    const seconds = Math.floor(t / 1000)
    group = [{ id: `\0scheduled-${k}`, seconds, nanos: 0, offsetSeconds: 0, hostname: MOVER_HOST, paths: dataKey }, ...group]
    const kept = applyPolicy(group, policy, t + 1000)
    group = group.filter((s) => kept.has(s.id))
    for (const id of [...pending]) {
      if (kept.has(id)) continue
      pending.delete(id)
      fates.get(id)!.until = { at: t, backups: k }
    }
  }
  for (const id of pending) fates.get(id)!.open = Number.isFinite(t) ? { kind: 'beyond', at: t } : { kind: 'no-schedule' }
  // groups of other paths get no new snapshots: forget leaves them as they are now
  for (const [key, g] of groups) {
    if (key === dataKey) continue
    for (const s of g) {
      const fate = fates.get(s.id)!
      if (!fate.keptBy?.length) fate.until = schedule ? { at: nextRun(schedule, nowMs), backups: 1 } : null
      else fate.open = { kind: 'beyond', at: t }
    }
  }
  return fates
}

/**
 * The fate of a snapshot just taken at `takenMs`: only newer snapshots and the
 * policy decide it (restic counts periods from the newest), so the scheduled
 * backups alone predict it, assuming older snapshots exist (the oldest
 * snapshot of a repository is kept longer).
 */
export function predictNewSnapshot(
  takenMs: number,
  policy: RetainPolicy,
  schedule: Schedule | null,
  nowMs: number,
): Fate {
  const s = (id: string, ms: number): PolicySnapshot => ({
    id, seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6, offsetSeconds: 0, hostname: MOVER_HOST, paths: '/data',
  })
  const older = s('\0older', 0)
  return predictRetention([older, s('new', takenMs)], policy, schedule, nowMs).get('new')!
}

/** What a ReplicationSource says about its retention: the policy, the backups to come, and the limits of a prediction. */
export interface SourceRetention {
  /** null: restic refuses the policy (VolSync's forget fails and forgets nothing) */
  policy: RetainPolicy | null
  /** the options VolSync passes to `restic forget` */
  forget: string
  /** the scheduled backups to come; null: none (see `predictable`) */
  schedule: Schedule | null
  /** false: when the next backups come is unknown (an unreadable schedule) */
  predictable: boolean
  /** what limits the prediction, in words */
  notes: string[]
}

export function sourceRetention(rs: Pick<ReplicationSource, 'spec'>): SourceRetention {
  const retain = rs.spec.restic?.retain
  const forget = forgetFlags(retain).join(' ')
  const parsed = retainPolicy(retain)
  const notes: string[] = []
  const policy = 'error' in parsed ? null : parsed
  if ('error' in parsed) notes.push(`${parsed.error}: VolSync's forget fails and forgets nothing`)
  const trigger = rs.spec.trigger ?? {}
  if (rs.spec.paused) {
    notes.push('the source is paused (spec.paused): no backup runs, nothing is forgotten until it is unpaused')
    return { policy, forget, schedule: null, predictable: true, notes }
  }
  if (typeof trigger.manual === 'string') {
    notes.push('spec.trigger.manual is set: the schedule is ignored; each new manual value runs a backup and a forget')
    return { policy, forget, schedule: null, predictable: true, notes }
  }
  if (!trigger.schedule) {
    notes.push('no schedule: VolSync backs up continuously; the prediction assumes one backup a minute')
    return { policy, forget, schedule: { kind: 'every', ms: 60_000 }, predictable: true, notes }
  }
  const schedule = parseSchedule(trigger.schedule)
  if ('error' in schedule) {
    notes.push(`${schedule.error}: no prediction of when snapshots are forgotten`)
    return { policy, forget, schedule: null, predictable: false, notes }
  }
  return { policy, forget, schedule, predictable: true, notes }
}

/** restic's reasons, short: "hourly snapshot" -> "hourly", "within 3d" as is. */
export function keptByWords(keptBy: readonly string[]): string {
  return keptBy.map((r) => r.replace(/ snapshot$/, '')).join(', ')
}

/** The expected fate of a snapshot a source's backup has just saved (taken at `takenMs`). */
export function newSnapshotFate(rs: Pick<ReplicationSource, 'spec'>, takenMs: number, nowMs: number): { fate: Fate; retention: SourceRetention } {
  const retention = sourceRetention(rs)
  if (!retention.policy || !retention.predictable) return { fate: { keptBy: null, until: null }, retention }
  return { fate: predictNewSnapshot(takenMs, retention.policy, retention.schedule, nowMs), retention }
}
