// A restore from its first change to its end:
// 1. record it on the ReplicationSource (marker.io.ts): a second restore of
//    the app now refuses; any machine can see and resume it;
// 2. hold the backups and stop what could write to the PVC or start the app
//    (quiesce.io.ts), each change pushing its put-back step first;
// 3. check that no backup slipped in since the listing (backups.ts, pin.ts);
// 4. create the ReplicationDestination, follow its sync (lib/sync) while
//    watching its mover make progress and any other pod mount the PVC;
// 5. end as lib/restore/stages.ts decides from the stage reached: put
//    everything back, or HOLD the app (stop and delete the
//    ReplicationDestination, keep the rest, mark the record held).
import type { UndoStep } from '../cleanup.ts'
import { InterruptedError, OperationError, errorText } from '../errors.ts'
import { KubectlError, type KubeObject } from '../kubectl.ts'
import type { Pod } from '../pods.ts'
import type { Context } from '../run.ts'
import type { ListedSnapshot, RestorePoint } from '../snapshots/restic.ts'
import type { SyncOutcome } from '../sync/engine.ts'
import { followRestore } from '../sync/engine.io.ts'
import { RD, RS, ref, type ReplicationDestination, type ReplicationSource, type SyncStatus } from '../volsync/objects.ts'
import { sleep } from '../wait.ts'
import { copyMethodOf, sourceCopy, windowCheck } from './backups.ts'
import type { QuiescePlan } from './hold.ts'
import { MarkerHandle } from './marker.io.ts'
import type { Marker } from './marker.ts'
import { pinPoint } from './pin.ts'
import {
  intruder,
  isMoverPod,
  isStalled,
  moverJobName,
  podOwnerText,
  seeLogLine,
  seePod,
  stallAfterMs,
  stalledText,
  startProgress,
  type MoverProgress,
} from './progress.ts'
import {
  holdCopies,
  pauseScaledObject,
  pauseSource,
  podStream,
  stopDestinationStep,
  stopWorkload,
  suspendCronJob,
  suspendFlux,
  waitForClaimReleased,
} from './quiesce.io.ts'
import { ending, type Ending, type Layer, type Stage, type Verdict } from './stages.ts'

/** How long a wait may last when the operator gave no TIMEOUT: a week (the longest TIMEOUT there is). */
const UNBOUNDED_MS = 7 * 24 * 3_600_000

export interface RestoreInput {
  source: ReplicationSource
  pvc: string
  /** the PVC's annotations as read (the copy trigger) */
  pvcAnnotations: Record<string, string> | undefined
  plan: QuiescePlan
  /** the ReplicationDestination to create (lib/restore/destination.ts), its spec.trigger.manual set */
  destination: ReplicationDestination
  /** the pinned selection (pin.ts) */
  point: RestorePoint
  /** the record to write (state running) */
  marker: Marker
  /** taking a held app over: the record's exact value now, and what it says */
  takeOver?: { value: string; marker: Marker }
  /** the source's status when the snapshots were listed */
  statusAtListing: SyncStatus | undefined
  /** lists the snapshots again (under the hold) */
  relist: () => Promise<ListedSnapshot[]>
  keep: boolean
  /** the command that restores the same snapshot again (it takes the held app over) */
  rerun: string
  /** the command that gives the app back as it is */
  resume: string
}

export class RestoreRun {
  private readonly ctx: Context
  private readonly input: RestoreInput
  private stage: Stage = 'quiescing'
  private marker?: MarkerHandle
  private verdict?: { kind: Verdict; restoredInstead?: string }
  private why?: string
  private readonly intruders: string[] = []
  private decided?: Ending
  /** put-back steps that failed (the record then stays, held) */
  private failures = 0
  /** the undo steps pushed, with what each puts back */
  private readonly undos: { layer: Layer; drop: () => void }[] = []

  constructor(ctx: Context, input: RestoreInput) {
    this.ctx = ctx
    this.input = input
  }

  private get namespace(): string {
    return this.input.source.metadata.namespace!
  }

  private get destinationName(): string {
    return this.input.destination.metadata.name
  }

