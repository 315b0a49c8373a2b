// Reads what moverPlacement (placement.ts) decides from: the source PVC and
// the pods of its namespace, only for a copy method where it matters. A read
// that fails is not fatal: the pod then goes wherever the scheduler puts it,
// and a note says so.
import { errorText } from '../errors.ts'
import type { Pod } from '../pods.ts'
import type { Context } from '../run.ts'
import type { ReplicationSource } from '../volsync/objects.ts'
import type { MoverSettings, Placement } from './pod.ts'
import { moverMountsSource, moverPlacement, type ClaimAccess } from './placement.ts'

export async function readPlacement(ctx: Context, rs: ReplicationSource, mover: MoverSettings): Promise<Placement | undefined> {
  const pvc = rs.spec.sourcePVC
  const namespace = rs.metadata.namespace!
  if (!pvc || !moverMountsSource(mover)) return undefined
  try {
    const claim = await ctx.kubectl.get<ClaimAccess>('persistentvolumeclaims', pvc, namespace)
    if (claim === null || (claim.status?.accessModes ?? []).includes('ReadWriteMany')) return undefined
    const pods = await ctx.kubectl.list<Pod>('pods', { namespace })
    return moverPlacement(mover, claim, pods, pvc)
  } catch (err) {
    ctx.out.note(
      `note: cannot read where the mover of ${namespace}/${rs.metadata.name} runs (${errorText(err)}); ` +
        'the restic pod goes wherever the scheduler puts it',
    )
    return undefined
  }
}
