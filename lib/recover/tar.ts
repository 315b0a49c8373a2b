// Reading the tar archive `restic dump` writes for a directory (Go's
// archive/tar: PAX headers carry the path and times; file, directory and
// symlink entries), and deciding where each entry may land when it is
// unpacked: never outside the target directory, never through a symlink.
// Pure; download.io.ts reads the archive and writes the files.

export const BLOCK = 512

export interface TarHeader {
  name: string
  /** '0' file, '5' directory, '2' symlink, '1' hard link, 'x' PAX, 'g' global PAX, 'L'/'K' GNU long name/link */
  type: string
  size: number
  mode: number
  mtime: number
  linkname: string
}

const text = (b: Uint8Array, start: number, length: number) => {
  const field = b.subarray(start, start + length)
  const end = field.indexOf(0)
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('utf8')
}

/** A numeric field: octal text, or base-256 when its first byte has the high bit set. */
function numeric(b: Uint8Array, start: number, length: number): number {
  const field = b.subarray(start, start + length)
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f
    for (const byte of field.subarray(1)) n = n * 256 + byte
    return n
  }
  const t = text(b, start, length).trim()
  return t === '' ? 0 : parseInt(t, 8)
}

/** The header in a 512-byte block; null for an all-zero block (the end of the archive). Throws on a bad checksum. */
export function parseHeader(block: Uint8Array): TarHeader | null {
  if (block.length !== BLOCK) throw new Error(`a tar block is ${BLOCK} bytes, not ${block.length}`)
  if (block.every((b) => b === 0)) return null
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!
  if (sum !== numeric(block, 148, 8)) throw new Error('not a tar archive (header checksum mismatch)')
  const magic = text(block, 257, 6)
  const prefix = magic.startsWith('ustar') ? text(block, 345, 155) : ''
  const name = text(block, 0, 100)
  return {
    name: prefix ? `${prefix}/${name}` : name,
    type: String.fromCharCode(block[156] || 48), // '\0' is an old-style file
    size: numeric(block, 124, 12),
    mode: numeric(block, 100, 8),
    mtime: numeric(block, 136, 12),
    linkname: text(block, 157, 100),
  }
}

/** The records of a PAX extended header ("<len> key=value\n" ...). */
export function parsePax(data: Uint8Array): Record<string, string> {
  const records: Record<string, string> = {}
  const buf = Buffer.from(data)
  let at = 0
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at)
    if (space < 0) break
    const length = parseInt(buf.subarray(at, space).toString('ascii'), 10)
    if (!Number.isInteger(length) || length <= 0 || at + length > buf.length) throw new Error('bad PAX record in the tar archive')
    const record = buf.subarray(space + 1, at + length - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1)
    at += length
  }
  return records
}

/** An entry with its PAX or GNU long-name overrides applied. */
export function applyExtended(header: TarHeader, pax: Record<string, string>, longName?: string, longLink?: string): TarHeader {
  const out = { ...header }
  if (longName !== undefined) out.name = longName
  if (longLink !== undefined) out.linkname = longLink
  if (pax.path !== undefined) out.name = pax.path
  if (pax.linkpath !== undefined) out.linkname = pax.linkpath
  if (pax.size !== undefined) out.size = Number(pax.size)
  if (pax.mtime !== undefined) out.mtime = Number(pax.mtime)
  return out
}

/** Bytes of padding after `size` bytes of data. */
export const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK

export type Placement =
  | { ok: true; parts: string[] }
  | { ok: false; reason: string }

/**
 * Where an entry named `name` lands under the target directory, as path
 * components; refused when it is absolute, climbs out (".."), or names
 * nothing.
 */
export function entryParts(name: string): Placement {
  if (name.startsWith('/')) return { ok: false, reason: 'an absolute path' }
  if (/[\x00]/.test(name)) return { ok: false, reason: 'a NUL in its name' }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.')
  if (parts.length === 0) return { ok: false, reason: 'an empty name' }
  if (parts.includes('..')) return { ok: false, reason: 'a ".." component' }
  return { ok: true, parts }
}

/** The kinds of entries unpacked; others (devices, fifos, hard links) are skipped and counted. */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'other'

export function entryKind(type: string): EntryKind {
  if (type === '0' || type === '7') return 'file'
  if (type === '5') return 'dir'
  if (type === '2') return 'symlink'
  return 'other'
}
