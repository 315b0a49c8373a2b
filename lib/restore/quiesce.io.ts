// Stopping everything that could write to the PVC or start the app, and
// putting it back: thin fetchers and actions around the pure decisions in
// workloads.ts, flux.ts, writers.ts and backups.ts.
// - Each action pushes its put-back step (an UndoStep) BEFORE it acts,
//   through the restore it is part of (restore.io.ts), which decides what is
//   put back when it ends (stages.ts).
// - The put-back steps are built here from what the record on the source
//   holds (marker.ts HoldRecord), so `volsync:resume` runs the very same
//   steps from another machine.
// - Every put-back is guarded: it changes a field only while it still holds
//   what the restore set. When the guard refuses (kube-apiserver answers a
//   failed JSON-patch `test` op with a bare HTTP 422 "Invalid", without
//   saying which op failed), the object is read again: someone else changed
//   the field first, so it is LEFT ALONE and the step says so; only a
//   failure the object does not explain is an error.
import type { UndoStep } from '../cleanup.ts'
import { OperationError } from '../errors.ts'
import { KubectlError, type Kubectl, type KubeObject } from '../kubectl.ts'
import type { Pod } from '../pods.ts'
import type { Context } from '../run.ts'
import { RD, RS, type ReplicationSource } from '../volsync/objects.ts'
import { waitFor, type Verdict } from '../wait.ts'
import { COPY_TRIGGER_VALUE, USE_COPY_TRIGGER, holdCopyPatch, releaseCopyPatch } from './backups.ts'
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
import type { HoldRecord } from './marker.ts'
import { isMoverPod, moverJobName } from './progress.ts'
import { pausePatch, unpausePatch } from './quiesce.ts'
import type { Layer } from './stages.ts'
import {
  WORKLOAD_RESOURCE,
  claimReleasedCheck,
  findClaimUsers,
  isActive,
  scaleBackDecision,
  workloadRef,
  type AppsObject,
  type ClaimUsers,
  type PodStreamItem,
  type WorkloadKind,
} from './workloads.ts'
import {
  CRONJOBS,
  KEDA_PAUSED,
  SCALED_OBJECTS,
  pauseScaledObjectPatch,
  resumeCronJobPatch,
  suspendCronJobPatch,
  unpauseScaledObjectPatch,
  type CronJob,
  type ScaledObject,
} from './writers.ts'

// ---------------------------------------------------------------- reading

/** The namespace's pods and apps objects, and who of them uses the claim. */
export async function readClaimUsers(
  kubectl: Kubectl,
  namespace: string,
  claim: string,
): Promise<ClaimUsers & { apps: AppsObject[] }> {
  const [pods, apps] = await Promise.all([
    kubectl.list<Pod>('pods', { namespace }),
    kubectl.list<AppsObject>('deployments.apps,statefulsets.apps,replicasets.apps', { namespace }),
  ])
  return { ...findClaimUsers(claim, pods, apps), apps }
}

/** A list of an optional resource type (KEDA, Flux): empty when the cluster does not have it. */
export async function listOptional<T>(kubectl: Kubectl, resource: string, namespace: string): Promise<T[]> {
  try {
    return await kubectl.list<T>(resource, { namespace })
  } catch (err) {
    if (err instanceof KubectlError && err.failure === 'no-resource-type') return []
    throw err
  }
}

export const readCronJobs = (kubectl: Kubectl, namespace: string) => kubectl.list<CronJob>(CRONJOBS, { namespace })
export const readScaledObjects = (kubectl: Kubectl, namespace: string) =>
  listOptional<ScaledObject>(kubectl, SCALED_OBJECTS, namespace)

