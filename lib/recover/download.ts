// `download`: where a file or directory of a snapshot goes on this machine,
// how it travels, and how it is checked. Pure; download.io.ts acts.
//
// Transport: `kubectl exec` of `restic dump` in an idle restic pod: exec's
// stdout is a byte stream (binary-safe), unlike pod logs (text, rotated and
// so truncated by the kubelet). In the pod the same bytes go through
// sha256sum (a fifo and tee: the repository is read once); the digest comes
// back on stderr after the data, and is compared with the SHA-256 of the
// local file once it is written.
import path from 'node:path'
import { UsageError } from '../errors.ts'

/**
 * The command run in the pod (POSIX sh, no pipefail needed): `restic dump`
 * of "$1" (snapshot id) and "$2" (path in it) to stdout, and its SHA-256 to
 * stderr as `volsync-ops-sha256 <hex>` once restic succeeded; the exit code
 * is restic's. The arguments are positional, never part of the script.
 */
export const DUMP_SCRIPT = [
  'set -u',
  'work=$(mktemp -d /tmp/volsync-ops.XXXXXX) || exit 120',
  'mkfifo "$work/fifo" || exit 120',
  'sha256sum < "$work/fifo" > "$work/sum" &',
  '{ restic dump --no-lock --no-cache "$1" "$2"; echo $? > "$work/rc"; } | tee "$work/fifo"',
  'wait',
  'rc=$(cat "$work/rc" 2>/dev/null || echo 121)',
  'if [ "$rc" = 0 ]; then printf \'volsync-ops-sha256 %s\\n\' "$(cut -d " " -f 1 < "$work/sum")" >&2; fi',
  'rm -rf "$work"',
  'exit "$rc"',
].join('\n')

/** argv for `kubectl exec ... --`: the script and its positional arguments. */
export function dumpArgv(snapshotId: string, snapshotPath: string): string[] {
  return ['sh', '-c', DUMP_SCRIPT, 'volsync-ops-dump', snapshotId, snapshotPath]
}

/** The digest the pod printed on stderr; undefined when it printed none (restic failed, or the stream broke). */
export function podDigest(stderr: string): string | undefined {
  const matches = [...stderr.matchAll(/^volsync-ops-sha256 ([0-9a-f]{64})$/gm)]
  return matches.at(-1)?.[1]
}

/** stderr without our digest line: restic's own words. */
export const resticStderr = (stderr: string) => stderr.replace(/^volsync-ops-sha256 [0-9a-f]{64}\n?/gm, '').trim()

/** What is on this machine at TO (local facts, read by the caller). */
export interface LocalTarget {
  exists: boolean
  isDir: boolean
  /** the directory TO goes into exists */
  parentIsDir: boolean
}

/** TO names a directory to download into: it ends with "/", or is an existing directory. */
export const intoDirectory = (to: string, local: LocalTarget) => to.endsWith('/') || (local.exists && local.isDir)

/**
 * Checked before any kubectl call: TO's directory exists, and an existing
 * file is not overwritten without FORCE (exit 2).
 */
export function checkTarget(to: string, local: LocalTarget, force: boolean): void {
  if (intoDirectory(to, local)) {
    if (!local.exists && !local.parentIsDir) {
      throw new UsageError(`TO (--to) ${JSON.stringify(to)}: its parent directory does not exist. Nothing was downloaded.`)
    }
    return
  }
  if (!local.parentIsDir) {
    throw new UsageError(`TO (--to) ${JSON.stringify(to)}: the directory it goes into does not exist. Nothing was downloaded.`)
  }
  if (local.exists && !force) {
    throw new UsageError(`TO (--to) ${JSON.stringify(to)} exists already: add FORCE=true (--force) to overwrite it. Nothing was downloaded.`)
  }
}

export type Destination =
  /** the file's bytes, or the directory's tar archive, at `path` */
  | { kind: 'file'; path: string; archive: boolean }
  /** the directory's tar archive unpacked under `dir` (entries named after the directory: dir/<name>/...) */
  | { kind: 'unpack'; dir: string }

/**
 * Where the entry goes: a file into TO (or TO/<name> for a directory
 * target); a directory as a tar at TO, or unpacked under TO/ when TO is a
 * directory target.
 */
export function destination(to: string, local: LocalTarget, entry: { type: string; name: string }): Destination {
  const into = intoDirectory(to, local)
  if (entry.type === 'dir') return into ? { kind: 'unpack', dir: to } : { kind: 'file', path: to, archive: true }
  if (entry.type !== 'file') {
    throw new UsageError(
      `FILE is a ${entry.type === 'symlink' ? 'symbolic link' : entry.type} in the snapshot: download a regular file or a directory ` +
        '(list it with volsync:files to see where a link points). Nothing was downloaded.',
    )
  }
  return { kind: 'file', path: into ? path.join(to, entry.name) : to, archive: false }
}

/** A name for the partial download beside the destination, removed unless the check passes. */
export const partialPath = (final: string, suffix: string) =>
  path.join(path.dirname(final), `.${path.basename(final)}.volsync-ops-${suffix}.part`)

/** The progress text: "12.3M of 80M (15%), 4.1M/s" (total unknown for a directory). */
export function progressText(received: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? received / (elapsedMs / 1000) : 0
  const got = formatSize(received)
  const of = total === undefined ? '' : ` of ${formatSize(total)} (${total ? Math.floor((received / total) * 100) : 100}%)`
  return `${got}${of}, ${formatSize(rate)}/s`
}

function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`
}
