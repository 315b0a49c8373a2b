import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseSnapshotSelector } from '../../../lib/cli.ts'
import { OperationError } from '../../../lib/errors.ts'
import {
  isEligible,
  isoSeconds,
  moverChain,
  parseResticTime,
  parseSnapshots,
  resolveRestorePoint,
  tail,
  withOffsets,
  type ResticSnapshot,
} from '../../../lib/snapshots/restic.ts'

describe('parseResticTime', () => {
  it.each([
    ['2026-11-25T04:00:09Z', Date.UTC(2026, 10, 25, 4, 0, 9)],
    ['2026-11-25T04:00:09.481736155Z', Date.UTC(2026, 10, 25, 4, 0, 9, 481)],
    ['2026-11-25T04:00:09.999999999Z', Date.UTC(2026, 10, 25, 4, 0, 9, 999)],
    ['2026-11-25T04:00:09.29Z', Date.UTC(2026, 10, 25, 4, 0, 9, 290)],
    ['2026-11-25T04:00:09.5Z', Date.UTC(2026, 10, 25, 4, 0, 9, 500)],
    ['2026-11-25T04:00:09.0005Z', Date.UTC(2026, 10, 25, 4, 0, 9, 0)],
    ['2026-11-25T05:00:09.481736155+01:00', Date.UTC(2026, 10, 25, 4, 0, 9, 481)],
    ['2026-11-24T22:30:09-05:30', Date.UTC(2026, 10, 25, 4, 0, 9)],
    ['2026-11-25T00:30:00+01:00', Date.UTC(2026, 10, 24, 23, 30, 0)],
  ])('%s -> %i', (value, ms) => {
    expect(parseResticTime(value)).toBe(ms)
  })

  it('reads every millisecond of a fraction exactly (no floating-point drift)', () => {
    for (let ms = 0; ms < 1000; ms++) {
      const frac = String(ms).padStart(3, '0')
      expect(parseResticTime(`2026-11-25T04:00:09.${frac}999999Z`) % 1000).toBe(ms)
    }
  })

  it.each(['2026-11-25 04:00:09', '2026-11-25T04:00:09', 'yesterday', '2026-11-25T04:00:09.Z'])(
    'rejects %j as not from restic',
    (value) => {
      expect(() => parseResticTime(value)).toThrow(OperationError)
      expect(() => parseResticTime(value)).toThrow(`unexpected snapshot time ${JSON.stringify(value)} from restic`)
    },
  )
})

const FIXTURE = readFileSync(new URL('../../fixtures/restic-snapshots.log', import.meta.url), 'utf8')

describe('parseSnapshots', () => {
  it('reads the recorded restic 0.18 output', () => {
    const snaps = parseSnapshots(FIXTURE)
    expect(snaps.map((s) => s.short_id)).toEqual(['9a8b7c6d', '4b1e6f2a', '7c2d9e41'])
    expect(snaps[2]!.summary?.total_bytes_processed).toBe(851790999)
  })

  it.each([
    ['a warning before the JSON line', `Warning: the repository is locked\n${FIXTURE}`],
    ['a warning after it', `${FIXTURE}\nsome warning\n`],
    ['Windows line ends and indentation', `  ${FIXTURE.trim()}  \r\n`],
  ])('finds the JSON line with %s', (_name, output) => {
    expect(parseSnapshots(output)).toHaveLength(3)
  })

  it('an empty repository is an empty list', () => {
    expect(parseSnapshots('[]\n')).toEqual([])
  })

  it.each([
    ['no JSON at all', 'Fatal: wrong password or no key found\n', 'restic printed no snapshot list'],
    ['an empty log', '', 'restic printed no snapshot list'],
    ['a cut-off JSON line', '[{"id": "ab', 'restic printed a snapshot list that is not valid JSON'],
    ['an array of something else', '[1, 2]', 'restic printed something that is not a snapshot list'],
    ['snapshots without a time', '[{"id": "abcdef12"}]', 'restic printed something that is not a snapshot list'],
  ])('fails on %s, with the tail of the log', (_name, output, message) => {
    let error: unknown
    try {
      parseSnapshots(output)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(OperationError)
    expect((error as OperationError).message).toBe(message)
    expect((error as OperationError).details).toBe(output.trimEnd())
  })
})

describe('tail', () => {
  it.each([
    ['a\nb\nc\n', 2, 'b\nc'],
    ['a\nb', 5, 'a\nb'],
    ['', 3, ''],
  ])('%j, %i lines -> %j', (text, n, expected) => {
    expect(tail(text, n)).toBe(expected)
  })
  it('keeps 20 lines by default', () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n')
    expect(tail(text).split('\n')).toHaveLength(20)
    expect(tail(text).split('\n')[0]).toBe('line 10')
  })
})

