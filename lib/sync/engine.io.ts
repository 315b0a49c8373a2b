// How we wait for a sync: trigger it (unless the object was created with its
// trigger, as a restore's ReplicationDestination is) and follow it to its end,
// for any number of objects with ONE watch (snapshot, unlock and restore: one
// object; snapshot-all: every source in scope), plus ONE watch of their mover
// Jobs (lib/sync/jobs.io.ts: a failed attempt is reported as it happens, and a
// Job that reaches its backoffLimit fails the sync even when VolSync's Failed
// record does not change). The decisions are lib/sync/engine.ts, the words
// lib/sync/view.ts; this module patches, watches and cleans up:
// - the undo that puts spec.trigger.manual back as found is pushed BEFORE the
//   patch that sets our token (engine.ts afterwardsOf: remove ours, or put
//   back the value a parked source had);
// - a parked source gets its value back while our sync runs (its completion
//   records it, so no further sync starts);
// - every clean-up patch is a JSON patch whose `test` ops make it apply only
//   to the state it was planned for; a patch that is refused (the API server
//   says only "The request is invalid", HTTP 422) is recognised by reading the
//   object again: if the plan for what it now holds differs, the guard was
//   refused and the new plan applies (often: leave it alone);
// - triggers are cleaned up as soon as waiting ends (success, failure,
//   timeout, lost contact, Ctrl-C); a clean-up that fails stays on the
//   clean-up stack, which retries it at exit and prints the command that
//   finishes it by hand;
// - an error VolSync reports (Synchronizing: Error) is shown as it appears and
//   ends the wait once it has lasted its grace (a timer wakes the wait then).
import type { UndoStep } from '../cleanup.ts'
import { InterruptedError, OperationError, TimeoutError, errorText } from '../errors.ts'
import { KubectlError, type Scope, type WatchEvent } from '../kubectl.ts'
import { newToken } from '../names.ts'
import type { Context } from '../run.ts'
import { ref } from '../volsync/objects.ts'
import { waitFor, type Verdict } from '../wait.ts'
import {
  afterPutBack,
  afterTrigger,
  allSettled,
  cleanupPlan,
  errorDeadline,
  expireError,
  liftFence,
  moverGaveUp,
  observe,
  presumed,
  putBackDue,
  putBackPatch,
  putBackRefused,
  startRun,
  triggerPatch,
  triggerRefused,
  whoseMover,
  type CleanupPlan,
  type Purpose,
  type Stop,
  type SyncOutcome,
  type SyncRun,
  type Syncable,
  type TriggerFate,
} from './engine.ts'
import { MoverJobs, type Followed } from './jobs.io.ts'
import {
  attemptNote,
  cleanupWhat,
  errorNote,
  failureReason,
  fateText,
  foreignNote,
  progressLine,
  putBackNote,
  putBackRefusedNote,
  restoreSyncError,
  startNotes,
  transitionNote,
  triggeredManyNote,
  triggeredNote,
} from './view.ts'

/** Trigger patches sent at once when starting many sources. */
const PATCH_CONCURRENCY = 8

/** Reads of the object after a refused clean-up patch, before giving up. */
const CLEANUP_ATTEMPTS = 3

export interface SyncResult {
  run: SyncRun
  fate: TriggerFate
}

export interface SyncsOutcome {
  results: SyncResult[]
  /** set when waiting ended before every run settled */
  stop?: Stop
  /** the error that ended it (rethrow it after reporting) */
  error?: unknown
}

/**
 * The clean-up of one source's manual trigger: puts it back as found
 * (engine.ts cleanupPlan), following the tokens this run sets.
 */
class TriggerUndo {
  /** every token this run set or tried to set, oldest first */
  readonly tokens: string[] = []
  /** the token in place after the last patch that succeeded (none once the value found was put back) */
  current?: string
  /** a token being set right now (its patch has not answered) */
  pending?: string
  readonly step: UndoStep

