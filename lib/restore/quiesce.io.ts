// Stopping an app so its PVC can be written, and starting it again: thin
// fetchers and actions around the pure decisions in workloads.ts and flux.ts.
// Each action pushes its idempotent undo before it acts, through the restore
// it is part of (restore.io.ts), which decides what is undone when it ends.
import type { UndoStep } from '../cleanup.ts'
import { OperationError } from '../errors.ts'
import { KubectlError, type Kubectl } from '../kubectl.ts'
import type { Pod } from '../pods.ts'
import type { Context } from '../run.ts'
import { RS, ref as objectRef, type ReplicationSource } from '../volsync/objects.ts'
import { waitFor } from '../wait.ts'
import {
  FLUX_RESOURCE,
  distinctFluxOwners,
  fluxRefText,
  resumePatch,
  suspendDecision,
  suspendPatch,
  type FluxObject,
  type FluxRef,
  type SuspendDecision,
} from './flux.ts'
import { pausePatch, unpausePatch } from './quiesce.ts'
import type { Layer } from './stages.ts'
import {
  WORKLOAD_RESOURCE,
  claimReleasedCheck,
  findClaimUsers,
  scaleBackDecision,
  workloadRef,
  type AppsObject,
  type ClaimUsers,
  type PodStreamItem,
  type Workload,
} from './workloads.ts'

/** The Deployments/StatefulSets that use the claim, from two reads of the namespace. */
export async function readClaimUsers(kubectl: Kubectl, namespace: string, claim: string): Promise<ClaimUsers> {
  const [pods, apps] = await Promise.all([
    kubectl.list<Pod>('pods', { namespace }),
    kubectl.list<AppsObject>('deployments.apps,statefulsets.apps,replicasets.apps', { namespace }),
  ])
  return findClaimUsers(claim, pods, apps)
}

/** For each Flux object that manages one of the workloads: suspend it, or leave it (and why). */
export async function readFluxDecisions(kubectl: Kubectl, workloads: readonly Workload[]): Promise<SuspendDecision[]> {
  const refs = distinctFluxOwners(workloads.map((w) => w.labels))
  return Promise.all(refs.map(async (ref) => suspendDecision(ref, await readFluxObject(kubectl, ref))))
}

async function readFluxObject(kubectl: Kubectl, ref: FluxRef): Promise<FluxObject | null | 'not-installed'> {
  try {
    return await kubectl.get<FluxObject>(FLUX_RESOURCE[ref.kind], ref.name, ref.namespace)
  } catch (err) {
    if (err instanceof KubectlError && err.failure === 'no-resource-type') return 'not-installed'
    throw err
  }
}

/** What a quiesce step needs from the restore it is part of (lib/restore/restore.io.ts). */
export interface RestoreHooks {
  /**
   * Why the undos must not start the app yet, or undefined: while the restore
   * mover may still be writing into the PVC (its ReplicationDestination could
   * not be deleted), starting the app, or letting Flux start it, would put it
   * on a PVC being overwritten.
   */
  blocked(): string | undefined
  /** registers the undo of a step, under what it puts back, before the step acts; returns what drops it */
  pushUndo(layer: Layer, step: UndoStep): () => void
}

function checkGate(hooks: RestoreHooks): void {
  const why = hooks.blocked()
  if (why) throw new OperationError(`held back: ${why}`)
}

/** Suspends a Flux object; its undo resumes it, only while it is still suspended. */
export async function suspendFlux(ctx: Context, decision: SuspendDecision & { action: 'suspend' }, hooks: RestoreHooks): Promise<void> {
  const { kubectl } = ctx
  const { ref } = decision
  const resource = FLUX_RESOURCE[ref.kind]
  ctx.checkpoint()
  hooks.pushUndo('flux', {
    what: `resume ${fluxRefText(ref)}`,
    undo: async () => {
      checkGate(hooks)
      try {
        await kubectl.patch(resource, ref.name, ref.namespace, 'json', resumePatch(decision.suspendWasSet))
      } catch (err) {
        // A failed `test` op comes back as a bare 422 ("the server rejected our
        // request due to an error in our request"): look before reporting. Not
        // suspended any more (never was, or someone resumed it): nothing to do.
        const now = await readFluxObject(kubectl, ref)
        if (now === null || now === 'not-installed' || now.spec?.suspend !== true) return
        throw err
      }
    },
    manual: [
      kubectl.commandLine(['patch', resource, ref.name, '-n', ref.namespace, '--type', 'merge', '-p', '{"spec":{"suspend":false}}']),
    ],
  })
  ctx.out.note(`suspending ${fluxRefText(ref)}`)
  await kubectl.patch(resource, ref.name, ref.namespace, 'merge', suspendPatch)
}

/**
 * Pauses the app's ReplicationSource for the restore, so that no scheduled
 * backup snapshots a half-restored volume; its undo unpauses it, only while
 * it is still paused. A source paused already is left paused.
 */
