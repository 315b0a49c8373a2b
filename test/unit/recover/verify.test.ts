import { describe, expect, it } from 'vitest'
import { painter } from '../../../lib/output.ts'
import { RestoreStream, deepArgs, judgeDeep, judgeQuick, quickArgs, verifySummaryLine, verifyTable, type DeepFacts, type VerifyResult } from '../../../lib/recover/verify.ts'

// restic 0.18.1 `restore --json --verify`, as it printed them (shortened)
const STATUS = '{"message_type":"status","seconds_elapsed":1,"percent_done":0.5,"total_files":7,"files_restored":3,"total_bytes":15,"bytes_restored":7}'
const SUMMARY = '{"message_type":"summary","total_files":7,"files_restored":7,"total_bytes":15,"bytes_restored":15}'
const ERROR = '{"message_type":"error","error":{"message":"decrypting blob \\u003ctree/d6740b9d\\u003e from ebdeff68 failed: ciphertext verification failed"},"during":"restore","item":"/sub/deeper"}'

const stream = (...chunks: string[]) => {
  const s = new RestoreStream()
  for (const c of chunks) s.push(c)
  s.end()
  return s
}

describe('RestoreStream', () => {
  it('keeps the summary and the errors, across chunk boundaries, and drops the status lines', () => {
    const text = [STATUS, ERROR, SUMMARY, ''].join('\n')
    const s = stream(text.slice(0, 50), text.slice(50, 170), text.slice(170))
    expect(s.summary).toEqual({ totalFiles: 7, filesRestored: 7, totalBytes: 15, bytesRestored: 15 })
    expect(s.errorCount).toBe(1)
    expect(s.errors).toEqual(['/sub/deeper: decrypting blob <tree/d6740b9d> from ebdeff68 failed: ciphertext verification failed'])
  })
  it('keeps at most 5 errors in full, counts them all', () => {
    const s = stream(Array(8).fill(ERROR).join('\n'))
    expect([s.errors.length, s.errorCount]).toEqual([5, 8])
  })
  it('a last line without a newline counts', () => {
    expect(stream(SUMMARY).summary?.filesRestored).toBe(7)
  })
})

describe('judgeDeep', () => {
  const good = (over: Partial<DeepFacts> = {}): DeepFacts => ({
    exitCode: 0, stderr: '', stream: stream(SUMMARY), expected: { files: 4, bytes: 15 }, ...over,
  })
  it.each<[string, DeepFacts, boolean, string]>([
    ['all there, verified', good(), true, "7 files and directories, 15B (15 bytes) restored; the snapshot's summary: 4 files, 15B (15 bytes), verified by restic"],
    ['restic failed', good({ exitCode: 1, stream: stream(ERROR, SUMMARY) }), false, 'restic restore --verify failed (exit code 1)'],
    ['no summary: it did not finish', good({ stream: stream(STATUS) }), false, 'restic printed no summary: the restore did not finish'],
    ['errors with exit 0', good({ stream: stream([ERROR, SUMMARY].join('\n')) }), false, 'restic restored with 1 error(s)'],
    ['0 files', good({ stream: stream('{"message_type":"summary","total_files":0,"files_restored":0,"total_bytes":0,"bytes_restored":0}'), expected: { files: 0, bytes: 0 } }), false, 'the restore brought back 0 files'],
    ['fewer files than backed up', good({ expected: { files: 900, bytes: 15 } }), false, 'the restore brought back fewer files than were backed up: 7 files and directories, 15B (15 bytes) restored; the snapshot\'s summary: 900 files'],
    ['fewer bytes than backed up', good({ expected: { files: 4, bytes: 2 ** 30 } }), false, 'the restore brought back fewer bytes than were backed up'],
    ['a snapshot without a summary (restic < 0.17): the 0-file rule only', good({ expected: {} }), true, '7 files and directories, 15B (15 bytes) restored, verified by restic'],
    ['a CHECK that passes', good({ check: { command: 'true', exitCode: 0, output: '' } }), true, '; the CHECK exited 0'],
    ['a CHECK that fails decides', good({ check: { command: 'false', exitCode: 3, output: 'integrity: bad page' } }), false, 'but the CHECK exited 3'],
  ])('%s', (_name, facts, ok, message) => {
    const v = judgeDeep(facts)
    expect(v.ok).toBe(ok)
    expect(v.message).toContain(message)
  })

  it("shows restic's errors and the CHECK's output as details", () => {
    expect(judgeDeep(good({ exitCode: 1, stream: stream(ERROR), stderr: 'Fatal: There were 1 errors' })).details).toBe(
      '/sub/deeper: decrypting blob <tree/d6740b9d> from ebdeff68 failed: ciphertext verification failed\nFatal: There were 1 errors',
    )
    expect(judgeDeep(good({ check: { command: 'x', exitCode: 1, output: 'bad' } })).details).toBe('bad')
  })
})

describe('judgeQuick and the commands', () => {
  it('exit 0 is ok, anything else fails with the end of the output', () => {
    expect(judgeQuick(0, 'no errors were found')).toEqual({ ok: true, message: 'restic check --read-data-subset=5% found no errors', details: '' })
    expect(judgeQuick(1, 'pack 1a2b: not referenced in any index\nFatal: repository contains errors')).toMatchObject({ ok: false, details: 'pack 1a2b: not referenced in any index\nFatal: repository contains errors' })
  })
  it('restores into /restore with restic verification; checks a 5% subset', () => {
    expect(deepArgs('abc')).toEqual(['restic', 'restore', '--no-lock', '--no-cache', '--json', '--verify', '--target', '/restore', 'abc'])
    expect(quickArgs()).toEqual(['restic', 'check', '--read-data-subset=5%'])
  })
})

describe('the table', () => {
  const r = (ok: boolean, over: Partial<VerifyResult> = {}): VerifyResult => ({
    namespace: 'business', source: 'odoo-backup', depth: 'deep', snapshot: { id: 'x', shortId: '7c2d9e41', time: 't' }, ok,
    files: 7, bytes: 2048, expectedFiles: 4, expectedBytes: 2048, durationSeconds: 75, check: null,
    message: ok ? 'fine' : 'the restore brought back 0 files', details: '', recorded: true, ...over,
  })
  it('one row per source; a failure says why', () => {
    expect(verifyTable([r(true), r(false, { source: 'wiki-backup', files: null, bytes: null, snapshot: null })], 120, painter(false)).text.split('\n')).toEqual([
      'SOURCE                DEPTH  SNAPSHOT  FILES  BYTES   TOOK  RESULT',
      'business/odoo-backup  deep   7c2d9e41      7   2.0K  1m15s  ok',
      'business/wiki-backup  deep   -             -      -  1m15s  FAILED: the restore brought back 0 files',
    ])
    expect(verifySummaryLine([r(true), r(false)])).toBe('1 verified, 1 failed')
  })
})