/** A snapshot as `restic snapshots --json` prints it (only the fields that matter). */
function snap(id: string, time: string, extra: Partial<ResticSnapshot> = {}): ResticSnapshot {
  return { id: id.padEnd(64, '0'), short_id: id, time, hostname: 'volsync', paths: ['/data'], tags: null, ...extra }
}

/** [short_id, previous] newest first. */
const offsets = (snaps: ResticSnapshot[]) => withOffsets(snaps).map((s) => [s.short_id, s.previous])

describe('withOffsets (as mover-restic/entry.sh select_restic_snapshot_to_restore)', () => {
  it('numbers the recorded snapshots newest first', () => {
    const listed = withOffsets(parseSnapshots(FIXTURE))
    expect(listed.map((s) => [s.short_id, s.previous, s.epoch])).toEqual([
      ['7c2d9e41', 0, Date.UTC(2026, 10, 25, 20, 0, 5) / 1000],
      ['4b1e6f2a', 1, Date.UTC(2026, 10, 25, 12, 0, 7) / 1000],
      ['9a8b7c6d', 2, Date.UTC(2026, 10, 25, 4, 0, 9) / 1000],
    ])
  })

  it.each<[string, ResticSnapshot[], [string, number | null][]]>([
    ['an empty repository', [], []],
    [
      'restic order is not trusted: sorted by time',
      [snap('cccccccc', '2026-11-25T20:00:00Z'), snap('aaaaaaaa', '2026-11-25T04:00:00Z'), snap('bbbbbbbb', '2026-11-25T12:00:00Z')],
      [['cccccccc', 0], ['bbbbbbbb', 1], ['aaaaaaaa', 2]],
    ],
    [
      'times with offsets compare as instants',
      [snap('aaaaaaaa', '2026-11-25T05:00:00+01:00'), snap('bbbbbbbb', '2026-11-25T04:30:00Z')],
      [['bbbbbbbb', 0], ['aaaaaaaa', 1]],
    ],
    [
      'a snapshot without /data in its paths is skipped and takes no offset',
      [snap('aaaaaaaa', '2026-11-25T04:00:00Z'), snap('bbbbbbbb', '2026-11-25T12:00:00Z', { paths: ['/srv'] }), snap('cccccccc', '2026-11-25T20:00:00Z')],
      [['cccccccc', 0], ['bbbbbbbb', null], ['aaaaaaaa', 1]],
    ],
    [
      '"/data" anywhere in the first path counts, as grep matches substrings',
      [snap('aaaaaaaa', '2026-11-25T04:00:00Z', { paths: ['/mnt/database'] }), snap('bbbbbbbb', '2026-11-25T12:00:00Z', { paths: ['data'] })],
      [['bbbbbbbb', null], ['aaaaaaaa', 0]],
    ],
    [
      'a /data tag makes a snapshot eligible (the tag is on the same line)',
      [snap('aaaaaaaa', '2026-11-25T04:00:00Z', { paths: ['/srv'], tags: ['x', '/data'] })],
      [['aaaaaaaa', 0]],
    ],
    [
      'a second path /data is on a line of its own: the snapshot is not eligible but the line takes an offset',
      [
        snap('aaaaaaaa', '2026-11-25T04:00:00Z'),
        snap('bbbbbbbb', '2026-11-25T12:00:00Z', { paths: ['/a', '/data'] }),
        snap('cccccccc', '2026-11-25T20:00:00Z'),
      ],
      [['cccccccc', 0], ['bbbbbbbb', null], ['aaaaaaaa', 2]],
    ],
    [
      'whole seconds: two snapshots in one second share it; the later one wins the first offset, the other is unreachable',
      [
        snap('aaaaaaaa', '2026-11-25T04:00:00Z'),
        snap('bbbbbbbb', '2026-11-25T12:00:07.100Z'),
        snap('cccccccc', '2026-11-25T12:00:07.900Z'),
        snap('dddddddd', '2026-11-25T20:00:00Z'),
      ],
      [['dddddddd', 0], ['cccccccc', 1], ['bbbbbbbb', null], ['aaaaaaaa', 3]],
    ],
    [
      'a same-second pair given in reverse order: time decides, not input order',
      [snap('cccccccc', '2026-11-25T12:00:07.900Z'), snap('bbbbbbbb', '2026-11-25T12:00:07.100Z')],
      [['cccccccc', 0], ['bbbbbbbb', null]],
    ],
    [
      'nanoseconds decide within one millisecond',
      [snap('cccccccc', '2026-11-25T12:00:07.100000900Z'), snap('bbbbbbbb', '2026-11-25T12:00:07.100000100Z')],
      [['cccccccc', 0], ['bbbbbbbb', null]],
    ],
    [
      'exactly equal times keep restic\'s order',
      [snap('bbbbbbbb', '2026-11-25T12:00:07Z'), snap('cccccccc', '2026-11-25T12:00:07Z')],
      [['cccccccc', 0], ['bbbbbbbb', null]],
    ],
    [
      'the same second in different zones is the same second',
      [snap('bbbbbbbb', '2026-11-25T13:00:07.2+01:00'), snap('cccccccc', '2026-11-25T12:00:07.1Z')],
      [['bbbbbbbb', 0], ['cccccccc', null]],
    ],
    [
      'a same-second pair where the later one lacks /data: the earlier one is reachable',
      [snap('bbbbbbbb', '2026-11-25T12:00:07.1Z'), snap('cccccccc', '2026-11-25T12:00:07.9Z', { paths: ['/srv'] })],
      [['cccccccc', null], ['bbbbbbbb', 0]],
    ],
  ])('%s', (_name, snaps, expected) => {
    expect(offsets(snaps)).toEqual(expected)
  })

  it('fills in short_id and the epoch, keeps every restic field', () => {
    const [s] = withOffsets([{ id: 'abcdef0123456789', time: '2026-11-25T04:00:09.9Z', paths: ['/data'], hostname: 'volsync' }])
    expect(s).toEqual({
      id: 'abcdef0123456789',
      short_id: 'abcdef01',
      time: '2026-11-25T04:00:09.9Z',
      paths: ['/data'],
      hostname: 'volsync',
      epoch: Date.UTC(2026, 10, 25, 4, 0, 9) / 1000,
      previous: 0,
    })
  })
})