/** For each Flux object that manages one of the workloads: suspend it, or leave it (and why). */
export async function readFluxDecisions(kubectl: Kubectl, labelSets: readonly Record<string, string>[]): Promise<SuspendDecision[]> {
  const refs = distinctFluxOwners(labelSets)
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

// ---------------------------------------------------------------- guarded patches

/**
 * A guarded JSON patch: applied, or refused because the object no longer
 * holds what the guard tests. `explain` reads the object again and says why
 * it is left alone, or undefined when it still holds our value (then the
 * refusal is a real failure, reported with kubectl's own error).
 */
async function guarded(
  kubectl: Kubectl,
  resource: string,
  name: string,
  namespace: string,
  patch: unknown[],
  explain: () => Promise<string | undefined>,
): Promise<string | void> {
  try {
    await kubectl.patch(resource, name, namespace, 'json', patch)
  } catch (err) {
    const why = await explain().catch(() => undefined)
    if (why) return `left alone: ${why}`
    throw err
  }
}

const gone = 'it no longer exists'

// ---------------------------------------------------------------- put-back steps (restore's undo, and resume)

/** Unpauses the source, only while it is paused: back to spec.paused as it was (absent, or false). */
export function unpauseStep(ctx: Context, source: { name: string; namespace: string }, pausedBefore: false | null): UndoStep {
  const { kubectl } = ctx
  const { name, namespace } = source
  return {
    what: `unpause ReplicationSource ${namespace}/${name} (backups run again)`,
    undo: () =>
      guarded(kubectl, RS, name, namespace, unpausePatch(pausedBefore === false), async () => {
        const now = await kubectl.get<ReplicationSource>(RS, name, namespace)
        if (now === null) return gone
        if (now.spec.paused !== true) return 'it is not paused any more (someone unpaused it)'
        return undefined
      }),
    manual: [kubectl.commandLine(['patch', RS, name, '-n', namespace, '--type', 'merge', '-p', '{"spec":{"paused":false}}'])],
  }
}

/** Removes the copy trigger the restore set on the PVC (and VolSync's status annotations it caused). */
export function releaseCopiesStep(ctx: Context, namespace: string, pvc: string, keys: readonly string[]): UndoStep {
  const { kubectl } = ctx
  const ours = async (): Promise<KubeObject | string> => {
    const now = await kubectl.get<KubeObject>('persistentvolumeclaims', pvc, namespace)
    if (now === null) return gone
    if (now.metadata.annotations?.[USE_COPY_TRIGGER] !== COPY_TRIGGER_VALUE) {
      return `its ${USE_COPY_TRIGGER} annotation is not the restore's any more (someone changed it)`
    }
    return now
  }
  return {
    what: `let VolSync copy PVC ${namespace}/${pvc} again (remove the copy trigger the restore set)`,
    undo: async () => {
      const now = await ours()
      if (typeof now === 'string') return `left alone: ${now}`
      return guarded(kubectl, 'persistentvolumeclaims', pvc, namespace, releaseCopyPatch(keys, now.metadata.annotations), async () => {
        const again = await ours()
        return typeof again === 'string' ? again : undefined
      })
    },
    manual: [kubectl.commandLine(['annotate', 'persistentvolumeclaims', pvc, '-n', namespace, ...keys.map((k) => `${k}-`)])],
  }
}

/** Resumes a Flux object, only while it is suspended. */
export function resumeFluxStep(ctx: Context, ref: FluxRef, suspendWasSet: boolean): UndoStep {
  const { kubectl } = ctx
  const resource = FLUX_RESOURCE[ref.kind]
  return {
    what: `resume ${fluxRefText(ref)}`,
    undo: () =>
      guarded(kubectl, resource, ref.name, ref.namespace, resumePatch(suspendWasSet), async () => {
        const now = await readFluxObject(kubectl, ref)
        if (now === null || now === 'not-installed') return gone
        if (now.spec?.suspend !== true) return 'it is not suspended any more (someone resumed it)'
        return undefined
      }),
    manual: [
      kubectl.commandLine(['patch', resource, ref.name, '-n', ref.namespace, '--type', 'merge', '-p', '{"spec":{"suspend":false}}']),
    ],
  }
}

/** Resumes a CronJob, only while it is suspended. */
export function resumeCronJobStep(ctx: Context, namespace: string, name: string, suspendWasSet: boolean): UndoStep {
  const { kubectl } = ctx
  return {
    what: `resume cronjob ${namespace}/${name}`,
    undo: () =>
      guarded(kubectl, CRONJOBS, name, namespace, resumeCronJobPatch(suspendWasSet), async () => {
        const now = await kubectl.get<CronJob>(CRONJOBS, name, namespace)
        if (now === null) return gone
        if (now.spec?.suspend !== true) return 'it is not suspended any more (someone resumed it)'
        return undefined
      }),
    manual: [kubectl.commandLine(['patch', CRONJOBS, name, '-n', namespace, '--type', 'merge', '-p', '{"spec":{"suspend":false}}'])],
  }
}

/** Lets KEDA scale the workload again: puts the pause annotation back as found (`pausedWas`), only while it is still ours. */
export function unpauseScaledObjectStep(ctx: Context, namespace: string, name: string, pausedWas?: string): UndoStep {
  const { kubectl } = ctx
  return {
    what: `unpause scaledobject ${namespace}/${name} (KEDA)`,
    undo: () =>
      guarded(kubectl, SCALED_OBJECTS, name, namespace, unpauseScaledObjectPatch(pausedWas), async () => {
        const now = await listOptional<ScaledObject>(kubectl, SCALED_OBJECTS, namespace).then(
          (all) => all.find((s) => s.metadata.name === name) ?? null,
        )
        if (now === null) return gone
        if (now.metadata.annotations?.[KEDA_PAUSED] !== 'true') return 'it is not paused any more (someone unpaused it)'
        return undefined
      }),
    manual: [
      kubectl.commandLine(
        pausedWas === undefined
          ? ['annotate', SCALED_OBJECTS, name, '-n', namespace, `${KEDA_PAUSED}-`]
          : ['annotate', '--overwrite', SCALED_OBJECTS, name, '-n', namespace, `${KEDA_PAUSED}=${pausedWas}`],
      ),
    ],
  }
}

export interface WorkloadRef {
  kind: WorkloadKind
  name: string
  namespace: string
}

/** Scales a workload back from 0 to `replicas`, only while it is at 0: never over somebody else's count. */
export function scaleBackStep(ctx: Context, w: WorkloadRef, replicas: number): UndoStep {
  const { kubectl } = ctx
  const resource = WORKLOAD_RESOURCE[w.kind]
  return {
    what: `scale ${workloadRef(w)} back to ${replicas}`,
    undo: async () => {
      try {
        await kubectl.scale(resource, w.name, w.namespace, replicas, 0)
        return
      } catch (err) {
        // not at 0: find out why before deciding (never override somebody else's change)
        const now = await kubectl.get<AppsObject>(resource, w.name, w.namespace)
        const current = now === null ? null : (now.spec?.replicas ?? 1)
        switch (scaleBackDecision(replicas, current)) {
          case 'already':
            return `already at ${replicas}`
          case 'gone':
            return `left alone: ${gone}`
          case 'changed':
            return `left alone: it has ${current} replicas now, not 0 (someone changed it during the restore; it had ${replicas})`
          case 'scale':
            throw err
        }
      }
    },
    manual: [kubectl.commandLine(['scale', resource, w.name, '-n', w.namespace, `--replicas=${replicas}`])],
  }
}

/** The put-back steps of a record, in the order they run (the reverse of the restore's actions). */
export function putBackSteps(ctx: Context, source: { name: string; namespace: string }, pvc: string, hold: HoldRecord): UndoStep[] {
  const ns = source.namespace
  return [
    ...hold.workloads.filter((w) => w.replicas > 0).map((w) => scaleBackStep(ctx, { ...w, namespace: ns }, w.replicas)),
    ...hold.scaledObjects.map((s) => unpauseScaledObjectStep(ctx, ns, s.name, s.pausedWas)),
    ...hold.cronJobs.map((c) => resumeCronJobStep(ctx, ns, c.name, c.suspendWasSet)),
    ...hold.flux.map((f) => resumeFluxStep(ctx, f, f.suspendWasSet)),
    ...(hold.copyTrigger.length ? [releaseCopiesStep(ctx, ns, pvc, hold.copyTrigger)] : []),
    ...(hold.paused === true ? [] : [unpauseStep(ctx, source, hold.paused)]),
  ]
}

// ---------------------------------------------------------------- actions (restore)

/** Registers a put-back step under the layer it restores; returns what drops it. */
export type PushUndo = (layer: Layer, step: UndoStep) => () => void

/**
 * Holds the backups: pauses the source (a sync that starts while paused gets
 * no mover pod) unless it was paused before; returns the source as the patch
 * left it (its status says whether a sync started meanwhile).
 */
export async function pauseSource(
  ctx: Context,
  rs: ReplicationSource,
  pausedBefore: boolean | null,
  push: PushUndo,
): Promise<ReplicationSource> {
  const { kubectl, out } = ctx
  const source = { name: rs.metadata.name, namespace: rs.metadata.namespace! }
  if (pausedBefore === true) {
    out.note(`ReplicationSource ${source.namespace}/${source.name} is paused already: left paused`)
    return rs
  }
  ctx.checkpoint()
  push('backups', unpauseStep(ctx, source, pausedBefore))
  if (rs.spec.paused === true) return rs // held so by the restore this one takes over
  out.note(`pausing ReplicationSource ${source.namespace}/${source.name} (no backup during the restore)`)
  return kubectl.patch<ReplicationSource>(RS, source.name, source.namespace, 'merge', pausePatch)
}

/** Holds copies of the PVC (copyMethod Snapshot/Clone): VolSync makes none while the copy trigger waits. */
export async function holdCopies(
  ctx: Context,
  namespace: string,
  pvc: string,
  keys: readonly string[],
  annotationsNow: Record<string, string> | undefined,
  push: PushUndo,
): Promise<void> {
  if (keys.length === 0) return
  ctx.checkpoint()
  push('backups', releaseCopiesStep(ctx, namespace, pvc, keys))
  if (annotationsNow?.[USE_COPY_TRIGGER] === COPY_TRIGGER_VALUE) return
  ctx.out.note(`holding VolSync's copies of PVC ${namespace}/${pvc} (annotation ${USE_COPY_TRIGGER})`)
  await ctx.kubectl.patch('persistentvolumeclaims', pvc, namespace, 'merge', holdCopyPatch)
}

/** Suspends a Flux object (unless it is suspended already: a held app); its undo resumes it. */
export async function suspendFlux(ctx: Context, ref: FluxRef, suspendWasSet: boolean, suspendedNow: boolean, push: PushUndo): Promise<void> {
  ctx.checkpoint()
  push('flux', resumeFluxStep(ctx, ref, suspendWasSet))
  if (suspendedNow) return
  ctx.out.note(`suspending ${fluxRefText(ref)}`)
  await ctx.kubectl.patch(FLUX_RESOURCE[ref.kind], ref.name, ref.namespace, 'merge', suspendPatch)
}

export async function suspendCronJob(
  ctx: Context,
  namespace: string,
  name: string,
  suspendWasSet: boolean,
  suspendedNow: boolean,
  push: PushUndo,
): Promise<void> {
  ctx.checkpoint()
  push('cronjobs', resumeCronJobStep(ctx, namespace, name, suspendWasSet))
  if (suspendedNow) return
  ctx.out.note(`suspending cronjob ${namespace}/${name}`)
  await ctx.kubectl.patch(CRONJOBS, name, namespace, 'merge', suspendCronJobPatch)
}

export async function pauseScaledObject(
  ctx: Context,
  namespace: string,
  name: string,
  pausedNow: boolean,
  pausedWas: string | undefined,
  push: PushUndo,
): Promise<void> {
  ctx.checkpoint()
  push('keda', unpauseScaledObjectStep(ctx, namespace, name, pausedWas))
  if (pausedNow) return
  ctx.out.note(`pausing scaledobject ${namespace}/${name} (KEDA)`)
  await ctx.kubectl.patch(SCALED_OBJECTS, name, namespace, 'merge', pauseScaledObjectPatch)
}

/**
 * Scales a workload from its count now (`now`) to 0, only from that count;
 * its undo scales it back to the count before the restore (`before`: the
 * record's, which for a held app is not the count now).
 */
export async function stopWorkload(ctx: Context, w: WorkloadRef, now: number, before: number, push: PushUndo): Promise<void> {
  const { kubectl, out } = ctx
  const resource = WORKLOAD_RESOURCE[w.kind]
  ctx.checkpoint()
  const drop = before > 0 ? push('workloads', scaleBackStep(ctx, w, before)) : () => {}
  if (now === 0) return
  out.note(`scaling ${workloadRef(w)} from ${now} to 0`)
  try {
    await kubectl.scale(resource, w.name, w.namespace, 0, now)
  } catch (err) {
    // a refused precondition leaves another count; any other failure leaves it as it was
    const found = await kubectl.get<AppsObject>(resource, w.name, w.namespace).catch(() => undefined)
    const current = found === undefined ? undefined : found === null ? null : (found.spec?.replicas ?? 1)
    if (current === undefined || current === now) throw err // kubectl's own error (forbidden, unreachable...)
    if (current === 0) return // someone else scaled it down: as wanted
    drop()
    throw new OperationError(
      current === null
        ? `${workloadRef(w)} was deleted after the plan was made; it was not scaled. Run the restore again.`
        : `${workloadRef(w)} has ${current} replicas now, not ${now} as in the plan (an autoscaler, or ` +
            `someone else, changed it): it was not scaled. Run the restore again.`,
    )
  }
}

// ---------------------------------------------------------------- waiting on pods

/** A list as the API server sends it (kubectl get -o json blanks a list's resourceVersion). */
interface RawList<T> {
  metadata: { resourceVersion: string }
  items: T[]
}

/** The list of a collection (a raw API path, perhaps with a selector query), then a watch of it from that list. */
export type ListedThenWatched<T> = { type: 'SYNC'; items: T[] } | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }

