// `restore DRY_RUN=true`: what the restore would change in the live PVC,
// found by restic itself: `restic restore --dry-run --delete` of the planned
// snapshot against the PVC mounted read-only (the mover runs `restic restore
// --delete` into it). restic reports each item as restored (it is not there),
// updated (it differs), unchanged, or deleted (not in the snapshot);
// directories and symlinks are always "restored" (their metadata), so only
// files count as added or replaced, with the snapshot's listing telling which
// items are files. Pure: where the pod may mount the PVC, the reading of
// restic's stream, the texts.
import type { Pod } from '../pods.ts'
import { podsUsing } from '../snapshots/placement.ts'
import type { Placement } from '../snapshots/pod.ts'
import type { ListedSnapshot } from '../snapshots/restic.ts'
import { displayName, relative } from './files.ts'

/** The --help paragraph of restore about the dry run's preview. */
export const PREVIEW_NOTES: readonly string[] = [
  "DRY_RUN also previews what the restore would change in the PVC: in a restic pod that mounts it read-only",
  "beside the app (on the node of the app's pod for ReadWriteOnce), restic lists the planned snapshot and runs",
  '`restic restore --dry-run --delete` against the live data (needs create on pods/exec); it prints how many',
  'files would be added, replaced and deleted, with the first few paths of each. Where the PVC cannot be',
  'mounted read-only beside the app (ReadWriteOncePod in use, the pod not schedulable within a minute), or',
  'the preview fails, it says why and the dry run goes on. JSON: the field preview: {compared, pvc, snapshot,',
  'add: {count, first}, replace: {count, first}, delete: {count, first}, unchanged} or {compared: false, pvc,',
  'reason}.',
]

/** Where the live PVC is mounted in the preview pod (the mover restores into /data too). */
export const LIVE_MOUNT = '/data'

/** How many paths of each kind are shown. */
export const SAMPLE = 5

export const listArgs = (id: string) => ['restic', 'ls', '--json', '--no-lock', '--no-cache', id]

export const dryRunArgs = (id: string) => [
  'restic', 'restore', id, '--target', LIVE_MOUNT, '--dry-run', '--delete', '-vv', '--json', '--no-lock', '--no-cache',
]

export interface PreviewClaim {
  spec?: { accessModes?: string[] }
  status?: { accessModes?: string[]; phase?: string }
}

export type Access = { ok: true; placement?: Placement } | { ok: false; reason: string }

/**
 * Can a pod mount the PVC read-only next to the app? ReadWriteMany or
 * ReadOnlyMany: anywhere. ReadWriteOnce: on the node of a pod that uses it
 * (a volume attaches to one node), with that pod's tolerations; anywhere
 * when no pod uses it. ReadWriteOncePod: never while a pod uses it.
 */
export function previewAccess(claim: PreviewClaim | null, pods: readonly Pod[], pvc: string): Access {
  if (claim === null) return { ok: false, reason: `the PVC ${pvc} does not exist` }
  const modes = claim.status?.accessModes ?? claim.spec?.accessModes ?? []
  if (modes.includes('ReadWriteMany') || modes.includes('ReadOnlyMany')) return { ok: true }
  const using = podsUsing(pods, pvc).filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending')
  if (modes.includes('ReadWriteOncePod')) {
    return using.length
      ? { ok: false, reason: `${pvc} is ReadWriteOncePod and pod ${using[0]!.metadata.name} has it: no second pod may mount it` }
      : { ok: true }
  }
  const holder = using.find((p) => p.status?.phase === 'Running' && p.spec.nodeName) ?? using.find((p) => p.spec.nodeName)
  if (!holder) return { ok: true }
  const tolerations = Array.isArray(holder.spec.tolerations) ? (holder.spec.tolerations as unknown[]) : undefined
  return {
    ok: true,
    placement: { nodeName: holder.spec.nodeName!, ...(tolerations?.length ? { tolerations } : {}), from: `${holder.metadata.namespace}/${holder.metadata.name}` },
  }
}