describe('isEligible and moverChain', () => {
  it.each<[Partial<ResticSnapshot>, boolean]>([
    [{ paths: ['/data'] }, true],
    [{ paths: ['/data/sub'] }, true],
    [{ paths: ['/srv/data'] }, true],
    [{ paths: ['/srv'] }, false],
    [{ paths: [] }, false],
    [{ paths: undefined }, false],
    [{ paths: ['/srv', '/data'] }, false],
    [{ paths: ['/srv'], tags: ['/data'] }, true],
    [{ paths: ['/srv'], hostname: 'x/data' }, true],
  ])('%j -> %s', (fields, eligible) => {
    expect(isEligible({ id: 'a', time: '2026-11-25T04:00:00Z', ...fields })).toBe(eligible)
  })

  it('one entry per kept line, newest first, a bogus one for each extra /data path', () => {
    const listed = withOffsets([
      snap('aaaaaaaa', '2026-11-25T04:00:00Z'),
      snap('bbbbbbbb', '2026-11-25T12:00:00Z', { paths: ['/a', '/data', '/data2'] }),
      snap('cccccccc', '2026-11-25T12:00:00.5Z'),
    ])
    expect(moverChain(listed).map((e) => e.snapshot?.short_id ?? null)).toEqual(['cccccccc', null, null, 'aaaaaaaa'])
  })
})