export async function* listThenWatch<T>(kubectl: Kubectl, path: string, signal: AbortSignal): AsyncGenerator<ListedThenWatched<T>> {
  const list = await kubectl.getRaw<RawList<T>>(path)
  if (signal.aborted) return
  yield { type: 'SYNC', items: list.items }
  const rv = encodeURIComponent(list.metadata.resourceVersion)
  for await (const event of kubectl.watchRaw<T>(`${path}${path.includes('?') ? '&' : '?'}watch=1&resourceVersion=${rv}`, signal)) {
    // an ERROR event (e.g. 410 Gone: the resourceVersion is too old) ends this
    // watch; waitFor opens a new one, which lists again
    if (event.type === 'ERROR') return
    yield event as ListedThenWatched<T>
  }
}

/** The namespace's pods, listed then watched, as PodStreamItems. */
export async function* podStream(kubectl: Kubectl, namespace: string, signal: AbortSignal, selector?: string): AsyncGenerator<PodStreamItem> {
  const path = `/api/v1/namespaces/${namespace}/pods${selector ? `?labelSelector=${encodeURIComponent(selector)}` : ''}`
  for await (const item of listThenWatch<Pod>(kubectl, path, signal)) {
    yield item.type === 'SYNC' ? { type: 'SYNC', pods: item.items } : item
  }
}

