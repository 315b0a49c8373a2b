// `verify`: does a snapshot restore? Two depths. quick: `restic check
// --read-data-subset` (the repository's structure, and a random part of its
// data read back and checked). deep: the snapshot restored into scratch space
// by `restic restore --verify` (restic reads every restored file back and
// checks it against the snapshot), then the numbers compared with the
// snapshot's own summary (a restore that "succeeds" with 0 files, or with far
// fewer files or bytes than were backed up, fails), then the operator's CHECK
// run on the restored data, read-only. Pure: arguments, the reading of
// restic's JSON, the verdicts, the report and the table.
import { formatAge, formatBytes, renderTable, type Cell, type Column, type Paint, type Table } from '../output.ts'
import { tail, type ListedSnapshot } from '../snapshots/restic.ts'

/** How much of the data `quick` reads back. */
export const QUICK_SUBSET = '5%'

/** Where the restic container restores, and where the CHECK container sees the restored data (read-only). */
export const SCRATCH_MOUNT = '/restore'
export const CHECK_MOUNT = '/data'

export const quickArgs = (): string[] => ['restic', 'check', `--read-data-subset=${QUICK_SUBSET}`]

export const deepArgs = (snapshotId: string): string[] => [
  'restic', 'restore', '--no-lock', '--no-cache', '--json', '--verify', '--target', SCRATCH_MOUNT, snapshotId,
]

/** The CHECK, run by sh in its own container with the restored data as its working directory. */
export const checkArgv = (command: string): string[] => ['sh', '-c', command]

export interface RestoreSummary {
  totalFiles: number
  filesRestored: number
  totalBytes: number
  bytesRestored: number
}

/**
 * Reads `restic restore --json` as it streams: status lines come every few
 * seconds and are dropped; the summary and the errors are kept (the first
 * few errors in full, all counted).
 */
export class RestoreStream {
  summary?: RestoreSummary
  readonly errors: string[] = []
  errorCount = 0
  private rest = ''

  push(chunk: string): void {
    const text = this.rest + chunk
    const lines = text.split('\n')
    this.rest = lines.pop() ?? ''
    for (const line of lines) this.line(line)
  }

  end(): void {
    if (this.rest) this.line(this.rest)
    this.rest = ''
  }

  private line(line: string): void {
    const t = line.trim()
    if (!t.startsWith('{')) return
    let m: Record<string, unknown>
    try {
      m = JSON.parse(t) as Record<string, unknown>
    } catch {
      return
    }
    if (m.message_type === 'summary') {
      const n = (k: string) => (typeof m[k] === 'number' ? (m[k] as number) : 0)
      this.summary = { totalFiles: n('total_files'), filesRestored: n('files_restored'), totalBytes: n('total_bytes'), bytesRestored: n('bytes_restored') }
    } else if (m.message_type === 'error') {
      this.errorCount++
      const err = m.error as { message?: string } | undefined
      if (this.errors.length < 5) this.errors.push(`${m.item ?? ''}: ${err?.message ?? JSON.stringify(m.error)}`.replace(/^: /, ''))
    }
  }
}

/** What the snapshot itself says was backed up (restic 0.17+ writes a summary). */
export function expected(snapshot: ListedSnapshot): { files?: number; bytes?: number } {
  return { files: snapshot.summary?.total_files_processed, bytes: snapshot.summary?.total_bytes_processed }
}

export interface CheckRun {
  command: string
  exitCode: number
  /** the end of what it printed (stdout and stderr) */
  output: string
}

export interface Verdict {
  ok: boolean
  message: string
  details: string
}

export interface DeepFacts {
  exitCode: number
  stderr: string
  stream: Pick<RestoreStream, 'summary' | 'errors' | 'errorCount'>
  expected: { files?: number; bytes?: number }
  check?: CheckRun
}

