// Where the VolSync mover runs, and so where our restic pods go: with
// copyMethod Direct (or None) the mover mounts the app's PVC itself, so
// VolSync puts it on the node of a pod that uses the PVC, with that pod's
// tolerations, unless the PVC is ReadWriteMany (VolSync v0.16.0
// internal/controller/utils/affinity.go AffinityFromVolume). Pure;
// placement.io.ts reads the PVC and the pods.
import type { Pod } from '../pods.ts'
import type { MoverSettings, Placement } from './pod.ts'

export interface ClaimAccess {
  spec?: { accessModes?: string[] }
  status?: { accessModes?: string[] }
}

/** Does the mover mount the source PVC itself (and so run next to the app)? */
export const moverMountsSource = (mover: Pick<MoverSettings, 'copyMethod'>) =>
  mover.copyMethod === 'Direct' || mover.copyMethod === 'None'

const VOLSYNC_OWNED = ['app.kubernetes.io/created-by', 'volsync'] as const
const OURS = ['app.kubernetes.io/managed-by', 'volsync-ops'] as const

/** The pods that mount `pvc`, other than VolSync's and ours. */
export function podsUsing(pods: readonly Pod[], pvc: string): Pod[] {
  return pods.filter((p) => {
    const labels = p.metadata.labels ?? {}
    if (labels[VOLSYNC_OWNED[0]] === VOLSYNC_OWNED[1] || labels[OURS[0]] === OURS[1]) return false
    return (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === pvc)
  })
}

/**
 * The node and tolerations of a running pod using the PVC (a pending one if
 * none runs), as VolSync picks them; undefined where the mover has no node
 * selection (RWX, nobody uses the PVC, or a copy method that mounts a copy).
 */
export function moverPlacement(
  mover: Pick<MoverSettings, 'copyMethod'>,
  claim: ClaimAccess | null,
  pods: readonly Pod[],
  pvc: string,
): Placement | undefined {
  if (!moverMountsSource(mover) || claim === null) return undefined
  if ((claim.status?.accessModes ?? []).includes('ReadWriteMany')) return undefined
  const using = podsUsing(pods, pvc)
  const candidate =
    using.find((p) => p.status?.phase === 'Running') ?? using.find((p) => p.status?.phase === 'Pending')
  if (!candidate?.spec.nodeName) return undefined
  const tolerations = Array.isArray(candidate.spec.tolerations) ? (candidate.spec.tolerations as unknown[]) : undefined
  return {
    nodeName: candidate.spec.nodeName,
    ...(tolerations?.length ? { tolerations } : {}),
    from: `${candidate.metadata.namespace}/${candidate.metadata.name}`,
  }
}