  /** The selection the ReplicationDestination carries (pinned again if the snapshots were listed again). */
  get point(): RestorePoint {
    return this.input.point
  }

  private pushUndo(layer: Layer, step: UndoStep): () => void {
    const counted: UndoStep = {
      get what() {
        return step.what
      },
      get manual() {
        return step.manual
      },
      undo: async () => {
        try {
          return await step.undo()
        } catch (err) {
          this.failures++
          throw err
        }
      },
    }
    const drop = this.ctx.cleanup.push(counted)
    this.undos.push({ layer, drop })
    return drop
  }

  /** Records the restore on the source (atomically: a restore already there is refused, naming it). */
  async begin(): Promise<void> {
    const { ctx, input } = this
    const marker = await MarkerHandle.acquire(ctx, input.source, input.marker, input.takeOver?.value, input.resume)
    this.marker = marker
    const where = ref(input.source)
    const self = this
    this.pushUndo('marker', {
      get what() {
        return self.decided?.hold || self.failures
          ? `mark the app HELD on ReplicationSource ${where}`
          : `remove the restore's record from ReplicationSource ${where}`
      },
      undo: async () => {
        const decided = this.decided
        if (decided?.hold || this.failures > 0) {
          const reason = decided?.hold ? decided.reason : 'its clean-up did not finish: resume finishes it'
          await marker.update({ ...marker.current, state: 'held', reason })
          return `done (${reason})`
        }
        return marker.remove()
      },
      // printed only when the clean-up is incomplete: the record then stays (it says how things were),
      // and resume, from any machine, finishes from it; removing it by hand would lose that
      get manual() {
        return [`# nothing to run here: the record stays; once the steps above are done, give the app back with: ${input.resume}`]
      },
    })
  }

  /**
   * Holds the backups (pause; VolSync's copy trigger for Snapshot/Clone),
   * suspends Flux and CronJobs, pauses KEDA, stops the workloads, and waits
   * until no pod mounts the PVC.
   */
  async quiesce(): Promise<void> {
    const { ctx, input } = this
    const { plan } = input
    const push = (layer: Layer, step: UndoStep) => this.pushUndo(layer, step)
    const ns = this.namespace
    await pauseSource(ctx, input.source, plan.hold.paused, push)
    await holdCopies(ctx, ns, input.pvc, plan.hold.copyTrigger, input.pvcAnnotations, push)
    for (const f of plan.flux) await suspendFlux(ctx, f.ref, f.suspendWasSet, f.suspendedNow, push)
    for (const c of plan.cronJobs) await suspendCronJob(ctx, ns, c.name, c.suspendWasSet, c.suspendedNow, push)
    for (const s of plan.scaledObjects) await pauseScaledObject(ctx, ns, s.name, s.pausedNow, s.pausedWas, push)
    for (const w of plan.workloads) await stopWorkload(ctx, w, w.now, w.before, push)
    await waitForClaimReleased(ctx, ns, input.pvc)
  }

  /**
   * With everything held: did a backup run since the listing (then list
   * again and pin the planned snapshot again: it must still be there,
   * exactly selectable), or freeze a copy of the data before the hold? And
   * when taking a held app over, the earlier restore's ReplicationDestination
   * must be gone (it is stopped now, if it is still there).
   */
  async checkWindow(): Promise<void> {
    const { ctx, input } = this
    const { kubectl } = ctx
    ctx.checkpoint()
    const now = await kubectl.get<ReplicationSource>(RS, input.source.metadata.name, this.namespace)
    if (now === null) throw new OperationError(`ReplicationSource ${ref(input.source)} was deleted during the restore`)
    // a copy VolSync froze exists only while a sync runs (it deletes it when the sync ends)
    const copy = now.status?.lastSyncStartTime ? sourceCopy(now.metadata.name, copyMethodOf(now)) : undefined
    const copyExists = copy !== undefined && (await kubectl.get<KubeObject>(copy.resource, copy.name, this.namespace)) !== null
    const check = windowCheck(input.statusAtListing, now, copyExists)
    if (check instanceof OperationError) throw check
    if (check === 'relist') {
      ctx.out.note(`a backup ran since the snapshots were listed: listing them again (backups are held now)`)
      input.point = pinPoint(input.point, await input.relist(), true)
      input.destination.spec.restic = { ...input.destination.spec.restic, restoreAsOf: input.point.restoreAsOf, previous: 0 }
    }
    const earlier = input.takeOver?.marker.destination
    if (earlier && earlier !== this.destinationName && (await kubectl.get<KubeObject>(RD, earlier, this.namespace)) !== null) {
      ctx.out.note(`stopping the ReplicationDestination of the held restore, ${this.namespace}/${earlier}`)
      await stopDestinationStep(ctx, this.namespace, earlier).undo()
    }
  }

