import { describe, expect, it } from 'vitest'
import { OperationError } from '../../../lib/errors.ts'
import { painter } from '../../../lib/output.ts'
import { displayName, filesTable, jsonLines, parseListing, utcSeconds } from '../../../lib/recover/files.ts'
import { pickSnapshot } from '../../../lib/recover/pick.ts'
import { withOffsets, type ResticSnapshot } from '../../../lib/snapshots/restic.ts'

// as restic 0.18.1 prints `restic ls --json <id> /docs` (recorded, shortened)
const SNAP = '{"time":"2026-11-30T22:52:15.679221959Z","paths":["/data"],"hostname":"volsync","id":"f6306043c0505e2b","short_id":"f6306043","message_type":"snapshot","struct_type":"snapshot"}'
const node = (path: string, type: string, size?: number) =>
  JSON.stringify({ name: path.split('/').at(-1), type, path, uid: 1000, gid: 1000, ...(size === undefined ? {} : { size }), mode: 420, permissions: type === 'dir' ? 'drwxr-xr-x' : '-rw-r--r--', mtime: '2026-11-30T22:52:15.563825575Z', message_type: 'node', struct_type: 'node' })
const LS_DOCS = [SNAP, node('/docs', 'dir'), node('/docs/b.txt', 'file', 3), node('/docs/a dir', 'dir'), node('/docs/we ird\nname', 'file', 1), ''].join('\n')

describe('parseListing', () => {
  it('lists the directory entries by name, paths from the PVC root, without the directory itself', () => {
    expect(parseListing(LS_DOCS, '/docs', 'f6306043')).toEqual({
      dir: 'docs',
      entries: [
        { name: 'a dir', path: 'docs/a dir', type: 'dir', size: 0, mtime: '2026-11-30T22:52:15.563825575Z', permissions: 'drwxr-xr-x', uid: 1000, gid: 1000 },
        { name: 'b.txt', path: 'docs/b.txt', type: 'file', size: 3, mtime: '2026-11-30T22:52:15.563825575Z', permissions: '-rw-r--r--', uid: 1000, gid: 1000 },
        { name: 'we ird\nname', path: 'docs/we ird\nname', type: 'file', size: 1, mtime: '2026-11-30T22:52:15.563825575Z', permissions: '-rw-r--r--', uid: 1000, gid: 1000 },
      ],
    })
  })

  it('the root: entries only (restic prints no node for it)', () => {
    const out = [SNAP, node('/app.conf', 'file', 5), node('/docs', 'dir')].join('\n')
    expect(parseListing(out, '/', 'x').entries.map((e) => e.path)).toEqual(['app.conf', 'docs'])
  })

  it('keeps only direct children, whatever else restic prints', () => {
    const out = [SNAP, node('/docs', 'dir'), node('/docs/x', 'dir'), node('/docs/x/deeper', 'file', 1), node('/docsmore', 'file', 1)].join('\n')
    expect(parseListing(out, '/docs', 'x').entries.map((e) => e.path)).toEqual(['docs/x'])
  })

  it.each<[string, string, string]>([
    ['a missing directory', [SNAP].join('\n'), 'there is no /docs in snapshot f6306043. List its parent directory to see what there is.'],
    ['a file', [SNAP, node('/docs', 'file', 3)].join('\n'), '/docs in snapshot f6306043 is a file, not a directory. Download it with FILE=/docs.'],
    ['a listing without its snapshot line (cut)', node('/docs', 'dir'), 'restic printed no snapshot line: the listing is incomplete'],
  ])('%s is an OperationError', (_name, out, message) => {
    expect(() => parseListing(out, '/docs', 'f6306043')).toThrow(OperationError)
    expect(() => parseListing(out, '/docs', 'f6306043')).toThrow(message)
  })

  it('jsonLines skips text and fails on broken JSON', () => {
    expect(jsonLines('warning: x\n{"a":1}\n\n')).toEqual([{ a: 1 }])
    expect(() => jsonLines('{"a":')).toThrow('restic printed a line that is not valid JSON')
  })
})

describe('displayName', () => {
  it.each<[string, string]>([
    ['plain.txt', 'plain.txt'],
    ['new\nline', 'new\\nline'],
    ['tab\there', 'tab\\there'],
    ['esc\x1b[31mred', 'esc\\x1b[31mred'],
    ['back\\slash', 'back\\\\slash'],
    ['café', 'café'],
  ])('%j -> %j', (name, shown) => {
    expect(displayName(name)).toBe(shown)
  })
})

describe('filesTable', () => {
  it('shows type, permissions, size, time and name; directories end with /', () => {
    const listing = parseListing(LS_DOCS, '/docs', 'x')
    expect(filesTable(listing, 100, painter(false)).text.split('\n')).toEqual([
      'TYPE  PERMISSIONS  SIZE  MODIFIED (UTC)       NAME',
      'dir   drwxr-xr-x      -  2026-11-30 22:52:15  a dir/',
      'file  -rw-r--r--     3B  2026-11-30 22:52:15  b.txt',
      'file  -rw-r--r--     1B  2026-11-30 22:52:15  we ird\\nname',
    ])
  })

  it('utcSeconds converts an offset time to UTC', () => {
    expect(utcSeconds('2026-11-30T23:52:15.5+01:00')).toBe('2026-11-30 22:52:15')
    expect(utcSeconds(null)).toBe('-')
  })
})

describe('pickSnapshot', () => {
  const snaps: ResticSnapshot[] = [
    { id: 'aaaa1111' + '0'.repeat(56), time: '2026-11-25T04:00:00Z', paths: ['/data'], hostname: 'volsync' },
    { id: 'bbbb2222' + '0'.repeat(56), time: '2026-11-25T12:00:00Z', paths: ['/home/me'], hostname: 'laptop' },
    { id: 'cccc3333' + '0'.repeat(56), time: '2026-11-25T20:00:00Z', paths: ['/data'], hostname: 'volsync' },
  ]
  const listed = withOffsets(snaps)
  it.each<[string, Parameters<typeof pickSnapshot>[1], string]>([
    ['latest: the newest the mover can select', { kind: 'latest' }, 'cccc3333'],
    ['an offset counts as the mover counts (PREV of list)', { kind: 'offset', previous: 1 }, 'aaaa1111'],
    ['a time: the newest at or before it', { kind: 'time', time: new Date('2026-11-25T13:00:00Z'), text: 'x' }, 'aaaa1111'],
    ['an id: any snapshot, even one the mover cannot select', { kind: 'id', id: 'bbbb2222' }, 'bbbb2222'],
  ])('%s', (_name, selector, short) => {
    expect(pickSnapshot(listed, selector).short_id).toBe(short)
  })

  it.each<[Parameters<typeof pickSnapshot>[1], string]>([
    [{ kind: 'id', id: 'dddd4444' }, 'no snapshot with id dddd4444 in the repository.'],
    [{ kind: 'offset', previous: 5 }, 'SNAPSHOT=5 is out of range'],
  ])('%j fails: %s', (selector, message) => {
    expect(() => pickSnapshot(listed, selector)).toThrow(message)
  })

  it('an ambiguous id', () => {
    const two = withOffsets([snaps[0]!, { ...snaps[2]!, id: 'aaaa1111f' + '0'.repeat(55) }])
    expect(() => pickSnapshot(two, { kind: 'id', id: 'aaaa1111' })).toThrow('snapshot id aaaa1111 is ambiguous: it matches aaaa1111, aaaa1111. Give more digits.')
  })

  it('an empty repository', () => {
    expect(() => pickSnapshot([], { kind: 'latest' })).toThrow('the repository has no snapshots yet')
  })
})