  /** `latest`: the run as it is now (its last seen state) */
  constructor(ctx: Context, latest: () => SyncRun, record: (fate: TriggerFate) => void) {
    const { kubectl } = ctx
    const self = this
    const run = latest()
    const patchCommand = (patch: unknown[]) =>
      kubectl.commandLine(['patch', run.resource, run.name, '-n', run.namespace, '--type', 'json', '-p', JSON.stringify(patch)])
    this.step = {
      what: cleanupWhat(run),
      get manual() {
        const plan = cleanupPlan(latest(), presumed(latest().seen, self.pending ?? self.current), self.tokens)
        if (plan.kind !== 'patch') return []
        return [
          patchCommand(plan.patch),
          '# refused ("The request is invalid") once it no longer holds what the test ops expect: then someone else changed it',
        ]
      },
      undo: async () => {
        try {
          const fate = await this.cleanUp(ctx, latest())
          record(fate)
          return fateText(latest(), fate)
        } catch (err) {
          record({ kind: 'pending', error: errorText(err) })
          throw err
        }
      },
    }
  }

  /**
   * Plans from the state our last patch presumably left, patches, and when the
   * patch is refused reads the object again: a different plan for what it now
   * holds means the guard was refused (the plan is then followed); the same
   * plan means the patch failed for another reason (thrown).
   */
  private async cleanUp(ctx: Context, run: SyncRun): Promise<TriggerFate> {
    const { kubectl } = ctx
    let now: Syncable | null = presumed(run.seen, this.pending ?? this.current)
    let lastError: unknown
    for (let attempt = 0; attempt < CLEANUP_ATTEMPTS; attempt++) {
      const plan: CleanupPlan = cleanupPlan(run, now, this.tokens)
      if (plan.kind === 'settled') return plan.fate
      try {
        await kubectl.patch(run.resource, run.name, run.namespace, 'json', plan.patch)
        return plan.fate
      } catch (err) {
        if (!(err instanceof KubectlError) || err.failure === 'unreachable' || err.failure === 'forbidden') throw err
        lastError = err
        now = await kubectl.get<Syncable>(run.resource, run.name, run.namespace)
        const again = cleanupPlan(run, now, this.tokens)
        if (again.kind === 'patch' && JSON.stringify(again.patch) === JSON.stringify(plan.patch)) throw err
      }
    }
    throw lastError
  }
}

/**
 * Follows the sync for `purpose` of every object to its end: triggers the
 * ones that are ready (and again those a racing sync beat), waits until each
 * has settled, the timeout passes, contact is lost or the user interrupts;
 * then removes the triggers it set. Never throws for those: the caller
 * reports, then rethrows `error`.
 */