  /**
   * Creates the ReplicationDestination and follows its sync to the end,
   * while following its mover's progress and any other pod on the PVC.
   */
  async restore(): Promise<SyncOutcome> {
    const { ctx, input } = this
    const { kubectl, out } = ctx
    const name = this.destinationName
    ctx.checkpoint()
    const dropDestination = this.pushUndo('destination', stopDestinationStep(ctx, this.namespace, name))
    this.stage = 'creating'
    out.note(`creating ReplicationDestination ${this.namespace}/${name}`)
    let rd: ReplicationDestination
    try {
      rd = await kubectl.create<ReplicationDestination>(input.destination)
    } catch (err) {
      // a definite answer of the API server: it was not created; anything else (a timeout after
      // the request was sent, a lost connection): it may exist, so it is treated as created
      if (definitelyRefused(err)) {
        this.stage = 'quiescing'
        dropDestination()
      }
      throw err
    }
    this.stage = 'restoring'
    ctx.checkpoint()
    const outcome = await this.follow(rd)
    this.stage = 'restored'
    return outcome
  }

  /**
   * Follows the sync with lib/sync, bounded by TIMEOUT only when the
   * operator gave one; beside it, the mover's progress (a stalled mover ends
   * the wait) and the pods that mount the PVC.
   */
  private async follow(rd: ReplicationDestination): Promise<SyncOutcome> {
    const { ctx } = this
    const stallMs = stallAfterMs(process.env)
    // one signal for the sync's wait: Ctrl-C, or a stalled mover (AbortSignal.any is not
    // used: on Node 20 its combined signal can be collected and never fire)
    const stop = new AbortController()
    const relay = () => stop.abort()
    if (ctx.signal.aborted) stop.abort()
    else ctx.signal.addEventListener('abort', relay, { once: true })
    let stalled: string | undefined
    const signal = stop.signal
    const bound = ctx.opts.timeoutGiven ? ctx.opts.timeoutMs : UNBOUNDED_MS
    const sub: Context = { ...ctx, signal, opts: { ...ctx.opts, timeoutMs: bound } }
    const done = new AbortController()
    const watching = this.watchMover(rd, stallMs, done.signal, (why) => {
      stalled = why
      stop.abort()
    })
    try {
      return await followRestore(sub, rd)
    } catch (err) {
      if (stalled !== undefined && !ctx.signal.aborted) {
        throw new OperationError(stalled, 'A stalled mover ends the wait; TIMEOUT=<duration> sets an upper bound of your own.')
      }
      throw err
    } finally {
      ctx.signal.removeEventListener('abort', relay)
      done.abort()
      await watching
    }
  }

