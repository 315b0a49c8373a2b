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
