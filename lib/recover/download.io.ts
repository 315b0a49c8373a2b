// `download`: a file or directory of a snapshot to this machine, byte for
// byte (download.ts decides where and how). One idle restic pod; `restic
// dump` runs in it with `kubectl exec` and its stdout streams into a partial
// file beside the destination while the pod hashes the same bytes; the
// partial file becomes the destination only when the SHA-256 of the local
// file equals the pod's. A directory arrives as restic's tar, kept as it is
// or unpacked (tar.ts) under TO/. The partial file is removed on every path
// (failure, mismatch, Ctrl-C): the clean-up stack carries it.
import { createHash } from 'node:crypto'
import { createReadStream, lstatSync, statSync } from 'node:fs'
import * as fs from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import type { UndoStep } from '../cleanup.ts'
import { EXIT, OperationError, TimeoutError, UsageError } from '../errors.ts'
import { formatAge } from '../output.ts'
import type { Context } from '../run.ts'
import { nameSuffix } from '../names.ts'
import { ref } from '../volsync/objects.ts'
import { findSource } from '../volsync/sources.io.ts'
import { snapshotText } from '../restore/plan.ts'
import { tail } from '../snapshots/restic.ts'
import {
  checkTarget,
  destination,
  dumpArgv,
  intoDirectory,
  partialPath,
  podDigest,
  progressText,
  resticStderr,
  type LocalTarget,
} from './download.ts'
import { jsonLines, relative, type ResticNode } from './files.ts'
import { snapshotRef } from './pick.ts'
import { chooseSnapshot, openSession, resticText } from './session.io.ts'
import { BLOCK, applyExtended, entryKind, entryParts, padding, parseHeader, parsePax, type TarHeader } from './tar.ts'

/** What is at TO on this machine. */
export function localTarget(to: string): LocalTarget {
  const stat = (p: string) => {
    try {
      return statSync(p)
    } catch {
      return undefined
    }
  }
  const at = stat(to)
  const parent = stat(path.dirname(path.resolve(to)))
  return { exists: at !== undefined, isDir: at?.isDirectory() ?? false, parentIsDir: parent?.isDirectory() ?? false }
}