export async function syncAndWait(
  ctx: Context,
  purpose: Purpose,
  objects: readonly Syncable[],
  scope: Scope,
  label: string,
): Promise<SyncsOutcome> {
  const { kubectl, out, hints } = ctx
  let runs = objects.map((o) => startRun(purpose, o, ctx.opts.errorGraceMs))
  const many = runs.length > 1
  const index = new Map(runs.map((r, i) => [r.ref, i]))
  // mover Jobs name their owner by uid (their controller ownerReference)
  const byUid = new Map(objects.flatMap((o, i) => (o.metadata.uid ? [[o.metadata.uid, i] as const] : [])))
  const undos = new Map<string, TriggerUndo>()
  const fates = new Map<string, TriggerFate>()
  const progress = out.progress(label)
  const say = (text: string) => {
    if (!text) return
    progress.stop()
    out.note(text)
  }

  const now = new Date()
  for (const run of runs) for (const note of startNotes(run, now)) say(note)

  async function trigger(run: SyncRun): Promise<SyncRun> {
    ctx.checkpoint()
    const token = newToken(purpose, new Date())
    let undo = undos.get(run.ref)
    if (!undo && run.afterwards.kind !== 'none') {
      const i = index.get(run.ref)!
      undo = new TriggerUndo(ctx, () => runs[i]!, (fate) => fates.set(run.ref, fate))
      undos.set(run.ref, undo)
      ctx.cleanup.push(undo.step)
    }
    if (undo) {
      undo.tokens.push(token)
      undo.pending = token
    }
    try {
      const response = await kubectl.patch<Syncable>(run.resource, run.name, run.namespace, 'merge', triggerPatch(purpose, token))
      if (undo) {
        undo.current = token
        undo.pending = undefined
      }
      const next = afterTrigger(run, token, response)
      if (!many) say(triggeredNote(run, token))
      if (next.phase.kind === 'syncing' && next.phase.foreign) say(foreignNote(next))
      return next
    } catch (err) {
      if (!(err instanceof KubectlError)) throw err
      const refused = triggerRefused(run, err.message)
      if (many && refused.phase.kind === 'failed') say(`${run.ref}: ${failureReason(refused, refused.phase, hints)}`)
      return refused
    }
  }

  /** A parked source whose sync of ours now runs: put its value back, so that the sync records it. */
  async function putBack(run: SyncRun, since: string): Promise<SyncRun> {
    if (run.afterwards.kind !== 'put-back' || run.phase.kind !== 'syncing') return run
    const { manual } = run.afterwards
    try {
      const patch = putBackPatch(run.phase.token, manual, { running: since })
      const response = await kubectl.patch<Syncable>(run.resource, run.name, run.namespace, 'json', patch)
      const undo = undos.get(run.ref)
      if (undo) undo.current = undefined
      say(putBackNote(run, manual))
      return afterPutBack(run, since, response)
    } catch (err) {
      if (!(err instanceof KubectlError)) throw err
      say(putBackRefusedNote(run, manual, err.message))
      return putBackRefused(run)
    }
  }

  // the one watch loop: the objects, and their mover Jobs beside them
  async function follow(): Promise<void> {
    const first = runs[0]!
    const resource = first.resource
    const jobs = new MoverJobs(kubectl, many ? scope : { namespace: first.namespace }, byUid.keys())
    // wake the wait when an error VolSync reports has lasted its grace (no event may come by then)
    let timer: NodeJS.Timeout | undefined
    const armTimer = () => {
      clearTimeout(timer)
      const deadlines = runs.map(errorDeadline).filter((d): d is number => d !== undefined)
      if (deadlines.length) timer = setTimeout(() => jobs.tick(), Math.max(0, Math.min(...deadlines) - Date.now()) + 20)
    }
    // a new state of run i: say what changed, trigger or put back when due
    const settle = async (i: number, next: SyncRun): Promise<Verdict<true>> => {
      const before = runs[i]!
      if (next !== before) {
        say(transitionNote(before, next, many, hints))
        say(errorNote(before, next))
      }
      if (next.phase.kind === 'ready') next = await trigger(next)
      else {
        const since = putBackDue(next)
        if (since) next = await putBack(next, since)
      }
      runs[i] = next
      armTimer()
      return allSettled(runs) ? { done: true, value: true } : { done: false, progress: progressLine(runs, hints) }
    }
    try {
      await waitFor<Followed<WatchEvent<Syncable>>, true>({
        what: many ? `the ${purpose} of ${runs.length} ReplicationSources` : `the ${purpose} of ${first.ref}`,
        watch: jobs.watch((signal) => {
          runs = runs.map(liftFence)
          return many
            ? kubectl.watchEvents<Syncable>(resource, scope, signal)
            : kubectl.watchEvents<Syncable>(resource, { namespace: first.namespace }, signal, {
                field: `metadata.name=${first.name}`,
              })
        }),
        check: async (item) => {
          if (item.kind === 'note') {
            say(item.text)
            return { done: false }
          }
          if (item.kind === 'tick') {
            let verdict: Verdict<true> = { done: false }
            for (let i = 0; i < runs.length; i++) {
              const next = expireError(runs[i]!, Date.now())
              if (next !== runs[i]) verdict = await settle(i, next)
            }
            armTimer()
            return verdict
          }
          if (item.kind === 'job') {
            const { job } = item.news
            const i = byUid.get(job.owner)
            const of = i === undefined ? null : whoseMover(runs[i]!, job)
            if (i === undefined || of === null) return { done: false }
            const { log, previous } = await jobs.readLog(job)
            if (item.news.kind === 'attempt-failed') {
              say(attemptNote(runs[i]!.ref, job, of, log, previous))
              return { done: false, progress: progressLine(runs, hints) }
            }
            // VolSync deletes a Job at its limit, its pods go with it: then show the last log read
            return settle(i, moverGaveUp(runs[i]!, job, log || previous || ''))
          }
          const event = item.item
          const i = index.get(`${event.object?.metadata?.namespace}/${event.object?.metadata?.name}`)
          if (i === undefined || !['ADDED', 'MODIFIED', 'DELETED'].includes(event.type)) return { done: false }
          return settle(i, observe(runs[i]!, event.object, Date.now(), event.type === 'DELETED'))
        },
        timeoutMs: ctx.opts.timeoutMs,
        signal: ctx.signal,
        progress,
      })
    } finally {
      clearTimeout(timer)
      jobs.close()
    }
  }

  let error: unknown
  try {
    // the first triggers, a few at a time; never abandon a patch in flight,
    // so that no clean-up races a trigger that lands after it
    const started = await mapLimited(runs, PATCH_CONCURRENCY, ctx.signal, (run) =>
      run.phase.kind === 'ready' ? trigger(run) : Promise.resolve(run),
    )
    runs = started.results
    if (started.failure !== undefined) throw started.failure
    ctx.checkpoint()
    if (many) say(triggeredManyNote(runs, ctx.opts.timeoutMs))
    if (!allSettled(runs)) await follow()
  } catch (err) {
    error = err
  } finally {
    progress.stop()
  }

  // Put the triggers back as found now, so the report can say what became of them.
  for (const run of runs) {
    const undo = undos.get(run.ref)
    if (undo) await ctx.cleanup.undoNow(undo.step)
  }

  return {
    results: runs.map((run) => ({ run, fate: fates.get(run.ref) ?? { kind: 'untouched' } })),
    stop: error === undefined ? undefined : stopKind(error),
    error,
  }
}