/** Did the snapshot restore, completely, and pass the CHECK? */
export function judgeDeep(f: DeepFacts): Verdict {
  const errors = [...f.stream.errors, ...(f.stream.errorCount > f.stream.errors.length ? [`... ${f.stream.errorCount} errors in all`] : [])]
  const said = [...errors, tail(f.stderr, 10)].filter(Boolean).join('\n')
  if (f.exitCode !== 0) return { ok: false, message: `restic restore --verify failed (exit code ${f.exitCode})`, details: said }
  const s = f.stream.summary
  if (!s) return { ok: false, message: 'restic printed no summary: the restore did not finish', details: said }
  if (f.stream.errorCount > 0) return { ok: false, message: `restic restored with ${f.stream.errorCount} error(s)`, details: said }
  const want = f.expected
  const numbers = `${s.filesRestored} files and directories, ${formatBytes(s.bytesRestored)} (${s.bytesRestored} bytes) restored` +
    (want.files !== undefined ? `; the snapshot's summary: ${want.files} files, ${formatBytes(want.bytes ?? 0)} (${want.bytes ?? 0} bytes)` : '')
  if (s.filesRestored === 0) return { ok: false, message: `the restore brought back 0 files: ${numbers}`, details: said }
  if (want.files !== undefined && s.filesRestored < want.files) {
    return { ok: false, message: `the restore brought back fewer files than were backed up: ${numbers}`, details: said }
  }
  if (want.bytes !== undefined && s.bytesRestored < want.bytes) {
    return { ok: false, message: `the restore brought back fewer bytes than were backed up: ${numbers}`, details: said }
  }
  if (f.check && f.check.exitCode !== 0) {
    return { ok: false, message: `${numbers}, verified by restic; but the CHECK exited ${f.check.exitCode}`, details: f.check.output }
  }
  return { ok: true, message: `${numbers}, verified by restic${f.check ? '; the CHECK exited 0' : ''}`, details: '' }
}

export function judgeQuick(exitCode: number, output: string): Verdict {
  if (exitCode === 0) {
    return { ok: true, message: `restic check --read-data-subset=${QUICK_SUBSET} found no errors`, details: '' }
  }
  return { ok: false, message: `restic check --read-data-subset=${QUICK_SUBSET} failed (exit code ${exitCode})`, details: tail(output, 15) }
}

/** One source's verification, as JSON reports it. */
export interface VerifyResult {
  namespace: string
  source: string
  depth: 'quick' | 'deep'
  snapshot: { id: string; shortId: string; time: string } | null
  ok: boolean
  files: number | null
  bytes: number | null
  expectedFiles: number | null
  expectedBytes: number | null
  durationSeconds: number
  check: CheckRun | null
  message: string
  details: string
  /** the result was written on the ReplicationSource */
  recorded: boolean
}

export function verifyTable(results: readonly VerifyResult[], width: number, paint: Paint): Table {
  const columns: Column[] = [
    { header: 'SOURCE', min: 10 },
    { header: 'DEPTH' },
    { header: 'SNAPSHOT' },
    { header: 'FILES', align: 'right' },
    { header: 'BYTES', align: 'right' },
    { header: 'TOOK', align: 'right' },
    { header: 'RESULT', min: 6 },
  ]
  const rows: Cell[][] = results.map((r) => [
    `${r.namespace}/${r.source}`,
    r.depth,
    r.snapshot?.shortId ?? '-',
    r.files === null ? '-' : String(r.files),
    r.bytes === null ? '-' : formatBytes(r.bytes),
    formatAge(r.durationSeconds * 1000),
    r.ok ? { text: 'ok', tone: 'green' } : { text: `FAILED: ${r.message}`, tone: 'red' },
  ])
  return renderTable(columns, rows, width, paint)
}

export function verifySummaryLine(results: readonly VerifyResult[]): string {
  const failed = results.filter((r) => !r.ok).length
  return `${results.length - failed} verified, ${failed} failed`
}