/** Checked before any kubectl call (the script's validate). */
export function checkDownloadFlags(opts: { file?: string; to?: string; force: boolean }): void {
  if (!opts.file || !opts.to) throw new UsageError('FILE (--file) and TO (--to) are required (see --help)')
  checkTarget(opts.to, localTarget(opts.to), opts.force)
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

export async function download(ctx: Context): Promise<number> {
  const { opts, kubectl, out, cleanup } = ctx
  const app = opts.app!
  const file = opts.file!
  const to = opts.to!
  const { source: rs } = await findSource(ctx)
  const { session, pod } = await openSession(ctx, { rs, app, component: 'download', what: 'download' })
  const started = Date.now()
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(), ctx.opts.timeoutMs)
  let partial: string | undefined
  let bytes = 0
  let podSum: string | undefined
  let dest
  let snapshot
  let entry: ResticNode | undefined
  const removePartial: UndoStep = {
    what: 'remove the partial download',
    undo: async () => {
      if (partial) await rm(partial, { force: true })
    },
    manual: [],
  }
  try {
    ;({ snapshot } = await chooseSnapshot(ctx, session, pod.mover.repository))
    // what FILE is in that snapshot: a file (and its size) or a directory
    const listing = await resticText(
      session,
      ['ls', '--json', '--no-lock', '--no-cache', snapshot.id, file],
      `restic could not look up ${file} in snapshot ${snapshot.short_id}`,
    )
    entry = jsonLines(listing).find(
      (l): l is Record<string, unknown> & ResticNode => l.struct_type === 'node' && relative(String(l.path)) === relative(file),
    )
    if (!entry) {
      throw new OperationError(`there is no ${file} in snapshot ${snapshot.short_id}. Look with volsync:files (DIR=${path.posix.dirname(file)}).`)
    }
    const local = localTarget(to)
    dest = destination(to, local, entry)
    const final = dest.kind === 'file' ? dest.path : path.join(to, `.${entry.name}`)
    if (dest.kind === 'file' && localTarget(dest.path).exists && !opts.force) {
      throw new UsageError(`${dest.path} exists already: add FORCE=true (--force) to overwrite it. Nothing was downloaded.`)
    }
    // a TO ending in / that does not exist yet (its parent does: checkTarget) is made, for a file as for a directory
    if (dest.kind === 'unpack') fs.mkdirSync(dest.dir, { recursive: true })
    else if (intoDirectory(to, local) && !local.exists) fs.mkdirSync(to, { recursive: true })
    partial = partialPath(final, nameSuffix())
    cleanup.push(removePartial)
    const handle = await open(partial, 'wx', 0o600)
    const total = entry.type === 'file' ? (entry.size ?? 0) : undefined
    const progress = out.stderr.isTTY ? out.progress(`downloading ${file}`) : undefined
    let shown = 0
    try {
      const result = await session.exec(
        dumpArgv(snapshot.id, file),
        async (chunk) => {
          await handle.write(chunk)
          bytes += chunk.length
          if (progress && Date.now() - shown > 250) {
            shown = Date.now()
            progress.update(progressText(bytes, total, Date.now() - started))
          }
        },
        'restic',
        deadline.signal,
      )
      progress?.stop()
      if (deadline.signal.aborted && !ctx.signal.aborted) {
        throw new TimeoutError(`timed out after ${formatAge(Date.now() - started)} downloading ${file} (TIMEOUT)`)
      }
      ctx.checkpoint()
      podSum = podDigest(result.stderr)
      if (result.exitCode !== 0 || podSum === undefined) {
        throw new OperationError(
          `the download of ${file} from snapshot ${snapshot.short_id} failed (exit code ${result.exitCode}` +
            `${result.exitCode === 0 ? ', and the pod reported no checksum: the stream was cut' : ''}); ` +
            'nothing was written to TO. It said:',
          tail(resticStderr(result.stderr) || '(nothing)'),
        )
      }
    } finally {
      progress?.stop()
      await handle.close()
    }
  } finally {
    clearTimeout(timer)
    await session.close()
  }
  // the check: the SHA-256 of what is on disk here against the pod's
  const localSum = await sha256Of(partial!)
  if (localSum !== podSum) {
    await cleanup.undoNow(removePartial)
    throw new OperationError(
      `the downloaded bytes differ from what restic sent in the cluster: SHA-256 ${localSum} here, ${podSum} in the pod ` +
        `(${bytes} bytes received). Nothing was written to TO; run it again.`,
    )
  }
  const result = {
    cluster: opts.cluster,
    source: ref(rs),
    snapshot: snapshotRef(snapshot!),
    file,
    type: entry!.type,
    bytes,
    sha256: localSum,
    verified: true,
    to: dest!.kind === 'file' ? dest!.path : dest!.dir,
    unpacked: dest!.kind === 'unpack',
    entries: null as null | UnpackCounts,
  }
  if (dest!.kind === 'file') await rename(partial!, dest!.path)
  else result.entries = unpackTar(partial!, dest!.dir, opts.force)
  await cleanup.undoNow(removePartial)
  out.data(result)
  const what = entry!.type === 'dir' ? `directory ${file}` : `${file}`
  const where =
    dest!.kind === 'unpack'
      ? `unpacked under ${dest!.dir} (${result.entries!.files} files, ${result.entries!.dirs} directories, ${result.entries!.symlinks} links` +
        `${result.entries!.skipped ? `, ${result.entries!.skipped} special files skipped` : ''})`
      : `to ${dest!.path}${dest!.archive ? ' (a tar archive)' : ''}`
  out.log(
    [
      `Downloaded ${what} from snapshot ${snapshotText(snapshot!, new Date())} of ${ref(rs)}, ${bytes} bytes, ${where}.`,
      `SHA-256 ${localSum}: computed in the cluster as restic sent it and of the local file; they match.`,
    ].join('\n'),
  )
  return EXIT.OK
}

export interface UnpackCounts {
  files: number
  dirs: number
  symlinks: number
  skipped: number
}

interface Located {
  header: TarHeader
  /** where its data starts in the archive */
  offset: number
}

/** Every entry of the archive with its data offset (PAX and GNU long names applied). */
function readEntries(fd: number): Located[] {
  const block = Buffer.alloc(BLOCK)
  const entries: Located[] = []
  let pos = 0
  let pax: Record<string, string> = {}
  let globalPax: Record<string, string> = {}
  let longName: string | undefined
  let longLink: string | undefined
  const readAt = (buf: Buffer, at: number) => {
    let done = 0
    while (done < buf.length) {
      const n = fs.readSync(fd, buf, done, buf.length - done, at + done)
      if (n === 0) throw new OperationError('the tar archive ends early')
      done += n
    }
  }
  for (;;) {
    readAt(block, pos)
    pos += BLOCK
    const header = parseHeader(block)
    if (header === null) break
    if (['x', 'g', 'L', 'K'].includes(header.type)) {
      const data = Buffer.alloc(header.size)
      readAt(data, pos)
      pos += header.size + padding(header.size)
      if (header.type === 'x') pax = parsePax(data)
      else if (header.type === 'g') globalPax = { ...globalPax, ...parsePax(data) }
      else if (header.type === 'L') longName = data.toString('utf8').replace(/\0+$/, '')
      else longLink = data.toString('utf8').replace(/\0+$/, '')
      continue
    }
    const entry = applyExtended(header, { ...globalPax, ...pax }, longName, longLink)
    pax = {}
    longName = longLink = undefined
    entries.push({ header: entry, offset: pos })
    pos += entry.size + padding(entry.size)
  }
  return entries
}

