// What `status` and `list` print, as pure functions of plain data.
import {
  formatAge,
  formatBytes,
  formatTime,
  relative,
  renderTable,
  type Cell,
  type Column,
  type Paint,
  type Table,
} from './output.ts'
import type { ListedSnapshot } from './restic.ts'
import { parseResticTime } from './restic.ts'
import type { SourceSummary } from './volsync.ts'

const pad2 = (n: number) => String(n).padStart(2, '0')

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

export function statusTable(sources: readonly SourceSummary[], now: Date, width: number, paint: Paint): Table {
  const columns: Column[] = [
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
    ]
  })
  return renderTable(columns, rows, width, paint)
}

/** The line under a table that had to leave columns out. */
export function hiddenNote(table: Table): string {
  return table.hidden.length
    ? `(${table.hidden.join(', ')} left out to fit: widen the terminal or use OUTPUT=json)`
    : ''
}

/** The "needs attention" section under the status table. */
export function attentionList(sources: readonly SourceSummary[], paint: Paint): string {
  const lines: string[] = []
  for (const s of sources) {
    if (s.healthy) continue
    lines.push(paint.yellow(`! ${s.namespace}/${s.name}`))
    for (const reason of s.attention) lines.push(`    ${reason}`)
  }
  return lines.join('\n')
}

export function statusSummaryLine(sources: readonly SourceSummary[]): string {
  const attention = sources.filter((s) => !s.healthy).length
  return `${sources.length - attention} healthy, ${attention} need attention`
}

/** Local time of day, with the date when it differs from the UTC date. */
function localBeside(t: Date): string {
  const sameDay = t.getDate() === t.getUTCDate()
  const hm = `${pad2(t.getHours())}:${pad2(t.getMinutes())}`
  return sameDay ? hm : `${pad2(t.getMonth() + 1)}-${pad2(t.getDate())} ${hm}`
}

export function snapshotTable(snapshots: readonly ListedSnapshot[], now: Date, width: number, paint: Paint): Table {
  const columns: Column[] = [
    { header: 'PREV', align: 'right' },
    { header: 'ID' },
    { header: 'TIME (UTC)' },
    { header: 'LOCAL' },
    { header: 'AGE', align: 'right' },
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
      s.hostname ?? '-',
      size === undefined ? '-' : formatBytes(size),
      files === undefined ? '-' : String(files),
      s.tags?.length ? s.tags.join(',') : '-',
    ]
  })
  return renderTable(columns, rows, width, paint)
}
