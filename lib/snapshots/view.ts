// What `list` prints: the snapshot table. Pure.
import {
  formatAge,
  formatBytes,
  formatTime,
  pad2,
  renderTable,
  type Cell,
  type Column,
  type Paint,
  type Table,
} from '../output.ts'
import { parseResticTime, type ListedSnapshot } from './restic.ts'
import { keptByWords, type Fate, type SourceRetention } from './retention.ts'

/** Local time of day, with the date when it differs from the UTC date. */
function localBeside(t: Date): string {
  const sameDay = t.getDate() === t.getUTCDate()
  const hm = `${pad2(t.getHours())}:${pad2(t.getMinutes())}`
  return sameDay ? hm : `${pad2(t.getMonth() + 1)}-${pad2(t.getDate())} ${hm}`
}

/** KEPT BY: the rules that keep it at the next forget. */
function keptByCell(fate: Fate | undefined): Cell {
  if (!fate) return { text: '?', tone: 'dim' }
  if (fate.keptBy === null) return { text: 'other host', tone: 'dim' }
  if (fate.keptBy.length === 0) return { text: 'none', tone: 'red' }
  return keptByWords(fate.keptBy)
}

/** UNTIL: the scheduled backup whose forget is expected to remove it. */
function untilCell(fate: Fate | undefined): Cell {
  if (fate?.until) {
    const text = formatTime(new Date(fate.until.at), 'utc')
    return fate.until.backups === 1 ? { text: `${text} (next)`, tone: 'red' } : text
  }
  switch (fate?.open?.kind) {
    case 'beyond':
      return `after ${formatTime(new Date(fate.open.at), 'utc').slice(0, 10)}`
    case 'no-schedule':
      return { text: 'no backups', tone: 'dim' }
    case 'other-host':
      return { text: 'never', tone: 'dim' }
    default:
      return { text: '?', tone: 'dim' }
  }
}

/** The retention fields of a snapshot in --output json. */
export function retentionFields(fate: Fate | undefined): {
  keptBy: string[] | null
  expectedUntil: string | null
  expectedUntilBackups: number | null
} {
  return {
    keptBy: fate ? fate.keptBy : null,
    expectedUntil: fate?.until ? new Date(fate.until.at).toISOString() : null,
    expectedUntilBackups: fate?.until?.backups ?? null,
  }
}

/**
 * The snapshot table; with `fates` (from predictRetention) it also shows
 * KEPT BY and UNTIL.
 */
export function snapshotTable(
  snapshots: readonly ListedSnapshot[],
  now: Date,
  width: number,
  paint: Paint,
  fates?: ReadonlyMap<string, Fate>,
): Table {
  const columns: Column[] = [
    { header: 'PREV', align: 'right' },
    { header: 'ID' },
    { header: 'TIME (UTC)' },
    { header: 'LOCAL' },
    { header: 'AGE', align: 'right' },
    ...(fates ? [{ header: 'KEPT BY', min: 6 }, { header: 'UNTIL (UTC)' }] : []),
    { header: 'HOST', min: 5, drop: 1 },
    { header: 'SIZE', align: 'right' },
    { header: 'FILES', align: 'right' },
    { header: 'TAGS', min: 4 },
  ]
  const rows: Cell[][] = snapshots.map((s) => {
    const t = new Date(parseResticTime(s.time))
    const size = s.summary?.total_bytes_processed
    const files = s.summary?.total_files_processed
    return [
      s.previous === null ? { text: '-', tone: 'dim' } : String(s.previous),
      s.short_id,
      formatTime(t, 'utc'),
      localBeside(t),
      formatAge(now.getTime() - t.getTime()),
      ...(fates ? [keptByCell(fates.get(s.id)), untilCell(fates.get(s.id))] : []),
      s.hostname ?? '-',
      size === undefined ? '-' : formatBytes(size),
      files === undefined ? '-' : String(files),
      s.tags?.length ? s.tags.join(',') : '-',
    ]
  })
  return renderTable(columns, rows, width, paint)
}

/** Where the runbook says how to keep a snapshot that the next backup would forget. */
export const KEEP_HINT = 'docs/runbooks/volsync.md, "Keep a snapshot"'

