// What `status` prints: the table, the "needs attention" list, the summary
// line. Pure functions of the source summaries (health.ts).
import { formatAge, pad2, relative, renderTable, type Cell, type Column, type Paint, type Table } from '../output.ts'
import type { SourceSummary } from './health.ts'

/** "04:00 2h" within a day, else "11-24 3d" (local time), so the column stays narrow. */
export function compactWhen(iso: string | null, now: Date): string {
  if (!iso) return '-'
  const t = new Date(iso)
  const age = now.getTime() - t.getTime()
  const when =
    age < 24 * 3_600_000
      ? `${pad2(t.getHours())}:${pad2(t.getMinutes())}`
      : `${pad2(t.getMonth() + 1)}-${pad2(t.getDate())}`
  return `${when} ${formatAge(age)}`
}

const STATE_WORD: Record<string, string> = {
  WaitingForSchedule: 'scheduled',
  WaitingForManual: 'manual',
  SyncInProgress: 'syncing',
  CleaningUp: 'cleanup',
  Error: 'ERROR',
}

/**
 * Languages whose collation orders Kubernetes names (a-z, 0-9, '-', '.') as
 * their code units do (ICU's root collation, or a tailoring that leaves
 * these alone), and C/POSIX (ICU's en_US_POSIX is code-point order). Checked
 * against Intl.Collator in test/unit/volsync/status-view.test.ts.
 */
