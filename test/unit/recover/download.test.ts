import { mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync, mkdirSync, existsSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { OperationError, UsageError } from '../../../lib/errors.ts'
import {
  DUMP_SCRIPT,
  checkTarget,
  destination,
  dumpArgv,
  partialPath,
  podDigest,
  progressText,
  resticStderr,
  type LocalTarget,
} from '../../../lib/recover/download.ts'
import { unpackTar } from '../../../lib/recover/download.io.ts'
import { BLOCK, entryParts, parseHeader, parsePax } from '../../../lib/recover/tar.ts'

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/restic-dump-root.tar')
const none: LocalTarget = { exists: false, isDir: false, parentIsDir: true }
const dir: LocalTarget = { exists: true, isDir: true, parentIsDir: true }
const file: LocalTarget = { exists: true, isDir: false, parentIsDir: true }

describe('the transport', () => {
  it('passes the snapshot and the path as positional arguments, never inside the script', () => {
    const argv = dumpArgv('7c2d9e41', "/it's $(rm -rf /)\n.txt")
    expect(argv).toEqual(['sh', '-c', DUMP_SCRIPT, 'volsync-ops-dump', '7c2d9e41', "/it's $(rm -rf /)\n.txt"])
    expect(DUMP_SCRIPT).toContain('restic dump --no-lock --no-cache "$1" "$2"')
    expect(DUMP_SCRIPT).not.toContain('pipefail')
  })

  it.each<[string, string | undefined]>([
    [`volsync-ops-sha256 ${'a'.repeat(64)}\n`, 'a'.repeat(64)],
    [`restic warning\nvolsync-ops-sha256 ${'b'.repeat(64)}\n`, 'b'.repeat(64)],
    ['Fatal: cannot dump file: path "/x" not found in snapshot\n', undefined],
    [`volsync-ops-sha256 ${'c'.repeat(63)}\n`, undefined],
  ])('podDigest(%j)', (stderr, digest) => {
    expect(podDigest(stderr)).toBe(digest)
  })

  it("resticStderr keeps restic's words only", () => {
    expect(resticStderr(`Fatal: x\nvolsync-ops-sha256 ${'a'.repeat(64)}\n`)).toBe('Fatal: x')
  })

  it('progress: received, total and percentage, rate', () => {
    expect(progressText(50 * 2 ** 20, 200 * 2 ** 20, 10_000)).toBe('50.0 MiB of 200.0 MiB (25%), 5.0 MiB/s')
    expect(progressText(512, undefined, 0)).toBe('512 B, 0 B/s')
  })
})

describe('where it goes', () => {
  it.each<[string, string, LocalTarget, { type: string; name: string }, unknown]>([
    ['a file to a new path', 'out/odoo.conf', none, { type: 'file', name: 'odoo.conf' }, { kind: 'file', path: 'out/odoo.conf', archive: false }],
    ['a file into a directory (trailing /)', 'out/', none, { type: 'file', name: 'odoo.conf' }, { kind: 'file', path: 'out/odoo.conf', archive: false }],
    ['a file into an existing directory', 'out', dir, { type: 'file', name: 'odoo.conf' }, { kind: 'file', path: 'out/odoo.conf', archive: false }],
    ['a directory as a tar', 'docs.tar', none, { type: 'dir', name: 'docs' }, { kind: 'file', path: 'docs.tar', archive: true }],
    ['a directory unpacked', 'out/', none, { type: 'dir', name: 'docs' }, { kind: 'unpack', dir: 'out/' }],
    ['a directory into an existing directory: unpacked', 'out', dir, { type: 'dir', name: 'docs' }, { kind: 'unpack', dir: 'out' }],
  ])('%s', (_name, to, local, entry, expected) => {
    expect(destination(to, local, entry)).toEqual(expected)
  })

  it('a symlink is refused', () => {
    expect(() => destination('x', none, { type: 'symlink', name: 'l' })).toThrow('FILE is a symbolic link in the snapshot')
  })

  it.each<[string, LocalTarget, boolean, string | null]>([
    ['new file', none, false, null],
    ['existing file without FORCE', file, false, 'exists already: add FORCE=true (--force) to overwrite it. Nothing was downloaded.'],
    ['existing file with FORCE', file, true, null],
    ['a file in a directory that does not exist', { exists: false, isDir: false, parentIsDir: false }, false, 'the directory it goes into does not exist'],
    ['an existing directory', dir, false, null],
  ])('checkTarget: %s', (_name, local, force, error) => {
    if (error === null) expect(() => checkTarget('out/x', local, force)).not.toThrow()
    else {
      expect(() => checkTarget('out/x', local, force)).toThrow(UsageError)
      expect(() => checkTarget('out/x', local, force)).toThrow(error)
    }
  })

  it('the partial file is hidden beside the destination', () => {
    expect(partialPath('/tmp/out/odoo.conf', 'ab12c')).toBe('/tmp/out/.odoo.conf.volsync-ops-ab12c.part')
  })
})

// a minimal tar writer for hostile archives (ustar headers)
function tarOf(entries: { name: string; type?: string; data?: string; link?: string; mode?: number }[]): Buffer {
  const blocks: Buffer[] = []
  for (const e of entries) {
    const h = Buffer.alloc(BLOCK)
    const data = Buffer.from(e.data ?? '')
    h.write(e.name, 0, 100)
    h.write((e.mode ?? 0o644).toString(8).padStart(7, '0') + '\0', 100)
    h.write('0000000\0', 108)
    h.write('0000000\0', 116)
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124)
    h.write('14000000000\0', 136)
    h.write(e.type ?? '0', 156)
    h.write(e.link ?? '', 157, 100)
    h.write('ustar\0', 257)
    h.write('00', 263)
    h.write('        ', 148)
    let sum = 0
    for (const b of h) sum += b
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
    blocks.push(h, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK))
  }
  blocks.push(Buffer.alloc(2 * BLOCK))
  return Buffer.concat(blocks)
}