function stopKind(err: unknown): Stop {
  if (err instanceof InterruptedError) return 'interrupted'
  if (err instanceof TimeoutError) return 'timeout'
  return 'lost-contact'
}

/**
 * Maps with at most `limit` calls at once. Once `signal` aborts or a call
 * fails, no new call starts (those items are returned as they were), but the
 * calls already running finish: none is abandoned half way, and every result
 * is returned, with the first failure.
 */
async function mapLimited<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  fn: (item: T) => Promise<T>,
): Promise<{ results: T[]; failure?: unknown }> {
  const result = [...items]
  let next = 0
  let failure: unknown
  const worker = async () => {
    while (next < items.length && !signal.aborted && failure === undefined) {
      const i = next++
      try {
        result[i] = await fn(items[i]!)
      } catch (err) {
        failure ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return { results: result, failure }
}

/** The error a single-object command ends with when waiting stopped early. */
export function stoppedError(error: unknown, details: string): unknown {
  if (error instanceof TimeoutError) return new OperationError(error.message, details)
  if (error instanceof OperationError && !(error instanceof KubectlError)) {
    return new OperationError(error.message, [error.details, details].filter(Boolean).join('\n'))
  }
  return error
}

/**
 * Follows the sync of a ReplicationDestination created with its trigger set
 * (a restore's) to its end: its outcome, or the error it stopped with (its
 * mover failed, timeout, lost contact, Ctrl-C).
 */
export async function followRestore(ctx: Context, rd: Syncable): Promise<SyncOutcome> {
  const { results, error } = await syncAndWait(ctx, 'restore', [rd], { namespace: rd.metadata.namespace! }, `the restore of ${ref(rd)}`)
  if (error !== undefined) throw error
  const { run } = results[0]!
  if (run.phase.kind === 'succeeded') return run.phase.outcome
  if (run.phase.kind === 'failed') {
    const { message, details } = restoreSyncError(run, run.phase, ctx.hints)
    throw new OperationError(message, details)
  }
  throw new OperationError(`the restore of ${run.ref} ended before its sync did (${run.phase.kind})`)
}
