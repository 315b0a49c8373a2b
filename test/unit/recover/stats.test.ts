import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { painter } from '../../../lib/output.ts'
import {
  checkArgs,
  dedupRatio,
  judgeCheck,
  parseStats,
  retainText,
  sourceStats,
  statsArgs,
  statsSummaryLine,
  statsTable,
  statsTotals,
  failedNote,
  failedStats,
  type SourceStats,
} from '../../../lib/recover/stats.ts'
import { withOffsets, type ResticSnapshot } from '../../../lib/snapshots/restic.ts'
import type { ReplicationSource } from '../../../lib/volsync/objects.ts'

// recorded with restic 0.18.1 on a local repository (test/fixtures/restic-stats-*.jsonl, restic-check-*.log)
const FIX = path.resolve(import.meta.dirname, '../../fixtures')
const fixture = (f: string) => readFileSync(path.join(FIX, f), 'utf8')

const rs = (name: string, extra: Partial<ReplicationSource['spec']['restic']> & { retain?: unknown } = {}, lastPruned?: string): ReplicationSource => ({
  apiVersion: 'volsync.backube/v1alpha1',
  kind: 'ReplicationSource',
  metadata: { name, namespace: 'business' },
  spec: { sourcePVC: 'x', restic: { repository: `${name}-secret`, ...extra } },
  status: lastPruned ? { restic: { lastPruned } } : {},
})

const snap = (id: string, time: string): ResticSnapshot => ({ id: id.padEnd(64, '0'), short_id: id, time })

describe('restic arguments', () => {
  it('stats reads without a lock; check takes restic\'s lock and reads data only when asked', () => {
    for (const argv of Object.values(statsArgs)) expect(argv).toContain('--no-lock')
    expect(statsArgs.latest.slice(-1)).toEqual(['latest'])
    expect(statsArgs.raw).toContain('raw-data')
    expect(checkArgs()).toEqual(['restic', 'check', '--no-cache'])
    expect(checkArgs(10)).toEqual(['restic', 'check', '--no-cache', '--read-data-subset=10%'])
    expect(checkArgs(10)).not.toContain('--no-lock')
  })
})

describe('parseStats', () => {
  it.each([
    ['restic-stats-raw.jsonl', 201271],
    ['restic-stats-restore-all.jsonl', 1200010],
    ['restic-stats-restore-latest.jsonl', 400005],
  ])('%s', (file, size) => {
    expect(parseStats(fixture(file))?.total_size).toBe(size)
  })
  it.each([
    ['a warning before the JSON', 'using temporary cache in /tmp/x\n{"total_size":5,"total_file_count":1}\n', 5],
    ['no JSON', 'Fatal: unable to open config file', null],
    ['broken JSON', '{"total_size":', null],
    ['JSON without total_size', '{"snapshots_count":1}', null],
  ])('%s', (_, text, size) => {
    expect(parseStats(text)?.total_size ?? null).toBe(size)
  })
})

describe('dedupRatio', () => {
  it.each([
    [1200010, 201271, 5.96],
    [100, 100, 1],
    [100, 0, null],
    [null, 100, null],
    [100, null, null],
  ])('%s / %s', (all, raw, want) => {
    expect(dedupRatio(all, raw)).toBe(want)
  })
})

describe('retainText', () => {
  it.each([
    [{ daily: 7, hourly: 24 }, 'hourly 24, daily 7'],
    [{ within: '3d', last: 2, monthly: 12 }, 'last 2, monthly 12, within 3d'],
    [{}, '-'],
    [null, '-'],
  ])('%j', (retain, want) => {
    expect(retainText(retain as Record<string, unknown> | null)).toBe(want)
  })
})

const facts = () => ({
  snapshots: withOffsets([snap('bbbbbbbb', '2026-11-30T04:00:00Z'), snap('aaaaaaaa', '2026-11-01T04:00:00.5Z'), snap('cccccccc', '2026-11-29T04:00:00Z')]),
  latest: parseStats(fixture('restic-stats-restore-latest.jsonl')),
  all: parseStats(fixture('restic-stats-restore-all.jsonl')),
  raw: parseStats(fixture('restic-stats-raw.jsonl')),
})

describe('sourceStats', () => {
  it('counts, oldest and newest whatever the order, sizes, ratio, prune and retention from the source', () => {
    const row = sourceStats(rs('odoo-backup', { retain: { hourly: 24, daily: 7 } }, '2026-11-28T04:10:00Z'), facts())
    expect(row).toEqual({
      namespace: 'business',
      source: 'odoo-backup',
      ok: true,
      message: '',
      details: '',
      snapshots: 3,
      oldest: '2026-11-01T04:00:00.5Z',
      newest: '2026-11-30T04:00:00Z',
      latestRestoreBytes: 400005,
      latestFiles: 4,
      allRestoreBytes: 1200010,
      rawBytes: 201271,
      dedupRatio: 5.96,
      lastPruned: '2026-11-28T04:10:00Z',
      retain: { hourly: 24, daily: 7 },
    })
  })
  it('an empty repository: no snapshots, no latest, raw size only', () => {
    const row = sourceStats(rs('wiki-backup'), { snapshots: [], latest: null, all: null, raw: { total_size: 155 } })
    expect(row).toMatchObject({ snapshots: 0, oldest: null, newest: null, latestRestoreBytes: null, rawBytes: 155, dedupRatio: null, lastPruned: null, retain: null })
  })
})