/** The items of the snapshot that are not regular files (from `restic ls --json`), relative to the PVC root. */
export class NonFiles {
  readonly paths = new Set<string>()
  private rest = ''

  push(chunk: string): void {
    const lines = (this.rest + chunk).split('\n')
    this.rest = lines.pop() ?? ''
    for (const l of lines) this.line(l)
  }

  end(): void {
    this.line(this.rest)
    this.rest = ''
  }

  private line(l: string): void {
    if (!l.startsWith('{') || !l.includes('"node"')) return
    try {
      const n = JSON.parse(l) as { type?: string; path?: string; struct_type?: string }
      if (n.struct_type === 'node' && n.type !== 'file' && typeof n.path === 'string') this.paths.add(relative(n.path))
    } catch {
      // a line cut by a stream that broke: the listing is judged by restic's exit code
    }
  }
}

export interface Bucket {
  count: number
  first: string[]
}

export interface Changes {
  add: Bucket
  replace: Bucket
  delete: Bucket
  unchanged: number
}

const bucket = (): Bucket => ({ count: 0, first: [] })

/** Reads `restic restore --dry-run -vv --json` as it streams, into what would change. */
export class DryRunStream {
  readonly changes: Changes = { add: bucket(), replace: bucket(), delete: bucket(), unchanged: 0 }
  summarySeen = false
  private rest = ''
  private readonly nonFiles: ReadonlySet<string>

  constructor(nonFiles: ReadonlySet<string>) {
    this.nonFiles = nonFiles
  }

  push(chunk: string): void {
    const lines = (this.rest + chunk).split('\n')
    this.rest = lines.pop() ?? ''
    for (const l of lines) this.line(l)
  }

  end(): void {
    this.line(this.rest)
    this.rest = ''
  }

  private line(l: string): void {
    if (!l.startsWith('{')) return
    let m: { message_type?: string; action?: string; item?: string }
    try {
      m = JSON.parse(l)
    } catch {
      return
    }
    if (m.message_type === 'summary') this.summarySeen = true
    if (m.message_type !== 'verbose_status' || typeof m.item !== 'string') return
    const add = (b: Bucket, path: string) => {
      b.count++
      if (b.first.length < SAMPLE) b.first.push(path)
    }
    if (m.action === 'deleted') {
      // restic names deleted items by their path under the target
      const path = m.item.startsWith(`${LIVE_MOUNT}/`) ? m.item.slice(LIVE_MOUNT.length + 1) : relative(m.item)
      add(this.changes.delete, path)
      return
    }
    const path = relative(m.item)
    if (this.nonFiles.has(path)) return
    if (m.action === 'restored') add(this.changes.add, path)
    else if (m.action === 'updated') add(this.changes.replace, path)
    else if (m.action === 'unchanged') this.changes.unchanged++
  }
}

export type Preview =
  | { compared: true; pvc: string; snapshot: string; add: Bucket; replace: Bucket; delete: Bucket; unchanged: number }
  | { compared: false; pvc: string; reason: string }

const list = (b: Bucket) =>
  b.first.length ? `: ${b.first.map(displayName).join(', ')}${b.count > b.first.length ? `, ... (${b.count - b.first.length} more)` : ''}` : ''

export function previewText(p: Preview, snapshot?: ListedSnapshot): string {
  if (!p.compared) {
    return `\nPreview of the changes skipped: ${p.reason}. The dry run goes on without it.`
  }
  const row = (label: string, text: string) => `  ${label.padEnd(10)} ${text}`
  return [
    `\nWhat the restore would change in ${p.pvc} (restic restore --dry-run --delete of ${snapshot?.short_id ?? p.snapshot.slice(0, 8)} ` +
      'against the live PVC, mounted read-only):',
    row('add', `${p.add.count} file(s) not in the PVC${list(p.add)}`),
    row('replace', `${p.replace.count} file(s) that differ${list(p.replace)}`),
    row('delete', `${p.delete.count} path(s) not in the snapshot${list(p.delete)}`),
    row('unchanged', `${p.unchanged} file(s)`),
    '  (the app keeps writing until the restore stops it: the numbers are those of now)',
  ].join('\n')
}
