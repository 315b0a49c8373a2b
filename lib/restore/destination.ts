// The ReplicationDestination a restore creates, and its name. Pure: built as
// an object and sent as JSON on kubectl's stdin.
import type { KubeObject } from '../kubectl.ts'
import { managedLabels } from '../names.ts'

/** `<app>-restore-<UTC YYYYMMDDHHMMSS>`: at most 40 + 9 + 14 = 63 characters (APP_MAX_LENGTH). */
export function restoreName(app: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  return `${app}-restore-${stamp}`
}

/**
 * Fields of the ReplicationSource's spec.restic a restore takes over as they
 * are, so the mover runs as the backup's did: its uid/gid (file ownership in
 * the PVC), service account and resources, the CA to reach the repository,
 * its cache settings, its pod labels (NetworkPolicies), affinity and extra
 * volumes (issue 8 point 7).
 */
export const INHERITED_RESTIC_FIELDS = [
  'moverSecurityContext',
  'moverServiceAccount',
  'moverResources',
  'customCA',
  'cacheCapacity',
  'cacheStorageClassName',
  'cacheAccessModes',
  'moverPodLabels',
  'moverAffinity',
  'moverVolumes',
] as const

export interface RestoreInput {
  name: string
  namespace: string
  app: string
  /** spec.trigger.manual: the sync runs once, and status.lastManualSync says when it is done */
  token: string
  /** the Secret named by the ReplicationSource */
  repository: string
  /** the ReplicationSource's sourcePVC */
  destinationPVC: string
  previous: number
  restoreAsOf?: string
  /** the ReplicationSource's spec.restic (INHERITED_RESTIC_FIELDS are copied from it) */
  sourceRestic?: Record<string, unknown>
}

/**
 * The ReplicationDestination that restores one snapshot into the existing PVC
 * (copyMethod Direct). enableFileDeletion makes the PVC equal to the snapshot
 * (`restic restore --delete`); cleanupCachePVC drops the restic cache after.
 * Field names: VolSync v0.16.0 api/v1alpha1/replicationdestination_types.go.
 */
export function restoreDestination(input: RestoreInput): KubeObject & {
  spec: { trigger: { manual: string }; restic: Record<string, unknown> }
} {
  const inherited: Record<string, unknown> = {}
  for (const field of INHERITED_RESTIC_FIELDS) {
    const value = input.sourceRestic?.[field]
    if (value !== undefined && value !== null && !isEmptyObject(value)) inherited[field] = value
  }
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationDestination',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: managedLabels('restore', input.app),
    },
    spec: {
      trigger: { manual: input.token },
      restic: {
        repository: input.repository,
        destinationPVC: input.destinationPVC,
        copyMethod: 'Direct',
        previous: input.previous,
        ...(input.restoreAsOf === undefined ? {} : { restoreAsOf: input.restoreAsOf }),
        enableFileDeletion: true,
        cleanupCachePVC: true,
        ...inherited,
      },
    },
  }
}

const isEmptyObject = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0