describe('resolveRestorePoint', () => {
  const listed = withOffsets([
    snap('aaaaaaaa', '2026-11-25T04:00:09.4Z'),
    snap('bbbbbbbb', '2026-11-25T12:00:07.1Z'),
    snap('cccccccc', '2026-11-25T12:00:07.9Z'),
    snap('dddddddd', '2026-11-25T16:00:00Z', { paths: ['/srv'] }),
    snap('eeeeeeee', '2026-11-25T20:00:05.9Z'),
  ])
  const resolve = (selector: string) => {
    const p = resolveRestorePoint(listed, parseSnapshotSelector(selector))
    return { previous: p.previous, restoreAsOf: p.restoreAsOf, id: p.snapshot.short_id }
  }

  it.each<[string, string, { previous: number; restoreAsOf?: string; id: string }]>([
    ['latest', '', { previous: 0, restoreAsOf: undefined, id: 'eeeeeeee' }],
    ['offset 0', '0', { previous: 0, restoreAsOf: undefined, id: 'eeeeeeee' }],
    ['offset 1', '1', { previous: 1, restoreAsOf: undefined, id: 'cccccccc' }],
    // entry.sh keeps both lines of the shared second: offset 2 selects that second again
    ['offset 2 (the hidden twin of the same second)', '2', { previous: 2, restoreAsOf: undefined, id: 'cccccccc' }],
    ['offset 3', '3', { previous: 3, restoreAsOf: undefined, id: 'aaaaaaaa' }],
    ['a time after the newest', '2026-11-26T00:00:00Z', { previous: 0, restoreAsOf: '2026-11-26T00:00:00Z', id: 'eeeeeeee' }],
    ['a time exactly at a snapshot second', '2026-11-25T20:00:05Z', { previous: 0, restoreAsOf: '2026-11-25T20:00:05Z', id: 'eeeeeeee' }],
    ['a time one second before it', '2026-11-25T20:00:04Z', { previous: 0, restoreAsOf: '2026-11-25T20:00:04Z', id: 'cccccccc' }],
    ['a time with a fraction, cut to the second', '2026-11-25T20:00:05.999Z', { previous: 0, restoreAsOf: '2026-11-25T20:00:05Z', id: 'eeeeeeee' }],
    ['a time with a zone offset', '2026-11-25T14:00:00+01:00', { previous: 0, restoreAsOf: '2026-11-25T13:00:00Z', id: 'cccccccc' }],
    ['a time skips snapshots without /data', '2026-11-25T17:00:00Z', { previous: 0, restoreAsOf: '2026-11-25T17:00:00Z', id: 'cccccccc' }],
    ['a short id: restored through its whole second', 'aaaaaaaa', { previous: 0, restoreAsOf: '2026-11-25T04:00:09Z', id: 'aaaaaaaa' }],
    ['a longer id prefix', 'eeeeeeee0000', { previous: 0, restoreAsOf: '2026-11-25T20:00:05Z', id: 'eeeeeeee' }],
    ['the id that wins a shared second', 'cccccccc', { previous: 0, restoreAsOf: '2026-11-25T12:00:07Z', id: 'cccccccc' }],
  ])('%s (%j)', (_name, selector, expected) => {
    expect(resolve(selector)).toEqual(expected)
  })

  it.each<[string, string, RegExp]>([
    ['an offset past the end', '4', /^SNAPSHOT=4 is out of range: the VolSync mover can select offsets 0 to 3 in this repository/],
    ['a time before the oldest', '2026-11-25T04:00:08Z', /^no snapshot at or before 2026-11-25T04:00:08Z; the oldest is 2026-11-25T04:00:09.4Z\. Nothing was changed\.$/],
    ['an unknown id', 'ffffffff', /^no snapshot with id ffffffff in the repository\. Nothing was changed\.$/],
    ['the id that loses a shared second', 'bbbbbbbb', /^snapshot bbbbbbbb cannot be selected by the VolSync mover because another snapshot was taken in the same second\./],
    ['the id of a snapshot without /data', 'dddddddd', /^snapshot dddddddd cannot be selected by the VolSync mover because its paths \(\/srv\) do not include \/data\./],
  ])('refuses %s', (_name, selector, message) => {
    expect(() => resolve(selector)).toThrow(OperationError)
    expect(() => resolve(selector)).toThrow(message)
  })

  it('an unknown id shows the newest five snapshots', () => {
    try {
      resolve('ffffffff')
    } catch (err) {
      expect((err as OperationError).details).toBe(
        [
          'Newest snapshots:',
          '  eeeeeeee  2026-11-25T20:00:05.9Z',
          '  dddddddd  2026-11-25T16:00:00Z',
          '  cccccccc  2026-11-25T12:00:07.9Z',
          '  bbbbbbbb  2026-11-25T12:00:07.1Z',
          '  aaaaaaaa  2026-11-25T04:00:09.4Z',
        ].join('\n'),
      )
    }
    expect.assertions(1)
  })

  it('an ambiguous id prefix asks for more digits', () => {
    const twins = withOffsets([snap('abcd0001', '2026-11-25T04:00:00Z'), snap('abcd0002', '2026-11-25T05:00:00Z')])
    expect(() => resolveRestorePoint(twins, { kind: 'id', id: 'abcd000' })).toThrow(
      'snapshot id abcd000 is ambiguous: it matches abcd0002, abcd0001. Give more digits. Nothing was changed.',
    )
  })

  it.each(['', '0', '2026-11-26T00:00:00Z', 'aaaaaaaa'])('refuses %j when no snapshot has /data', (selector) => {
    const none = withOffsets([snap('aaaaaaaa', '2026-11-25T04:00:00Z', { paths: ['/srv'] })])
    expect(() => resolveRestorePoint(none, parseSnapshotSelector(selector))).toThrow(
      'the repository has no snapshots the mover can restore (none with path /data); nothing was changed',
    )
  })

  describe('with a multi-path snapshot', () => {
    const odd = withOffsets([
      snap('aaaaaaaa', '2026-11-25T04:00:00Z'),
      snap('bbbbbbbb', '2026-11-25T12:00:00Z', { paths: ['/a', '/data'] }),
      snap('cccccccc', '2026-11-25T20:00:00Z'),
    ])
    it('an offset landing on its extra line is refused', () => {
      expect(() => resolveRestorePoint(odd, { kind: 'offset', previous: 1 })).toThrow(/^SNAPSHOT=1 would make the VolSync mover pick a line/)
    })
    it('offsets around it count that line', () => {
      expect(resolveRestorePoint(odd, { kind: 'offset', previous: 2 }).snapshot.short_id).toBe('aaaaaaaa')
    })
    it('a time whose walk passes the bogus line is refused (its time is unknowable)', () => {
      expect(() => resolveRestorePoint(odd, parseSnapshotSelector('2026-11-25T13:00:00Z'))).toThrow(/^cannot predict what the VolSync mover restores/)
      expect(() => resolveRestorePoint(odd, { kind: 'id', id: 'aaaaaaaa' })).toThrow(/^cannot predict/)
    })
    it('a time found before the walk reaches it is fine', () => {
      expect(resolveRestorePoint(odd, { kind: 'id', id: 'cccccccc' }).restoreAsOf).toBe('2026-11-25T20:00:00Z')
    })
  })
})

describe('isoSeconds', () => {
  it.each([
    [0, '1970-01-01T00:00:00Z'],
    [Date.UTC(2026, 10, 25, 4, 0, 9) / 1000, '2026-11-25T04:00:09Z'],
  ])('%i -> %s', (epoch, iso) => {
    expect(isoSeconds(epoch)).toBe(iso)
  })
})