/**
 * Waits until no active pod mounts the claim: list the namespace's pods, then
 * watch from that list's resourceVersion (no gap, no guessing where the
 * initial list ends); a watch the server ends is reopened with a new list.
 */
export async function waitForClaimReleased(ctx: Context, namespace: string, claim: string): Promise<void> {
  await waitFor({
    what: `the pods using ${namespace}/${claim} to stop`,
    watch: (signal) => podStream(ctx.kubectl, namespace, signal),
    check: claimReleasedCheck(claim),
    timeoutMs: ctx.opts.timeoutMs,
    signal: ctx.signal,
    progress: ctx.out.progress(`waiting for ${claim} to be released`),
  })
}

// ---------------------------------------------------------------- stopping a ReplicationDestination

/** How long the clean-up waits for VolSync to stop the mover, and for its pods to go. */
const PAUSE_SEEN_MS = 30_000
const PODS_GONE_MS = 5 * 60_000

interface JobObject extends KubeObject {
  spec?: { parallelism?: number }
}

/**
 * Stops a ReplicationDestination's mover and removes it, without hanging:
 * VolSync v0.16 keeps reconciling a ReplicationDestination that is being
 * deleted in the foreground (its controller ignores deletionTimestamp) and
 * re-creates the mover Job each time the garbage collector removes it. So:
 * pause it (VolSync gives its Job parallelism 0, and the Job controller
 * deletes the running pod), wait (briefly) until VolSync shows it did, delete
 * it in the background (gone at once: VolSync then finds nothing to
 * reconcile), and wait until neither its mover Job nor a pod of it is left.
 * Runs in clean-ups too: its waits use their own signal (Ctrl-C has fired).
 */