/** The lines under the list: the policy, what UNTIL assumes, and what limits the prediction. */
export function retentionLines(r: SourceRetention, schedule: string | undefined): string[] {
  const lines = [
    `Retention: after every backup VolSync runs  restic forget --host volsync ${r.forget}` +
      (schedule ? `  (schedule ${schedule}).` : '.'),
  ]
  if (r.policy && r.predictable) {
    lines.push('UNTIL is the scheduled backup whose forget is expected to remove the snapshot (every backup on time and successful).')
  }
  for (const note of r.notes) lines.push(`Note: ${note}.`)
  return lines
}

/** A warning for the snapshots that the next scheduled backup is expected to forget, or null. */
export function nextForgetWarning(snapshots: readonly ListedSnapshot[], fates: ReadonlyMap<string, Fate>): string | null {
  const doomed = snapshots.filter((s) => fates.get(s.id)?.until?.backups === 1)
  if (doomed.length === 0) return null
  const at = formatTime(new Date(fates.get(doomed[0]!.id)!.until!.at), 'utc')
  return (
    `the next scheduled backup (${at} UTC) is expected to forget ${doomed.length} snapshot(s): ` +
    `${doomed.map((s) => s.short_id).join(', ')}. To keep them, hold the schedule first (${KEEP_HINT}).`
  )
}

/** What `snapshot` says about how long the new snapshot is expected to live. */
export function newSnapshotLife(
  ref: string,
  id: string,
  fate: Fate,
  r: SourceRetention,
  now: Date,
): { line: string; warning: string | null } {
  const short = id.slice(0, 8)
  const kept = fate.keptBy?.length ? `; kept now as the ${keptByWords(fate.keptBy)} snapshot` : ''
  if (fate.until) {
    const at = new Date(fate.until.at)
    const when = `${formatTime(at, 'utc')} UTC (in ${formatAge(at.getTime() - now.getTime())})`
    const line =
      `Snapshot ${short} is expected to be kept until the backup of ${when}, ` +
      `the ${ordinal(fate.until.backups)} from now (restic forget ${r.forget}${kept}).`
    const warning =
      fate.until.backups === 1
        ? `the next backup of ${ref}, at ${when}, is expected to make VolSync forget snapshot ${short} ` +
          `(restic forget ${r.forget} keeps the newer one instead). To keep it, hold the schedule now (${KEEP_HINT}).`
        : null
    return { line, warning }
  }
  switch (fate.open?.kind) {
    case 'beyond':
      return {
        line: `Snapshot ${short} is expected to be kept past ${formatTime(new Date(fate.open.at), 'utc')} UTC (restic forget ${r.forget}${kept}).`,
        warning: null,
      }
    case 'no-schedule':
      return { line: `Snapshot ${short} is not expected to be forgotten while no backup runs: ${r.notes.join('; ')}.`, warning: null }
    default:
      return { line: `How long snapshot ${short} is kept cannot be predicted: ${r.notes.join('; ') || 'unknown'}.`, warning: null }
  }
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th'
  return n === 1 ? 'next one' : `${n}${suffix}`
}

/** What `snapshot-all` says after its table: the earliest expected end of the new snapshots, and those the next backup forgets. */
export function newSnapshotsLines(
  lives: readonly { ref: string; snapshot: string; fate: Fate }[],
  now: Date,
): { lines: string[]; warning: string | null } {
  const timed = lives.filter((l) => l.fate.until).sort((a, b) => a.fate.until!.at - b.fate.until!.at)
  const lines: string[] = []
  if (timed.length) {
    const first = timed[0]!
    const at = new Date(first.fate.until!.at)
    lines.push(
      `The new snapshots are expected to be kept until ${formatTime(at, 'utc')} UTC (in ${formatAge(at.getTime() - now.getTime())}) ` +
        `at least: the earliest is ${first.snapshot.slice(0, 8)} of ${first.ref} (see volsync:list, UNTIL).`,
    )
  }
  const doomed = timed.filter((l) => l.fate.until!.backups === 1)
  const warning = doomed.length
    ? `the next scheduled backup of ${doomed.length} source(s) is expected to make VolSync forget the snapshot just taken: ` +
      `${doomed.map((l) => `${l.ref} (${l.snapshot.slice(0, 8)}, at ${formatTime(new Date(l.fate.until!.at), 'utc')} UTC)`).join(', ')}. ` +
      `To keep them, hold their schedules now (${KEEP_HINT}).`
    : null
  return { lines, warning }
}
