import { describe, expect, it } from 'vitest'
import { painter } from '../../../lib/output.ts'
import { withOffsets, type ResticSnapshot } from '../../../lib/snapshots/restic.ts'
import { snapshotTable } from '../../../lib/snapshots/view.ts'

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
