// `stats` and `check`: what a repository holds and whether restic finds it
// sound. Pure: the restic arguments, the reading of `restic stats --json`,
// one source's row, the totals, the table; and the verdict of `restic check`
// (a repository locked by another process is "busy", never unlocked here).
import { formatBytes, renderTable, type Cell, type Column, type Paint, type Table } from '../output.ts'
import { parseResticTime, tail, type ListedSnapshot } from '../snapshots/restic.ts'
import type { ReplicationSource } from '../volsync/objects.ts'

/** restic reads only: --no-lock (stats allows it), --no-cache as every session command of this tool. */
const READ = ['--json', '--no-lock', '--no-cache'] as const

export const statsArgs = {
  /** restore size of the latest snapshot */
  latest: ['restic', 'stats', '--mode', 'restore-size', ...READ, 'latest'],
  /** restore size of every snapshot together: what the repository would hold without deduplication */
  all: ['restic', 'stats', '--mode', 'restore-size', ...READ],
  /** what the repository stores */
  raw: ['restic', 'stats', '--mode', 'raw-data', ...READ],
} as const

export interface ResticStats {
  total_size: number
  total_file_count?: number
  total_uncompressed_size?: number
  snapshots_count?: number
}

/** The JSON object of `restic stats --json` (the last line that starts with '{'); null when there is none. */
export function parseStats(output: string): ResticStats | null {
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .reverse()
    .find((l) => l.startsWith('{'))
  if (line === undefined) return null
  try {
    const parsed = JSON.parse(line) as ResticStats
    return typeof parsed?.total_size === 'number' ? parsed : null
  } catch {
    return null
  }
}

/** One source's numbers, as JSON reports them (null: unknown). */
export interface SourceStats {
  namespace: string
  source: string
  ok: boolean
  /** why the numbers are missing (ok false) */
  message: string
  details: string
  snapshots: number | null
  oldest: string | null
  newest: string | null
  latestRestoreBytes: number | null
  latestFiles: number | null
  /** restore size of every snapshot together */
  allRestoreBytes: number | null
  /** what the repository stores (after deduplication and compression) */
  rawBytes: number | null
  /** allRestoreBytes / rawBytes, 2 decimals */
  dedupRatio: number | null
  /** status.restic.lastPruned */
  lastPruned: string | null
  /** spec.restic.retain */
  retain: Record<string, unknown> | null
}

export interface StatsFacts {
  snapshots: readonly ListedSnapshot[]
  latest: ResticStats | null
  all: ResticStats | null
  raw: ResticStats | null
}

export function dedupRatio(allRestore: number | null, raw: number | null): number | null {
  if (allRestore === null || raw === null || raw <= 0) return null
  return Math.round((allRestore / raw) * 100) / 100
}

/** The row of one source, without its numbers (a source whose repository could not be read). */
export function baseStats(rs: ReplicationSource): SourceStats {
  const retain = (rs.spec.restic as { retain?: unknown } | undefined)?.retain
  return {
    namespace: rs.metadata.namespace ?? '',
    source: rs.metadata.name,
    ok: true,
    message: '',
    details: '',
    snapshots: null,
    oldest: null,
    newest: null,
    latestRestoreBytes: null,
    latestFiles: null,
    allRestoreBytes: null,
    rawBytes: null,
    dedupRatio: null,
    lastPruned: rs.status?.restic?.lastPruned ?? null,
    retain: retain && typeof retain === 'object' && !Array.isArray(retain) ? (retain as Record<string, unknown>) : null,
  }
}

export function sourceStats(rs: ReplicationSource, facts: StatsFacts): SourceStats {
  const times = facts.snapshots.map((s) => ({ s, t: parseResticTime(s.time) })).sort((a, b) => a.t - b.t)
  const allRestoreBytes = facts.all?.total_size ?? null
  const rawBytes = facts.raw?.total_size ?? null
  return {
    ...baseStats(rs),
    snapshots: facts.snapshots.length,
    oldest: times[0]?.s.time ?? null,
    newest: times.at(-1)?.s.time ?? null,
    latestRestoreBytes: facts.latest?.total_size ?? null,
    latestFiles: facts.latest?.total_file_count ?? null,
    allRestoreBytes,
    rawBytes,
    dedupRatio: dedupRatio(allRestoreBytes, rawBytes),
  }
}

/** A source whose repository could not be read. */
export function failedStats(rs: ReplicationSource, message: string, details: string): SourceStats {
  return { ...baseStats(rs), ok: false, message, details }
}

/**
 * The note of a FAILED row, printed as the row is read and again under the
 * table with restic's words: `[<cluster>: ]<namespace>/<source>: <text>`, the
 * cluster named when several are read (CLUSTER=all).
 */
export const failedNote = (r: Pick<SourceStats, 'namespace' | 'source'>, text: string, cluster?: string): string =>
  `${cluster ? `${cluster}: ` : ''}${r.namespace}/${r.source}: ${text}`

const RETAIN_ORDER = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'within']

/** spec.restic.retain as one short text: "hourly 24, daily 7"; "-" when none (VolSync then forgets nothing). */
export function retainText(retain: Record<string, unknown> | null): string {
  if (!retain) return '-'
  const keys = Object.keys(retain).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  const parts = keys.filter((k) => retain[k] !== undefined && retain[k] !== null).map((k) => `${k} ${String(retain[k])}`)
  return parts.length ? parts.join(', ') : '-'
}
const rank = (k: string) => (RETAIN_ORDER.includes(k) ? RETAIN_ORDER.indexOf(k) : RETAIN_ORDER.length)