  /** Watches the namespace's pods (the mover's, and any other on the PVC) and the mover's log until `until` aborts. */
  private async watchMover(rd: ReplicationDestination, stallMs: number, until: AbortSignal, onStall: (why: string) => void): Promise<void> {
    const { ctx, input } = this
    const { kubectl, out } = ctx
    const job = moverJobName(rd.metadata.name)
    let progress: MoverProgress = startProgress(Date.now())
    const following = new Map<string, AbortController>()
    const reported = new Set<string>()
    const followLog = async (pod: string, signal: AbortSignal) => {
      try {
        for await (const line of kubectl.followLog(pod, this.namespace, 'restic', signal)) {
          progress = seeLogLine(progress, line, Date.now())
        }
      } catch {
        // a log is information, never a decision
      }
    }
    const see = (pod: Pod, deleted: boolean) => {
      const name = pod.metadata.name
      if (isMoverPod(pod, job)) {
        progress = seePod(progress, pod, Date.now(), deleted)
        const running = !deleted && pod.status?.phase === 'Running'
        if (running && !following.has(name)) {
          const c = new AbortController()
          following.set(name, c)
          void followLog(name, c.signal)
        } else if (!running && following.has(name) && deleted) {
          following.get(name)!.abort()
          following.delete(name)
        }
        return
      }
      if (!deleted && intruder(pod, input.pvc, job) && !reported.has(name)) {
        reported.add(name)
        const who = podOwnerText(pod)
        this.intruders.push(who)
        out.warn(
          `${who} started using ${input.pvc} while the mover restores it: it may change the restored data. ` +
            'The restore goes on, and ends with the app held for you to check.',
        )
      }
    }
    const timer = setInterval(() => {
      if (isStalled(progress, Date.now(), stallMs)) onStall(stalledText(progress, stallMs))
    }, Math.min(1000, stallMs))
    try {
      while (!until.aborted) {
        try {
          for await (const item of podStream(kubectl, this.namespace, until)) {
            if (item.type === 'SYNC') for (const p of item.pods) see(p, false)
            else if (item.type === 'ADDED' || item.type === 'MODIFIED' || item.type === 'DELETED') see(item.object, item.type === 'DELETED')
          }
        } catch {
          // lost contact: the sync's own watch reports it; try again
        }
        await sleep(1000, until)
      }
    } finally {
      clearInterval(timer)
      for (const c of following.values()) c.abort()
    }
  }

  /** The mover's sync completed: what it did decides how the restore ends. */
  finished(verdict: Verdict, restoredInstead?: string): Ending {
    this.verdict = { kind: verdict, restoredInstead }
    return this.end()
  }

  /** The restore stopped (call once, from the error path): says what it leaves. */
  stopped(err: unknown): Ending {
    // refused before its record was written: nothing of this run to undo or hold
    if (!this.marker) return { keep: [], hold: false, pvcMayBePartial: false, warnings: [], notes: [] }
    this.why = err instanceof InterruptedError ? 'interrupted (Ctrl-C)' : errorText(err).split('\n')[0]
    return this.end()
  }

  private end(): Ending {
    const { ctx, input } = this
    const { out } = ctx
    const decided = ending(this.stage, {
      namespace: this.namespace,
      pvc: input.pvc,
      source: ref(input.source),
      destination: this.destinationName,
      keep: input.keep,
      adopted: input.takeOver !== undefined,
      verdict: this.verdict?.kind,
      restoredInstead: this.verdict?.restoredInstead,
      intruders: this.intruders,
      why: this.why,
      rerun: input.rerun,
      resume: input.resume,
      deleteDestination: ctx.kubectl.commandLine(['delete', RD, this.destinationName, '-n', this.namespace]),
    })
    this.decided = decided
    for (const { layer, drop } of this.undos) if (decided.keep.includes(layer)) drop()
    for (const warning of decided.warnings) out.warn(warning)
    for (const note of decided.notes) out.note(note)
    return decided
  }
}

/** Did the API server answer that it did not create the object (so it does not exist)? */
export function definitelyRefused(err: unknown): boolean {
  if (!(err instanceof KubectlError)) return false
  // "Error from server (Forbidden|Invalid|AlreadyExists|BadRequest|NotFound|...)": the server decided.
  // Timeout, ServerTimeout, InternalError, TooManyRequests and no answer at all: it may have been created.
  return (
    /Error from server \((Forbidden|Invalid|AlreadyExists|BadRequest|NotFound|Conflict|Unauthorized|MethodNotAllowed|UnsupportedMediaType|RequestEntityTooLarge|NotAcceptable|Gone)\)/.test(err.stderr) ||
    /^error: (error validating|unable to recognize|resource mapping not found)/m.test(err.stderr) ||
    err.failure === 'no-resource-type' ||
    err.failure === 'forbidden'
  )
}
