// What `files` shows: the entries of one directory of a snapshot, read from
// `restic ls --json <snapshot> <dir>` (non-recursive for a directory given:
// the directory's own node, then its entries). Paths are those of the PVC as
// the app sees it: the mover backs up /data as ".", so the snapshot's root is
// the PVC's root. Pure.
import { OperationError } from '../errors.ts'
import { formatBytes, renderTable, type Cell, type Column, type Paint, type Table } from '../output.ts'
import { tail } from '../snapshots/restic.ts'

/** One node of `restic ls --json`. */
export interface ResticNode {
  name: string
  type: 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'irregular' | string
  /** absolute in the snapshot: "/docs/a.txt" */
  path: string
  size?: number
  mode?: number
  permissions?: string
  mtime?: string
  uid?: number
  gid?: number
}

/** An entry as `files` reports it. */
export interface FileEntry {
  name: string
  /** relative to the PVC root: "docs/a.txt" */
  path: string
  type: string
  /** bytes, for files (0 otherwise) */
  size: number
  mtime: string | null
  permissions: string | null
  uid: number | null
  gid: number | null
}

export interface Listing {
  /** the directory listed, relative to the PVC root ("" for the root) */
  dir: string
  entries: FileEntry[]
}

/** The lines of restic's JSON output that are JSON objects (restic's warnings go to stderr, but be lenient). */
export function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const line of text.split('\n')) {
    const t = line.trim()
    if (!t.startsWith('{')) continue
    try {
      const parsed = JSON.parse(t) as unknown
      if (typeof parsed === 'object' && parsed !== null) out.push(parsed as Record<string, unknown>)
    } catch {
      throw new OperationError('restic printed a line that is not valid JSON', tail(text))
    }
  }
  return out
}

const isNode = (o: Record<string, unknown>): o is Record<string, unknown> & ResticNode =>
  (o.message_type === 'node' || o.struct_type === 'node') && typeof o.path === 'string' && typeof o.name === 'string'

/** "/docs/a" -> "docs/a"; "/" -> "" */
export const relative = (path: string) => path.replace(/^\/+/, '')

export function toEntry(node: ResticNode): FileEntry {
  return {
    name: node.name,
    path: relative(node.path),
    type: node.type,
    size: node.type === 'file' ? (node.size ?? 0) : 0,
    mtime: node.mtime ?? null,
    permissions: node.permissions ?? null,
    uid: node.uid ?? null,
    gid: node.gid ?? null,
  }
}

/**
 * The listing of `dir` ("/" or "/docs/deep", as cli.ts normalises it) from
 * the output of `restic ls --json`. A directory that is not in the snapshot,
 * or a path that is a file, is an OperationError that says so.
 */
export function parseListing(output: string, dir: string, snapshot: string): Listing {
  const lines = jsonLines(output)
  if (!lines.some((l) => l.message_type === 'snapshot' || l.struct_type === 'snapshot')) {
    throw new OperationError('restic printed no snapshot line: the listing is incomplete', tail(output))
  }
  const nodes = lines.filter(isNode)
  const rel = relative(dir)
  if (rel !== '') {
    const self = nodes.find((n) => relative(n.path) === rel)
    if (!self) {
      throw new OperationError(`there is no /${rel} in snapshot ${snapshot}. List its parent directory to see what there is.`)
    }
    if (self.type !== 'dir') {
      throw new OperationError(
        `/${rel} in snapshot ${snapshot} is a ${self.type}, not a directory. Download it with FILE=/${rel}.`,
      )
    }
  }
  const prefix = rel === '' ? '' : `${rel}/`
  const entries = nodes
    .filter((n) => {
      const p = relative(n.path)
      return p.startsWith(prefix) && p !== rel && !p.slice(prefix.length).includes('/')
    })
    .map(toEntry)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { dir: rel, entries }
}

/**
 * A name as a terminal can show it without being fooled: control characters
 * (a newline in a file name) as escapes, backslashes doubled.
 */
export function displayName(name: string): string {
  return name.replace(/[\\\x00-\x1f\x7f]/g, (c) => {
    if (c === '\\') return '\\\\'
    if (c === '\n') return '\\n'
    if (c === '\t') return '\\t'
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
  })
}

/** "2026-11-25 20:00:05" in UTC from restic's RFC 3339 time. */
export function utcSeconds(time: string | null): string {
  if (!time) return '-'
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(time)
  if (!m) return time
  // restic writes local offsets as they were on the machine: convert to UTC
  const d = new Date(time)
  if (Number.isNaN(d.getTime())) return `${m[1]} ${m[2]}`
  return d.toISOString().slice(0, 19).replace('T', ' ')
}

const TYPE_TEXT: Record<string, string> = { file: 'file', dir: 'dir', symlink: 'link' }

export function filesTable(listing: Listing, width: number, paint: Paint): Table {
  const columns: Column[] = [
    { header: 'TYPE' },
    { header: 'PERMISSIONS', drop: 1 },
    { header: 'SIZE', align: 'right' },
    { header: 'MODIFIED (UTC)' },
    { header: 'NAME', min: 8 },
  ]
  const rows: Cell[][] = listing.entries.map((e) => [
    TYPE_TEXT[e.type] ?? e.type,
    e.permissions ?? '-',
    e.type === 'file' ? formatBytes(e.size) : { text: '-', tone: 'dim' },
    utcSeconds(e.mtime),
    e.type === 'dir' ? { text: `${displayName(e.name)}/`, tone: 'bold' } : displayName(e.name),
  ])
  return renderTable(columns, rows, width, paint)
}