export function stopDestinationStep(ctx: Context, namespace: string, name: string): UndoStep {
  const { kubectl } = ctx
  const job = moverJobName(name)
  return {
    what: `stop and delete ReplicationDestination ${namespace}/${name}`,
    undo: async () => {
      const signal = new AbortController().signal
      const pausedOrGone = await kubectl
        .patch(RD, name, namespace, 'merge', { spec: { paused: true } })
        .then(() => true)
        .catch((err) => {
          if (err instanceof KubectlError && err.failure === 'not-found') return false
          throw err
        })
      const jobs = `/apis/batch/v1/namespaces/${namespace}/jobs?fieldSelector=${encodeURIComponent(`metadata.name=${job}`)}`
      if (pausedOrGone) {
        // VolSync set parallelism 0 (or has no Job yet); when it does not within the bound, go on anyway
        await waitFor({
          what: `VolSync to pause the mover of ${namespace}/${name}`,
          watch: (s) => listThenWatch<JobObject>(kubectl, jobs, s),
          check: jobState((j) => j.length === 0 || j.every((x) => x.spec?.parallelism === 0)),
          timeoutMs: PAUSE_SEEN_MS,
          signal,
        }).catch(() => undefined)
      }
      await kubectl.delete(RD, name, namespace, { cascade: 'background' })
      // the Job first (the garbage collector removes it): once it is gone nothing makes a new pod
      const progress = ctx.out.progress(`waiting for the mover of ${name} to stop`)
      await waitFor({
        what: `the mover Job ${namespace}/${job} to be gone`,
        watch: (s) => listThenWatch<JobObject>(kubectl, jobs, s),
        check: jobState((j) => j.length === 0),
        timeoutMs: PODS_GONE_MS,
        signal,
        progress,
      })
      await waitFor({
        what: `the pods of the mover Job ${namespace}/${job} to be gone`,
        watch: (s) => podStream(kubectl, namespace, s, `job-name=${job}`),
        check: moverPodsGoneCheck(job),
        timeoutMs: PODS_GONE_MS,
        signal,
        progress,
      })
    },
    manual: [
      kubectl.commandLine(['patch', RD, name, '-n', namespace, '--type', 'merge', '-p', '{"spec":{"paused":true}}']),
      kubectl.commandLine(['delete', RD, name, '-n', namespace, '--ignore-not-found', '--cascade=background']),
      kubectl.commandLine(['get', 'jobs.batch,pods', '-n', namespace, '-l', `job-name=${job}`]) + '   # wait until none is left',
    ],
  }
}