const scratch = () => mkdtempSync(path.join(tmpdir(), 'volsync-ops-unpack-'))

describe("unpackTar: restic's archive", () => {
  it('unpacks files, directories and links with their modes and times, names with newlines too', () => {
    const to = scratch()
    expect(unpackTar(FIXTURE, to, false)).toEqual({ files: 4, dirs: 2, symlinks: 1, skipped: 0 })
    expect(readFileSync(path.join(to, 'a.txt'), 'utf8')).toBe('hello\n')
    expect(readFileSync(path.join(to, 'sub/b.bin'))).toEqual(Buffer.from('x\0y'))
    expect(readFileSync(path.join(to, 'sub/we ird\nname'), 'utf8')).toBe('n')
    expect(readlinkSync(path.join(to, 'link'))).toBe('a.txt')
    expect(statSync(path.join(to, 'sub/deeper')).mode & 0o777).toBe(0o755)
    // Go's tar writer rounds the modification time to the second
    expect(statSync(path.join(to, 'a.txt')).mtime.toISOString()).toBe('2026-11-30T22:52:16.000Z')
  })

  it('refuses to overwrite existing files without FORCE, before writing anything; FORCE overwrites', () => {
    const to = scratch()
    writeFileSync(path.join(to, 'a.txt'), 'mine')
    expect(() => unpackTar(FIXTURE, to, false)).toThrow(UsageError)
    expect(() => unpackTar(FIXTURE, to, false)).toThrow('1 file(s) exist already under')
    expect(existsSync(path.join(to, 'sub'))).toBe(false)
    unpackTar(FIXTURE, to, true)
    expect(readFileSync(path.join(to, 'a.txt'), 'utf8')).toBe('hello\n')
  })

  it.each<[string, Parameters<typeof tarOf>[0], string]>([
    ['climbing out', [{ name: '../evil', data: 'x' }], 'a ".." component'],
    ['deeper climbing', [{ name: 'a/../../evil', data: 'x' }], 'a ".." component'],
    ['an absolute path', [{ name: '/etc/evil', data: 'x' }], 'an absolute path'],
  ])('refuses an archive %s, writing nothing', (_name, entries, reason) => {
    const to = scratch()
    const archive = path.join(scratch(), 'a.tar')
    writeFileSync(archive, tarOf(entries))
    expect(() => unpackTar(archive, to, true)).toThrow(OperationError)
    expect(() => unpackTar(archive, to, true)).toThrow(reason)
  })

  it('never writes through a symbolic link (one from the archive, or one already there)', () => {
    const outside = scratch()
    const to = scratch()
    const archive = path.join(scratch(), 'a.tar')
    writeFileSync(archive, tarOf([{ name: 'a', type: '2', link: outside }, { name: 'a/evil', data: 'x' }]))
    expect(() => unpackTar(archive, to, true)).toThrow('is a symbolic link: this tool does not write through it')
    expect(existsSync(path.join(outside, 'evil'))).toBe(false)
    const to2 = scratch()
    symlinkSync(outside, path.join(to2, 'b'))
    writeFileSync(archive, tarOf([{ name: 'b/evil', data: 'x' }]))
    expect(() => unpackTar(archive, to2, true)).toThrow('is a symbolic link')
    expect(existsSync(path.join(outside, 'evil'))).toBe(false)
  })

  it('skips devices and fifos, and counts them', () => {
    const to = scratch()
    const archive = path.join(scratch(), 'a.tar')
    mkdirSync(path.join(to, 'x'))
    writeFileSync(archive, tarOf([{ name: 'fifo', type: '6' }, { name: 'x/f', data: 'ok' }]))
    expect(unpackTar(archive, to, false)).toEqual({ files: 1, dirs: 0, symlinks: 0, skipped: 1 })
  })
})

describe('tar reading', () => {
  it('an all-zero block ends the archive; a bad checksum is not an archive', () => {
    expect(parseHeader(Buffer.alloc(BLOCK))).toBeNull()
    const bad = tarOf([{ name: 'x', data: 'y' }]).subarray(0, BLOCK)
    bad[0] = 0x79
    expect(() => parseHeader(bad)).toThrow('not a tar archive')
  })

  it('PAX records', () => {
    const rec = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`
      const bytes = Buffer.byteLength(body)
      let len = bytes + 1
      while (String(len).length + bytes !== len) len = String(len).length + bytes
      return `${len}${body}`
    }
    expect(parsePax(Buffer.from(rec('path', 'a/é b') + rec('mtime', '1764543135.5')))).toEqual({ path: 'a/é b', mtime: '1764543135.5' })
  })

  it.each<[string, unknown]>([
    ['docs/a', { ok: true, parts: ['docs', 'a'] }],
    ['./docs//a/', { ok: true, parts: ['docs', 'a'] }],
    ['.', { ok: false, reason: 'an empty name' }],
  ])('entryParts(%j)', (name, expected) => {
    expect(entryParts(name)).toEqual(expected)
  })
})