const PLAIN_ORDER_LANGUAGES = new Set(['', 'c', 'posix', 'en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'pl', 'ru', 'uk', 'sv', 'fi', 'ja', 'zh', 'ko', 'el', 'ro', 'ca', 'tr', 'id'])
const KUBE_NAME = /^[a-z0-9.-]*$/

/**
 * Whether String.localeCompare orders Kubernetes names by their code units in
 * this environment: the locale ICU takes by default is the first set of
 * LC_ALL, LC_MESSAGES, LANG. Pure.
 */
export function plainNameOrder(env: Record<string, string | undefined>): boolean {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || ''
  return PLAIN_ORDER_LANGUAGES.has((locale.split(/[_.@-]/)[0] ?? '').toLowerCase())
}

/**
 * `a.localeCompare(b)` (the order the tables have always had), without
 * starting ICU's collator for plain Kubernetes names where it orders them as
 * their code units do: its first call costs ~0.1 s of CPU, more than sorting
 * thousands of rows.
 */
export function compareNames(a: string, b: string, plain: boolean): number {
  if (plain && KUBE_NAME.test(a) && KUBE_NAME.test(b)) return a < b ? -1 : a > b ? 1 : 0
  return a.localeCompare(b)
}

/** A source as status shows it; `cluster` when several clusters are shown (CLUSTER=all). */
export type StatusRow = SourceSummary & { cluster?: string }

/** The status table; with `clusters`, a CLUSTER column first (CLUSTER=all). */
export function statusTable(
  sources: readonly StatusRow[],
  now: Date,
  width: number,
  paint: Paint,
  opts: { clusters?: boolean } = {},
): Table {
  const columns: Column[] = [
    ...(opts.clusters ? [{ header: 'CLUSTER', min: 6 }] : []),
    { header: 'NAMESPACE', min: 6 },
    { header: 'NAME', min: 10 },
    { header: 'PVC', min: 6, drop: 2 },
    { header: 'TRIGGER', min: 7 },
    { header: 'LAST SYNC' },
    { header: 'TOOK', align: 'right', drop: 3 },
    { header: 'NEXT' },
    { header: 'RESULT' },
    { header: 'SNAPSHOT', drop: 1 },
    { header: 'STATE', min: 7 },
    { header: 'VERIFIED', drop: 4 },
  ]
  const rows: Cell[][] = sources.map((s) => {
    const trigger: Cell =
      s.manual !== null && s.schedule
        ? { text: 'MANUAL!', tone: 'red' }
        : s.manual !== null
          ? `manual ${s.manual}`
          : (s.schedule ?? { text: 'none', tone: 'yellow' })
    const next = s.nextSyncTime ? relative(new Date(s.nextSyncTime), now).replace(/ ago$/, ' late') : '-'
    const result: Cell =
      s.result === 'Failed' ? { text: 'FAILED', tone: 'red' } : s.result === 'Successful' ? 'ok' : '-'
    const stateWord = s.state ? (STATE_WORD[s.state] ?? s.state) : '-'
    const state: Cell = s.state === 'Error' ? { text: stateWord, tone: 'red' } : stateWord
    const name: Cell = s.healthy ? s.name : { text: s.name, tone: 'yellow' }
    return [
      ...(opts.clusters ? [s.cluster ?? '-'] : []),
      s.namespace,
      name,
      s.sourcePVC ?? '-',
      trigger,
      compactWhen(s.lastSyncTime, now),
      s.lastSyncDurationSeconds === null ? '-' : formatAge(s.lastSyncDurationSeconds * 1000),
      next,
      result,
      s.latestSnapshot?.slice(0, 8) ?? '-',
      state,
      verifiedCell(s, now),
    ]
  })
  return renderTable(columns, rows, width, paint)
}

/** VERIFIED: when the last verification succeeded; FAILED when the latest one failed; "never". */
function verifiedCell(s: SourceSummary, now: Date): Cell {
  if (s.verification && !s.verification.ok) return { text: 'FAILED', tone: 'red' }
  if (!s.lastVerified) return { text: 'never', tone: 'dim' }
  const stale = s.attention.some((a) => a.startsWith('verification stale'))
  const text = compactWhen(s.lastVerified, now)
  return stale ? { text, tone: 'yellow' } : text
}

/** The "needs attention" section under the status table. */
export function attentionList(sources: readonly StatusRow[], paint: Paint): string {
  const lines: string[] = []
  for (const s of sources) {
    if (s.healthy) continue
    lines.push(paint.yellow(`! ${s.namespace}/${s.name}${s.cluster === undefined ? '' : ` (cluster ${s.cluster})`}`))
    for (const reason of s.attention) lines.push(`    ${reason}`)
  }
  return lines.join('\n')
}

export function statusSummaryLine(sources: readonly SourceSummary[]): string {
  const attention = sources.filter((s) => !s.healthy).length
  return `${sources.length - attention} healthy, ${attention} need attention`
}

/** What CLUSTER=all read from one cluster: its sources, or why it could not be read. */
export type ClusterStatus = { cluster: string; sources: readonly SourceSummary[] } | { cluster: string; error: string }

/**
 * One summary line per cluster (CLUSTER=all): "apps: 3 healthy, 1 need
 * attention", or "lab: NOT READ: <why>", in red; then the whole fleet's.
 */
export function fleetSummaryLines(clusters: readonly ClusterStatus[], paint: Paint, namespace?: string): string[] {
  const width = Math.max(...clusters.map((c) => c.cluster.length)) + 1
  const lines = clusters.map((c) =>
    'error' in c
      ? paint.red(`${`${c.cluster}:`.padEnd(width)} NOT READ: ${c.error}`)
      : `${`${c.cluster}:`.padEnd(width)} ${c.sources.length ? statusSummaryLine(c.sources) : 'no ReplicationSources'}`,
  )
  const read = clusters.filter((c): c is Extract<ClusterStatus, { sources: unknown }> => !('error' in c))
  const all = read.flatMap((c) => c.sources)
  const failed = clusters.length - read.length
  const total =
    `${clusters.length} cluster${clusters.length === 1 ? '' : 's'}: ${statusSummaryLine(all)}${failed ? `, ${failed} not read` : ''}` +
    (namespace ? ` (namespace ${namespace})` : '')
  return [...lines, failed ? paint.red(total) : total]
}