describe('the table and the totals', () => {
  const rows = (): SourceStats[] => [
    sourceStats(rs('odoo-backup', { retain: { hourly: 24, daily: 7 } }, '2026-11-28T04:10:00Z'), facts()),
    failedStats(rs('wiki-backup'), 'restic could not list the repository', 'Fatal: wrong password'),
  ]
  it('totals sum the sources that were read and count the failed ones', () => {
    expect(statsTotals(rows())).toEqual({ sources: 2, failed: 1, snapshots: 3, latestRestoreBytes: 400005, allRestoreBytes: 1200010, rawBytes: 201271, dedupRatio: 5.96 })
    expect(statsTotals([])).toMatchObject({ sources: 0, rawBytes: 0, dedupRatio: null })
  })
  it.each<[string | undefined, string]>([
    [undefined, 'business/wiki-backup: FAILED: restic could not list the repository'],
    ['lab', 'lab: business/wiki-backup: FAILED: restic could not list the repository'],
  ])('the note of a FAILED row names its cluster when one is given (%s)', (cluster, expected) => {
    const failed = rows()[1]!
    expect(failedNote(failed, `FAILED: ${failed.message}`, cluster)).toBe(expected)
  })
  it('one row per source, a FAILED row, and a TOTAL row for several', () => {
    expect(statsTable(rows(), 200, painter(false)).text.split('\n').map((l) => l.trimEnd())).toEqual([
      'SOURCE                SNAPSHOTS  OLDEST            NEWEST            LATEST  STORED  DEDUP  LAST PRUNE        RETAIN',
      'business/odoo-backup          3  2026-11-01 04:00  2026-11-30 04:00    391K    197K  5.96x  2026-11-28 04:10  hourly 24, daily 7',
      'business/wiki-backup          -  -                 -                      -       -      -  -                 FAILED: restic could not list the repository',
      'TOTAL (2 sources)             3                                        391K    197K  5.96x',
    ])
  })
  it('CLUSTER=all: a CLUSTER column first, and the TOTAL over every cluster', () => {
    const [odoo, wiki] = rows()
    expect(
      statsTable([{ cluster: 'apps', ...odoo! }, { cluster: 'production', ...wiki! }], 200, painter(false), true, { clusters: true })
        .text.split('\n')
        .map((l) => l.trimEnd()),
    ).toEqual([
      'CLUSTER     SOURCE                SNAPSHOTS  OLDEST            NEWEST            LATEST  STORED  DEDUP  LAST PRUNE        RETAIN',
      'apps        business/odoo-backup          3  2026-11-01 04:00  2026-11-30 04:00    391K    197K  5.96x  2026-11-28 04:10  hourly 24, daily 7',
      'production  business/wiki-backup          -  -                 -                      -       -      -  -                 FAILED: restic could not list the repository',
      '            TOTAL (2 sources)             3                                        391K    197K  5.96x',
    ])
  })
  it('no TOTAL row for one source', () => {
    expect(statsTable(rows().slice(0, 1), 200, painter(false)).text).not.toContain('TOTAL')
  })
  it('the summary line', () => {
    expect(statsSummaryLine(rows())).toBe('1 read, 1 failed; 3 snapshots, 197K stored for 391K of latest snapshots (deduplication 5.96x)')
  })
})

describe('judgeCheck', () => {
  it('exit 0: no errors', () => {
    expect(judgeCheck(0, 'no errors were found\n', '')).toEqual({ kind: 'ok', message: 'restic check found no errors' })
    expect(judgeCheck(0, '', '', 25).kind === 'ok' && judgeCheck(0, '', '', 25).message).toBe('restic check --read-data-subset=25% found no errors')
  })
  it('a damaged pack: failed, with restic\'s own words', () => {
    const v = judgeCheck(1, 'load indexes\ncheck all packs\n', fixture('restic-check-damaged.log'), 100)
    expect(v.kind).toBe('failed')
    expect(v.kind !== 'ok' && v.details).toMatch(/pack 7b6cf0bc.* contains 1 errors/)
    expect(v.kind !== 'ok' && v.details).toMatch(/Fatal: repository contains errors/)
    expect(v.message).toBe('restic check --read-data-subset=100% found errors (exit code 1); restic said:')
  })
  it.each([
    ['exit code 11 and restic\'s lock words', 11],
    ['restic\'s lock words alone (an older restic exits 1)', 1],
  ])('locked by another process: busy, %s', (_, code) => {
    const v = judgeCheck(code, '', fixture('restic-check-locked.log'))
    expect(v.kind).toBe('busy')
    expect(v.message).toMatch(/busy.*try later/)
    expect(v.kind === 'busy' && v.details).toBe(
      'unable to create lock in backend: repository is already locked by PID 26424 on vm by root (UID 0, GID 0)\nlock was created at 2026-12-01 03:18:32 (2.208906812s ago)',
    )
  })
})