/** "2026-11-30 04:00" (UTC) from an RFC 3339 time; "-" for none. */
export function shortTime(value: string | null): string {
  if (!value) return '-'
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) return value
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ')
}

export interface StatsTotals {
  sources: number
  failed: number
  snapshots: number
  latestRestoreBytes: number
  allRestoreBytes: number
  rawBytes: number
  dedupRatio: number | null
}

/** Sums of the sources that were read. */
export function statsTotals(rows: readonly SourceStats[]): StatsTotals {
  const sum = (f: (r: SourceStats) => number | null) => rows.reduce((n, r) => n + (f(r) ?? 0), 0)
  const allRestoreBytes = sum((r) => r.allRestoreBytes)
  const rawBytes = sum((r) => r.rawBytes)
  return {
    sources: rows.length,
    failed: rows.filter((r) => !r.ok).length,
    snapshots: sum((r) => r.snapshots),
    latestRestoreBytes: sum((r) => r.latestRestoreBytes),
    allRestoreBytes,
    rawBytes,
    dedupRatio: dedupRatio(allRestoreBytes, rawBytes),
  }
}

const bytes = (n: number | null) => (n === null ? '-' : formatBytes(n))
const ratio = (n: number | null) => (n === null ? '-' : `${n.toFixed(2)}x`)

/** A row of the table; `cluster` when several clusters are shown (CLUSTER=all). */
export type StatsRow = SourceStats & { cluster?: string }

/** The table, with a TOTAL row when `totals`; with `clusters`, a CLUSTER column first (CLUSTER=all). */
export function statsTable(rows: readonly StatsRow[], width: number, paint: Paint, totals = rows.length > 1, opts: { clusters?: boolean } = {}): Table {
  const columns: Column[] = [
    ...(opts.clusters ? [{ header: 'CLUSTER', min: 6 }] : []),
    { header: 'SOURCE', min: 10 },
    { header: 'SNAPSHOTS', align: 'right' },
    { header: 'OLDEST', drop: 3 },
    { header: 'NEWEST' },
    { header: 'LATEST', align: 'right' },
    { header: 'STORED', align: 'right' },
    { header: 'DEDUP', align: 'right' },
    { header: 'LAST PRUNE', drop: 2 },
    { header: 'RETAIN', min: 6, drop: 1 },
  ]
  const body: Cell[][] = rows.map((r): Cell[] => [
    ...(opts.clusters ? [r.cluster ?? '-'] : []),
    ...(r.ok
      ? [
          `${r.namespace}/${r.source}`,
          r.snapshots === null ? '-' : String(r.snapshots),
          shortTime(r.oldest),
          shortTime(r.newest),
          bytes(r.latestRestoreBytes),
          bytes(r.rawBytes),
          ratio(r.dedupRatio),
          shortTime(r.lastPruned),
          retainText(r.retain),
        ]
      : [`${r.namespace}/${r.source}`, '-', '-', '-', '-', '-', '-', shortTime(r.lastPruned), { text: `FAILED: ${r.message}`, tone: 'red' } as Cell]),
  ])
  if (totals) {
    const t = statsTotals(rows)
    body.push([
      ...(opts.clusters ? [''] : []),
      { text: `TOTAL (${t.sources} sources)`, tone: 'bold' },
      String(t.snapshots),
      '',
      '',
      formatBytes(t.latestRestoreBytes),
      formatBytes(t.rawBytes),
      ratio(t.dedupRatio),
      '',
      '',
    ])
  }
  return renderTable(columns, body, width, paint)
}

export function statsSummaryLine(rows: readonly SourceStats[]): string {
  const t = statsTotals(rows)
  return (
    `${t.sources - t.failed} read, ${t.failed} failed; ${t.snapshots} snapshots, ${formatBytes(t.rawBytes)} stored` +
    ` for ${formatBytes(t.latestRestoreBytes)} of latest snapshots (deduplication ${ratio(t.dedupRatio)})`
  )
}

// ---------------------------------------------------------------- check

/** `restic check`, reading back `percent` % of the data when given. It takes restic's exclusive lock. */
export function checkArgs(percent?: number): string[] {
  return ['restic', 'check', '--no-cache', ...(percent === undefined ? [] : [`--read-data-subset=${percent}%`])]
}

/** restic's exit code when it could not lock the repository (restic 0.17+). */
const EXIT_LOCKED = 11

export type CheckVerdict =
  | { kind: 'ok'; message: string }
  | { kind: 'busy'; message: string; details: string }
  | { kind: 'failed'; message: string; details: string }

export function judgeCheck(exitCode: number, stdout: string, stderr: string, percent?: number): CheckVerdict {
  const what = `restic check${percent === undefined ? '' : ` --read-data-subset=${percent}%`}`
  const said = `${stdout}\n${stderr}`
  if (exitCode === 0) return { kind: 'ok', message: `${what} found no errors` }
  if (exitCode === EXIT_LOCKED || /repository is already locked|unable to create lock/.test(said)) {
    const holder = said.split('\n').find((l) => /repository is already locked/.test(l))?.trim()
    const created = said.split('\n').find((l) => /^lock was created at/.test(l.trim()))?.trim()
    return {
      kind: 'busy',
      message: 'the repository is busy: another restic process (a backup, a prune) holds its lock; nothing was checked, try later',
      details: [holder, created].filter(Boolean).join('\n'),
    }
  }
  const errors = stderr.trim() ? stderr : stdout
  return { kind: 'failed', message: `${what} found errors (exit code ${exitCode}); restic said:`, details: tail(errors, 20) }
}
