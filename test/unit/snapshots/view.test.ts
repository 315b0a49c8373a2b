import { describe, expect, it } from 'vitest'
import { painter } from '../../../lib/output.ts'
import { withOffsets, type ResticSnapshot } from '../../../lib/snapshots/restic.ts'
import type { Fate } from '../../../lib/snapshots/retention.ts'
import { nextForgetWarning, retentionFields, snapshotTable } from '../../../lib/snapshots/view.ts'

// vitest.config.ts runs the tests in Europe/Berlin (UTC+1 in November)
const NOW = new Date('2026-11-26T12:00:00Z')
const plain = painter(false)

describe('snapshotTable', () => {
  const snaps: ResticSnapshot[] = [
    {
      id: '7c2d9e41'.padEnd(64, '0'),
      short_id: '7c2d9e41',
      time: '2026-11-25T20:00:05.998877665Z',
      hostname: 'volsync',
      paths: ['/data'],
      tags: null,
      summary: { total_bytes_processed: 851790999, total_files_processed: 1540 },
    },
    { id: '4b1e6f2a'.padEnd(64, '0'), time: '2026-11-25T23:30:07+00:00', hostname: 'volsync', paths: ['/data'], tags: ['pre-upgrade', 'manual'] },
    { id: '9a8b7c6d'.padEnd(64, '0'), short_id: '9a8b7c6d', time: '2026-11-25T04:00:09Z', paths: ['/srv'] },
  ]
  const listed = withOffsets(snaps)

  it('shows PREV, id, UTC and local time, age, host, size, files and tags, newest first', () => {
    expect(snapshotTable(listed, NOW, 120, plain)).toEqual({
      text: [
        'PREV  ID        TIME (UTC)        LOCAL           AGE  HOST     SIZE  FILES  TAGS',
        '   0  4b1e6f2a  2026-11-25 23:30  11-26 00:30  12h29m  volsync     -      -  pre-upgrade,manual',
        '   1  7c2d9e41  2026-11-25 20:00  21:00        15h59m  volsync  813M   1540  -',
        '   -  9a8b7c6d  2026-11-25 04:00  05:00        31h59m  -           -      -  -',
      ].join('\n'),
      hidden: [],
    })
  })

  it('leaves out HOST first, then cuts TAGS, to fit 80 columns', () => {
    const { text, hidden } = snapshotTable(listed, NOW, 80, plain)
    expect(hidden).toEqual(['HOST'])
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    expect(text.split('\n')[1]).toMatch(/ pre-up\S*…$/)
  })

  it('dims the PREV of a snapshot the mover cannot select', () => {
    expect(snapshotTable(listed, NOW, 120, painter(true)).text.split('\n')[3]).toMatch(/^\x1b\[2m   -\x1b\[22m/)
  })
})

describe('snapshotTable with retention', () => {
  const snaps = withOffsets([
    { id: 'a'.repeat(64), short_id: 'aaaaaaaa', time: '2026-11-26T11:50:00Z', hostname: 'volsync', paths: ['/data'] },
    { id: 'b'.repeat(64), short_id: 'bbbbbbbb', time: '2026-11-26T11:40:00Z', hostname: 'volsync', paths: ['/data'] },
    { id: 'c'.repeat(64), short_id: 'cccccccc', time: '2026-11-20T08:00:00Z', hostname: 'volsync', paths: ['/data'] },
    { id: 'd'.repeat(64), short_id: 'dddddddd', time: '2026-11-19T08:00:00Z', hostname: 'laptop', paths: ['/data'] },
  ])
  const fates = new Map<string, Fate>([
    ['a'.repeat(64), { keptBy: ['hourly snapshot', 'daily snapshot'], until: { at: Date.parse('2026-11-26T12:00:00Z'), backups: 1 } }],
    ['b'.repeat(64), { keptBy: [], until: { at: Date.parse('2026-11-26T12:00:00Z'), backups: 1 } }],
    ['c'.repeat(64), { keptBy: ['oldest daily snapshot'], until: null, open: { kind: 'beyond', at: Date.parse('2027-06-01T00:00:00Z') } }],
    ['d'.repeat(64), { keptBy: null, until: null, open: { kind: 'other-host' } }],
  ])

  it('shows KEPT BY and UNTIL after AGE, "(next)" for the next scheduled backup', () => {
    const lines = snapshotTable(snaps, NOW, 160, plain, fates).text.split('\n')
    expect(lines[0]).toMatch(/^PREV +ID +TIME \(UTC\) +LOCAL +AGE +KEPT BY +UNTIL \(UTC\) +HOST/)
    expect(lines[1]).toMatch(/ aaaaaaaa .* hourly, daily +2026-11-26 12:00 \(next\) +volsync /)
    expect(lines[2]).toMatch(/ bbbbbbbb .* none +2026-11-26 12:00 \(next\) +volsync /)
    expect(lines[3]).toMatch(/ cccccccc .* oldest daily +after 2027-06-01 +volsync /)
    expect(lines[4]).toMatch(/ dddddddd .* other host +never +laptop /)
  })

  it('warns about the snapshots the next scheduled backup forgets, and JSON carries the fields', () => {
    expect(nextForgetWarning(snaps, fates)).toBe(
      'the next scheduled backup (2026-11-26 12:00 UTC) is expected to forget 2 snapshot(s): aaaaaaaa, bbbbbbbb. ' +
        'To keep them, hold the schedule first (docs/runbooks/volsync.md, "Keep a snapshot").',
    )
    expect(retentionFields(fates.get('a'.repeat(64)))).toEqual({
      keptBy: ['hourly snapshot', 'daily snapshot'],
      expectedUntil: '2026-11-26T12:00:00.000Z',
      expectedUntilBackups: 1,
    })
    expect(retentionFields(undefined)).toEqual({ keptBy: null, expectedUntil: null, expectedUntilBackups: null })
  })
})