/**
 * Unpacks restic's tar under `dir`: never outside it, never through a
 * symlink, never over an existing file without FORCE (checked for every
 * entry before the first is written). Modes (permission bits) and
 * modification times are set; devices and fifos are skipped.
 */
export function unpackTar(archive: string, dir: string, force: boolean): UnpackCounts {
  const fd = fs.openSync(archive, 'r')
  try {
    const entries = readEntries(fd)
    const planned = entries.map((e) => {
      const where = entryParts(e.header.name)
      if (!where.ok) throw new OperationError(`the archive holds an entry this tool will not write: ${JSON.stringify(e.header.name)} (${where.reason})`)
      return { ...e, parts: where.parts, target: path.join(dir, ...where.parts), kind: entryKind(e.header.type) }
    })
    const lstat = (p: string) => {
      try {
        return lstatSync(p)
      } catch {
        return undefined
      }
    }
    const conflicts = planned.filter((e) => {
      if (e.kind === 'other') return false
      const at = lstat(e.target)
      return at !== undefined && !(e.kind === 'dir' && at.isDirectory())
    })
    if (conflicts.length && !force) {
      throw new UsageError(
        `${conflicts.length} file(s) exist already under ${dir}, e.g. ${conflicts.slice(0, 3).map((c) => c.target).join(', ')}: ` +
          'add FORCE=true (--force) to overwrite them, or download into an empty directory. Nothing was written there.',
      )
    }
    /** the parent directories of `parts` exist as real directories (made when missing), never symlinks */
    const parents = (parts: string[]) => {
      for (let i = 1; i < parts.length; i++) {
        const p = path.join(dir, ...parts.slice(0, i))
        const at = lstat(p)
        if (at === undefined) fs.mkdirSync(p, { mode: 0o755 })
        else if (!at.isDirectory()) {
          throw new OperationError(`${p} is ${at.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: this tool does not write through it`)
        }
      }
    }
    const counts: UnpackCounts = { files: 0, dirs: 0, symlinks: 0, skipped: 0 }
    const dirTimes: { target: string; mode: number; mtime: number }[] = []
    const buf = Buffer.alloc(1 << 20)
    for (const e of planned) {
      if (e.kind === 'other') {
        counts.skipped++
        continue
      }
      parents(e.parts)
      const at = lstat(e.target)
      if (e.kind === 'dir') {
        if (at === undefined) fs.mkdirSync(e.target, { mode: 0o755 })
        else if (!at.isDirectory()) {
          fs.rmSync(e.target, { force: true })
          fs.mkdirSync(e.target, { mode: 0o755 })
        }
        dirTimes.push({ target: e.target, mode: e.header.mode & 0o777, mtime: e.header.mtime })
        counts.dirs++
        continue
      }
      if (at !== undefined) {
        if (at.isDirectory()) throw new OperationError(`${e.target} is a directory here and a file in the snapshot: remove it first`)
        fs.rmSync(e.target, { force: true })
      }
      if (e.kind === 'symlink') {
        fs.symlinkSync(e.header.linkname, e.target)
        counts.symlinks++
        continue
      }
      const out = fs.openSync(e.target, 'wx', 0o600)
      try {
        let done = 0
        while (done < e.header.size) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, e.header.size - done), e.offset + done)
          if (n === 0) throw new OperationError('the tar archive ends early')
          fs.writeSync(out, buf, 0, n)
          done += n
        }
      } finally {
        fs.closeSync(out)
      }
      fs.chmodSync(e.target, e.header.mode & 0o777)
      fs.utimesSync(e.target, e.header.mtime, e.header.mtime)
      counts.files++
    }
    // directories last, deepest first: their modes could forbid writing into them
    for (const d of dirTimes.reverse()) {
      fs.chmodSync(d.target, d.mode)
      fs.utimesSync(d.target, d.mtime, d.mtime)
    }
    return counts
  } finally {
    fs.closeSync(fd)
  }
}
