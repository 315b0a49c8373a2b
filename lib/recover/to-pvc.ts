// `restore TO_PVC=<name> [TO_NAMESPACE=<ns>]`: a snapshot restored into a
// NEW PVC beside the app, which is not touched. The PVC is made like the
// source PVC (class, access modes, volume mode, at least its size), the
// restore runs through a ReplicationDestination (lib/restore/destination.ts)
// that is deleted afterwards; the PVC stays. Pure: the PVC, the checks, the
// plan, the hints and the report; to-pvc.io.ts acts.
import type { Options } from '../cli.ts'
import { UsageError } from '../errors.ts'
import { kubectlHint, type HintTarget } from '../hints.ts'
import type { KubeObject } from '../kubectl.ts'
import { managedLabels } from '../names.ts'
import { selectionText, snapshotText } from '../restore/plan.ts'
import type { RestoreVerdict } from '../restore/outcome.ts'
import type { ListedSnapshot, RestorePoint } from '../snapshots/restic.ts'

/** The --help paragraph of restore about TO_PVC. */
export const TO_PVC_NOTES: readonly string[] = [
  'TO_PVC=<name> restores into a NEW PVC instead, beside the app: nothing of the app is stopped or changed, no',
  'confirmation is asked. The PVC is created with the storage class, access modes and volume mode of the source',
  "PVC and at least its size (its capacity or request, the larger), in the source's namespace or TO_NAMESPACE;",
  'a ReplicationDestination restores the snapshot into it (as above, with the source\'s mover settings), is',
  'deleted afterwards, and the PVC stays; the output says how to open a shell on it and how to delete it. An',
  'existing PVC of that name is refused. TO_NAMESPACE must hold the repository Secret (and the customCA',
  'Secret/ConfigMap, moverServiceAccount and the Secrets/PVCs of moverVolumes, when the source names them):',
  'checked before any change with',
  '`kubectl get <kind> <name> -o name`; this tool never reads or copies them. A restore that does not finish',
  'deletes the ReplicationDestination, then the new PVC. DRY_RUN shows both objects, validated by the API',
  'server. JSON: {cluster, source, namespace, pvc, size, storageClass, accessModes, snapshot, destination,',
  'dryRun, restored, restoredSnapshot, durationSeconds, ok, message, mount, delete}.',
]

/** TO_PVC's flags, checked with the others before any kubectl call. */
export function checkToPvcFlags(opts: Pick<Options, 'toPvc' | 'toNamespace' | 'keep'>): void {
  if (opts.toNamespace !== undefined && opts.toPvc === undefined) {
    throw new UsageError('TO_NAMESPACE (--to-namespace) needs TO_PVC (--to-pvc): the new PVC to restore into. Nothing was changed.')
  }
  if (opts.toPvc !== undefined && opts.keep) {
    throw new UsageError('KEEP (--keep) applies to an in-place restore; with TO_PVC the new PVC is what stays. Nothing was changed.')
  }
}

/** The parts of a PVC this reads. */
export interface Claim {
  metadata: { name: string; namespace?: string }
  spec?: {
    accessModes?: string[]
    storageClassName?: string | null
    volumeMode?: string
    resources?: { requests?: { storage?: string } }
  }
  status?: { phase?: string; capacity?: { storage?: string } }
}

const SUFFIX: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
}

/** A Kubernetes quantity ("10Gi", "1.5G", "500M") in bytes; undefined when unreadable. */
export function quantityBytes(q: string | undefined): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(q ?? '')
  return m ? Number(m[1]) * SUFFIX[m[2] ?? '']! : undefined
}

/** The size of the copy: the larger of the source's capacity and its request (a copy never gets less room). */
export function copySize(source: Claim): string {
  const capacity = source.status?.capacity?.storage
  const request = source.spec?.resources?.requests?.storage
  const candidates = [capacity, request].filter((q): q is string => quantityBytes(q) !== undefined)
  if (candidates.length === 0) throw new UsageError(`PVC ${source.metadata.name} has no readable size`)
  return candidates.reduce((a, b) => (quantityBytes(b)! > quantityBytes(a)! ? b : a))
}

export interface CopyInput {
  name: string
  namespace: string
  app: string
  /** "business/odoo-backup" */
  source: string
  snapshot: ListedSnapshot
}

/** The new PVC: the source PVC's class, access modes and volume mode, and its size. */
export function copyClaim(source: Claim, input: CopyInput): KubeObject & { spec: Record<string, unknown> } {
  const spec = source.spec ?? {}
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: managedLabels('restore-copy', input.app),
      annotations: {
        'volsync-ops/restored-from': `${input.source} (PVC ${source.metadata.namespace}/${source.metadata.name})`,
        'volsync-ops/snapshot': `${input.snapshot.id} ${input.snapshot.time}`,
      },
    },
    spec: {
      accessModes: spec.accessModes?.length ? spec.accessModes : ['ReadWriteOnce'],
      ...(spec.volumeMode ? { volumeMode: spec.volumeMode } : {}),
      ...(spec.storageClassName ? { storageClassName: spec.storageClassName } : {}),
      resources: { requests: { storage: copySize(source) } },
    },
  }
}

/** A restic mover restores files: a Block source PVC cannot be copied this way. */
export function checkFilesystem(source: Claim): void {
  if (source.spec?.volumeMode === 'Block') {
    throw new UsageError(
      `PVC ${source.metadata.namespace}/${source.metadata.name} is a Block volume: restic restores files into a filesystem. Nothing was changed.`,
    )
  }
}