export async function pauseSource(ctx: Context, rs: ReplicationSource, hooks: RestoreHooks): Promise<void> {
  const { kubectl, out } = ctx
  const { name } = rs.metadata
  const namespace = rs.metadata.namespace!
  if (rs.spec.paused === true) {
    out.note(`ReplicationSource ${objectRef(rs)} is paused already: left paused`)
    return
  }
  ctx.checkpoint()
  hooks.pushUndo('source', {
    what: `unpause ReplicationSource ${objectRef(rs)}`,
    undo: async () => {
      checkGate(hooks)
      try {
        await kubectl.patch(RS, name, namespace, 'json', unpausePatch(rs.spec.paused === false))
      } catch (err) {
        // a failed `test` op is a bare 422: look before reporting
        const now = await kubectl.get<ReplicationSource>(RS, name, namespace)
        if (now === null || now.spec.paused !== true) return
        throw err
      }
    },
    manual: [kubectl.commandLine(['patch', RS, name, '-n', namespace, '--type', 'merge', '-p', '{"spec":{"paused":false}}'])],
  })
  out.note(`pausing ReplicationSource ${objectRef(rs)} (no scheduled backup during the restore)`)
  await kubectl.patch(RS, name, namespace, 'merge', pausePatch)
}

/** Scales a workload to 0, only from the recorded count; its undo scales it back to that count. */
export async function stopWorkload(ctx: Context, w: Workload, hooks: RestoreHooks): Promise<void> {
  const { kubectl, out } = ctx
  const resource = WORKLOAD_RESOURCE[w.kind]
  ctx.checkpoint()
  const drop = hooks.pushUndo('workloads', {
    what: `scale ${workloadRef(w)} back to ${w.replicas}`,
    undo: () => scaleBack(kubectl, w, hooks, (line) => out.note(line)),
    manual: [kubectl.commandLine(['scale', resource, w.name, '-n', w.namespace, `--replicas=${w.replicas}`])],
  })
  out.note(`scaling ${workloadRef(w)} from ${w.replicas} to 0`)
  try {
    await kubectl.scale(resource, w.name, w.namespace, 0, w.replicas)
  } catch (err) {
    // the precondition failed when it has another count now: then nothing was scaled
    const now = await kubectl.get<AppsObject>(resource, w.name, w.namespace).catch(() => undefined)
    const current = now === undefined ? undefined : now === null ? null : (now.spec?.replicas ?? 1)
    if (current === undefined || current === 0) throw err
    drop()
    throw new OperationError(
      current === null
        ? `${workloadRef(w)} was deleted after the plan was made; it was not scaled. Run the restore again.`
        : `${workloadRef(w)} has ${current} replicas now, not ${w.replicas} as in the plan (an autoscaler, or ` +
            `someone else, changed it): it was not scaled. Run the restore again.`,
    )
  }
}

async function scaleBack(kubectl: Kubectl, w: Workload, hooks: RestoreHooks, note: (line: string) => void): Promise<void> {
  checkGate(hooks)
  const resource = WORKLOAD_RESOURCE[w.kind]
  try {
    await kubectl.scale(resource, w.name, w.namespace, w.replicas, 0)
    return
  } catch (err) {
    // not at 0: find out why before deciding (never override somebody else's change)
    const now = await kubectl.get<AppsObject>(resource, w.name, w.namespace)
    const current = now === null ? null : (now.spec?.replicas ?? 1)
    switch (scaleBackDecision(w.replicas, current)) {
      case 'already':
        return
      case 'gone':
        note(`${workloadRef(w)} no longer exists: nothing to scale back`)
        return
      case 'changed':
        throw new OperationError(
          `${workloadRef(w)} has ${current} replicas now, not 0: someone changed it during the restore; left as it is ` +
            `(it had ${w.replicas})`,
        )
      case 'scale':
        throw err
    }
  }
}

/**
 * Waits until no active pod mounts the claim: list the namespace's pods, then
 * watch from that list's resourceVersion (no gap, no guessing where the
 * initial list ends); a watch the server ends is reopened with a new list.
 */
export async function waitForClaimReleased(ctx: Context, namespace: string, claim: string): Promise<void> {
  const { kubectl } = ctx
  const path = `/api/v1/namespaces/${namespace}/pods`
  await waitFor({
    what: `the pods using ${namespace}/${claim} to stop`,
    watch: (signal) => listThenWatch(kubectl, path, signal),
    check: claimReleasedCheck(claim),
    timeoutMs: ctx.opts.timeoutMs,
    signal: ctx.signal,
    progress: ctx.out.progress(`waiting for ${claim} to be released`),
  })
}

/** A list as the API server sends it (kubectl get -o json blanks a list's resourceVersion). */
interface RawList<T> {
  metadata: { resourceVersion: string }
  items: T[]
}

async function* listThenWatch(kubectl: Kubectl, path: string, signal: AbortSignal): AsyncGenerator<PodStreamItem> {
  const list = await kubectl.getRaw<RawList<Pod>>(path)
  yield { type: 'SYNC', pods: list.items }
  const rv = encodeURIComponent(list.metadata.resourceVersion)
  for await (const event of kubectl.watchRaw<Pod>(`${path}?watch=1&resourceVersion=${rv}`, signal)) {
    // an ERROR event (e.g. 410 Gone: the resourceVersion is too old) ends this
    // watch; waitFor opens a new one, which lists again
    if (event.type === 'ERROR') return
    yield event
  }
}