/** Does the Job list (from its SYNC and events) satisfy `done`? */
export function jobState(done: (jobs: JobObject[]) => boolean): (item: ListedThenWatched<JobObject>) => Verdict<void> {
  const jobs = new Map<string, JobObject>()
  return (item) => {
    if (item.type === 'SYNC') {
      jobs.clear()
      for (const j of item.items) jobs.set(j.metadata.name, j)
    } else if (item.type === 'DELETED') jobs.delete(item.object.metadata.name)
    else if (item.type === 'ADDED' || item.type === 'MODIFIED') jobs.set(item.object.metadata.name, item.object)
    return done([...jobs.values()]) ? { done: true, value: undefined } : { done: false }
  }
}

/** Done once no active pod of the mover Job is left (a pod that finished holds nothing). */
export function moverPodsGoneCheck(job: string): (item: PodStreamItem) => Verdict<void> {
  const pods = new Map<string, Pod>()
  let synced = false
  return (item) => {
    if (item.type === 'SYNC') {
      pods.clear()
      for (const p of item.pods) if (isMoverPod(p, job) && isActive(p)) pods.set(p.metadata.name, p)
      synced = true
    } else if (item.type === 'DELETED') pods.delete(item.object.metadata.name)
    else if (item.type === 'ADDED' || item.type === 'MODIFIED') {
      if (isActive(item.object) && isMoverPod(item.object, job)) pods.set(item.object.metadata.name, item.object)
      else pods.delete(item.object.metadata.name)
    }
    if (synced && pods.size === 0) return { done: true, value: undefined }
    return { done: false, progress: pods.size ? `still running: ${[...pods.keys()].map((p) => `pod ${p}`).join(', ')}` : undefined }
  }
}