export interface ToPvcPlan {
  cluster: string
  clusterHow: string
  source: string
  sourceClaim: Claim
  claim: ReturnType<typeof copyClaim>
  point: RestorePoint
  destination: string
  repository: string
  /** objects checked in the target namespace */
  required: string[]
  dryRun: boolean
}

export function toPvcPlanText(plan: ToPvcPlan, now: Date): string {
  const row = (label: string, value: string) => `  ${label.padEnd(13)} ${value}`
  const { claim, sourceClaim } = plan
  const spec = claim.spec as { accessModes: string[]; storageClassName?: string; volumeMode?: string; resources: { requests: { storage: string } } }
  const ns = claim.metadata.namespace!
  return [
    `${plan.dryRun ? 'Dry run: the restore into a new PVC would do this' : 'Restore into a new PVC'} (nothing existing is changed; the app keeps running):`,
    row('cluster', `${plan.cluster} (${plan.clusterHow})`),
    row('source', `${plan.source}, PVC ${sourceClaim.metadata.namespace}/${sourceClaim.metadata.name} (left as it is)`),
    row('snapshot', snapshotText(plan.point.snapshot, now)),
    row('', `full id ${plan.point.snapshot.id}`),
    row('', `selected by ${selectionText(plan.point)}, as the VolSync mover will`),
    row('new PVC', `${ns}/${claim.metadata.name}: ${spec.resources.requests.storage}, ${spec.accessModes.join(',')}` +
      `${spec.volumeMode ? `, ${spec.volumeMode}` : ''}, storage class ${spec.storageClassName ?? '(the default)'}`),
    row('restore with', `ReplicationDestination ${ns}/${plan.destination} (deleted afterwards; the PVC stays)`),
    row('repository', `Secret ${ns}/${plan.repository}`),
    ...(plan.required.length > 1 ? [row('also needed', plan.required.slice(1).join(', ') + ` (in ${ns}: present)`)] : []),
  ].join('\n')
}

/** The error when the target namespace lacks what the mover needs; nothing is copied there by this tool. */
export function missingText(namespace: string, missing: readonly string[], source: string): string {
  return (
    `namespace ${namespace} lacks what the restore mover needs: ${missing.join(', ')}. ` +
    `Create ${missing.length > 1 ? 'them' : 'it'} there (the same as in the namespace of ${source}; ` +
    'this tool never reads nor copies credentials), then run the restore again. Nothing was changed.'
  )
}

/**
 * A shell in a throwaway pod with the new PVC at /data (deleted when the
 * shell exits), in the restic image the tool already uses (it has sh).
 */
export function mountHint(target: HintTarget, namespace: string, pvc: string, image: string): string {
  const name = `${pvc}-shell`.slice(0, 63).replace(/-+$/, '')
  const overrides = {
    apiVersion: 'v1',
    spec: {
      containers: [
        {
          name,
          image,
          command: ['sh'],
          stdin: true,
          tty: true,
          workingDir: '/data',
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: pvc } }],
    },
  }
  return kubectlHint(target.kubectl, [
    'run', name, '-n', namespace, '--rm', '-it', '--restart=Never', `--image=${image}`, `--overrides=${JSON.stringify(overrides)}`,
  ])
}

export const deleteHint = (target: HintTarget, namespace: string, pvc: string) =>
  kubectlHint(target.kubectl, ['delete', 'pvc', pvc, '-n', namespace])

export interface ToPvcReport {
  cluster: string
  source: string
  namespace: string
  pvc: string
  size: string
  storageClass: string | null
  accessModes: string[]
  snapshot: { id: string; shortId: string; time: string }
  destination: string
  dryRun: boolean
  restored: boolean
  restoredSnapshot: string | null
  durationSeconds: number | null
  ok: boolean
  message: string
  /** the commands to look into the PVC and to delete it (when it was made) */
  mount: string | null
  delete: string | null
}

export function toPvcReport(
  plan: ToPvcPlan,
  end:
    | { kind: 'dry-run' }
    | { kind: 'done'; verdict: RestoreVerdict; restoredSnapshot?: string; durationMs?: number | null; mount: string; delete: string }
    | { kind: 'stopped'; message: string },
): ToPvcReport {
  const spec = plan.claim.spec as { accessModes: string[]; storageClassName?: string; resources: { requests: { storage: string } } }
  const s = plan.point.snapshot
  const base = {
    cluster: plan.cluster,
    source: plan.source,
    namespace: plan.claim.metadata.namespace!,
    pvc: plan.claim.metadata.name,
    size: spec.resources.requests.storage,
    storageClass: spec.storageClassName ?? null,
    accessModes: spec.accessModes,
    snapshot: { id: s.id, shortId: s.short_id, time: s.time },
    destination: plan.destination,
    dryRun: plan.dryRun,
  }
  const none = { restored: false, restoredSnapshot: null, durationSeconds: null, mount: null, delete: null }
  if (end.kind === 'dry-run') return { ...base, ...none, ok: true, message: 'dry run: nothing was changed' }
  if (end.kind === 'stopped') return { ...base, ...none, ok: false, message: end.message }
  return {
    ...base,
    restored: end.verdict.ok,
    restoredSnapshot: end.restoredSnapshot ?? null,
    durationSeconds: end.durationMs == null ? null : Math.round(end.durationMs / 1000),
    ok: end.verdict.ok,
    message: end.verdict.message,
    mount: end.verdict.ok ? end.mount : null,
    delete: end.verdict.ok ? end.delete : null,
  }
}
