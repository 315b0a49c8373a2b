// Triggers syncs of ReplicationSources and waits for them with ONE watch,
// whatever their number (snapshot and unlock: one source; snapshot-all: all
// in scope), plus ONE watch of their mover Jobs (lib/sync/jobs.io.ts: a failed
// attempt is reported as it happens, and a Job that reaches its backoffLimit
// fails the sync even when VolSync's Failed record does not change). The
// decisions are lib/sync/machine.ts; this module patches, watches and cleans up:
// - the undo that removes our manual trigger is pushed BEFORE the patch that
//   sets it (sources with a schedule only: without one the token must stay);
// - the removal is a JSON patch whose `test` ops make it apply only while
//   spec.trigger.manual still holds our token and the schedule is unchanged;
// - triggers are removed as soon as waiting ends (success, failure, timeout,
//   lost contact, Ctrl-C); a removal that fails stays on the clean-up stack,
//   which retries it at exit and prints the command that finishes it by hand.
import type { UndoStep } from '../cleanup.ts'
import { InterruptedError, OperationError, TimeoutError, errorText } from '../errors.ts'
import { KubectlError, type Scope, type WatchEvent } from '../kubectl.ts'
import { newToken } from '../names.ts'
import type { Context } from '../run.ts'
import { RS, ref, type MoverStatus, type ReplicationSource } from '../volsync/objects.ts'
import { waitFor, type Verdict } from '../wait.ts'
import { MoverJobs, type Followed } from './jobs.io.ts'
import { attemptNote, gaveUpLog, gaveUpWords, moverOf, whereToLook } from './jobs.ts'
import {
  SyncFailedError,
  afterPatch,
  allSettled,
  leftAloneReason,
  liftFence,
  moverGaveUp,
  observe,
  patchFailed,
  removeTriggerPatch,
  startRun,
  syncCheck,
  syncProgress,
  triggerAfterwards,
  triggerPatch,
  waitingFor,
  type Purpose,
  type SourceRun,
  type SyncOutcome,
  type Syncable,
} from './machine.ts'
import {
  foreignNote,
  keptNote,
  progressLine,
  startNotes,
  transitionNote,
  triggeredNote,
  type Stop,
  type TriggerFate,
} from './view.ts'

/** Trigger patches sent at once when starting many sources. */
const PATCH_CONCURRENCY = 8

export interface TriggerResult {
  run: SourceRun
  fate: TriggerFate
}

export interface TriggerOutcome {
  results: TriggerResult[]
  /** set when waiting ended before every source settled */
  stop?: Stop
  /** the error that ended it (rethrow it after reporting) */
  error?: unknown
}

/** The clean-up of one source's manual trigger; it follows the tokens this run sets. */
class TriggerUndo {
  /** every token this run set or tried to set, oldest first */
  readonly tokens: string[] = []
  /** the token in place after the last patch that succeeded */
  current?: string
  /** a token being set right now (its patch has not answered) */
  pending?: string
  readonly step: UndoStep

  constructor(ctx: Context, run: SourceRun, schedule: string, record: (fate: TriggerFate) => void) {
    const { kubectl } = ctx
    const self = this
    const patchFor = (token: string) => removeTriggerPatch(token, schedule)
    this.step = {
      what: `remove the manual trigger of ${run.ref} (its schedule applies again)`,
      get manual() {
        const token = self.pending ?? self.current ?? self.tokens.at(-1) ?? ''
        return [
          kubectl.commandLine([
            'patch', RS, run.name, '-n', run.namespace, '--type', 'json', '-p', JSON.stringify(patchFor(token)),
          ]),
        ]
      },
      undo: async () => {
        try {
          for (const token of [this.pending, this.current]) {
            if (token === undefined) continue
            try {
              await kubectl.patch(RS, run.name, run.namespace, 'json', patchFor(token))
              record({ kind: 'removed' })
              return `removed; scheduled backups resume (${schedule})`
            } catch (err) {
              if (!(err instanceof KubectlError && (err.failure === 'conflict' || err.failure === 'not-found'))) throw err
            }
          }
          const now = await kubectl.get<ReplicationSource>(RS, run.name, run.namespace)
          const reason = leftAloneReason(now, this.tokens, schedule, run.manualBefore)
          record({ kind: 'left', reason })
          return `left alone: ${reason}`
        } catch (err) {
          record({ kind: 'pending', error: errorText(err) })
          throw err
        }
      },
    }
  }
}

/**
 * Triggers `purpose` on every source and waits until each has settled, the
 * timeout passes, contact is lost or the user interrupts; then removes the
 * triggers. Never throws for those: the caller reports, then rethrows `error`.
 */
export async function triggerAndWait(
  ctx: Context,
  purpose: Purpose,
  sources: readonly ReplicationSource[],
  scope: Scope,
  label: string,
): Promise<TriggerOutcome> {
  const { kubectl, out } = ctx
  let runs = sources.map((rs) => startRun(purpose, rs))
  const many = runs.length > 1
  const index = new Map(runs.map((r, i) => [r.ref, i]))
  // mover Jobs name their ReplicationSource by uid (their controller ownerReference)
  const byUid = new Map(sources.flatMap((rs, i) => (rs.metadata.uid ? [[rs.metadata.uid, i] as const] : [])))
  const undos = new Map<string, TriggerUndo>()
  const fates = new Map<string, TriggerFate>()
  const progress = out.progress(label)
  const say = (text: string) => {
    if (!text) return
    progress.stop()
    out.note(text)
  }

  const now = new Date()
  for (const run of runs) for (const note of startNotes(purpose, run, now)) say(note)

  async function trigger(run: SourceRun): Promise<SourceRun> {
    ctx.checkpoint()
    const token = newToken(purpose, new Date())
    let undo = undos.get(run.ref)
    if (!undo && triggerAfterwards(run) === 'remove') {
      undo = new TriggerUndo(ctx, run, run.schedule!, (fate) => fates.set(run.ref, fate))
      undos.set(run.ref, undo)
      ctx.cleanup.push(undo.step)
    }
    if (undo) {
      undo.tokens.push(token)
      undo.pending = token
    }
    try {
      const response = await kubectl.patch<ReplicationSource>(RS, run.name, run.namespace, 'merge', triggerPatch(purpose, token))
      if (undo) {
        undo.current = token
        undo.pending = undefined
      } else {
        fates.set(run.ref, { kind: 'kept', token })
      }
      const next = afterPatch(purpose, run, token, response)
      if (!many) say(triggeredNote(purpose, run, token))
      if (next.phase.kind === 'syncing' && next.phase.foreign) say(foreignNote(next))
      return next
    } catch (err) {
      if (!(err instanceof KubectlError)) throw err
      const failed = patchFailed(run, err.message)
      if (many) say(`${run.ref}: ${failed.phase.kind === 'failed' ? failed.phase.reason : ''}`)
      return failed
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
    if (many) {
      const triggered = runs.filter((r) => r.triggers > 0).length
      say(`triggered ${triggered} of ${runs.length} ReplicationSources; waiting for them (TIMEOUT ${formatTimeout(ctx.opts.timeoutMs)})`)
    }
    if (!allSettled(runs)) {
      const first = runs[0]!
      const jobs = new MoverJobs(kubectl, many ? scope : { namespace: first.namespace }, byUid.keys())
      // a new state of run i: say what changed, trigger when it is ready
      const settle = async (i: number, next: SourceRun): Promise<Verdict<true>> => {
        const before = runs[i]!
        if (next !== before) say(transitionNote(purpose, before, next, many))
        if (next.phase.kind === 'ready') next = await trigger(next)
        runs[i] = next
        return allSettled(runs) ? { done: true, value: true } : { done: false, progress: progressLine(runs) }
      }
      try {
        await waitFor<Followed<WatchEvent<ReplicationSource>>, true>({
          what: many ? `the ${purpose} of ${runs.length} ReplicationSources` : `the ${purpose} of ${first.ref}`,
          watch: jobs.watch((signal) => {
            runs = runs.map(liftFence)
            return many
              ? kubectl.watchEvents<ReplicationSource>(RS, scope, signal)
              : kubectl.watchEvents<ReplicationSource>(RS, { namespace: first.namespace }, signal, {
                  field: `metadata.name=${first.name}`,
                })
          }),
          check: async (item) => {
            if (item.kind === 'note') {
              say(item.text)
              return { done: false }
            }
            if (item.kind === 'job') {
              const i = byUid.get(item.news.job.owner)
              const of = i === undefined ? null : moverOf(waitingFor(runs[i]!), item.news.job)
              if (i === undefined || of === null) return { done: false }
              const { log, previous } = await jobs.readLog(item.news.job)
              if (item.news.kind === 'attempt-failed') {
                say(attemptNote(runs[i]!.ref, item.news.job, of, log, previous))
                return { done: false, progress: progressLine(runs) }
              }
              // VolSync deletes a Job at its limit, its pods go with it: then show the last log read
              return settle(i, moverGaveUp(purpose, runs[i]!, item.news.job, log || previous || ''))
            }
            const event = item.item
            const i = index.get(`${event.object?.metadata?.namespace}/${event.object?.metadata?.name}`)
            if (i === undefined || !['ADDED', 'MODIFIED', 'DELETED'].includes(event.type)) return { done: false }
            return settle(i, observe(purpose, runs[i]!, event.object, event.type === 'DELETED'))
          },
          timeoutMs: ctx.opts.timeoutMs,
          signal: ctx.signal,
          progress,
        })
      } finally {
        jobs.close()
      }
    }
  } catch (err) {
    error = err
  } finally {
    progress.stop()
  }

  // Remove the triggers now, so the report can say what became of them.
  for (const run of runs) {
    const undo = undos.get(run.ref)
    if (undo) await ctx.cleanup.undoNow(undo.step)
    const fate = fates.get(run.ref)
    if (fate?.kind === 'kept') say(keptNote(run, fate.token))
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

function formatTimeout(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`
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

/** The error a single-source command ends with when waiting stopped early. */
export function stoppedError(error: unknown, details: string): unknown {
  if (error instanceof TimeoutError) return new OperationError(error.message, details)
  if (error instanceof OperationError && !(error instanceof KubectlError)) {
    return new OperationError(error.message, [error.details, details].filter(Boolean).join('\n'))
  }
  return error
}

/**
 * Watches `resource` name until the sync for `token` completes, and its mover
 * Jobs beside it (lib/sync/jobs.io.ts): each failed attempt is said as it
 * happens, and a Job that reaches its backoffLimit ends the wait with
 * SyncFailedError even when VolSync's Failed record looks exactly as before.
 * Every Job of the object counts: callers wait on objects they just created.
 */
export async function waitForSync(
  ctx: Context,
  resource: string,
  o: Syncable,
  token: string,
  baseline: MoverStatus | undefined,
  label: string,
): Promise<SyncOutcome> {
  const { kubectl, out } = ctx
  const name = o.metadata.name
  const namespace = o.metadata.namespace!
  const jobs = new MoverJobs(kubectl, { namespace }, o.metadata.uid ? [o.metadata.uid] : [])
  const progress = out.progress(`${label} of ${ref(o)}`)
  const say = (text: string) => {
    progress.stop()
    out.note(text)
  }
  const check = syncCheck(token, baseline)
  let seen = o
  try {
    return await waitFor<Followed<Syncable>, SyncOutcome>({
      what: `${label} of ${ref(o)}`,
      watch: jobs.watch((signal) => kubectl.watchObject<Syncable>(resource, name, namespace, signal)),
      check: async (item) => {
        if (item.kind === 'object') {
          seen = item.item
          return check(item.item)
        }
        if (item.kind === 'note') {
          say(item.text)
          return { done: false }
        }
        const { news } = item
        const { log, previous } = await jobs.readLog(news.job)
        if (news.kind === 'attempt-failed') {
          say(attemptNote(ref(o), news.job, 'ours', log, previous))
          return { done: false, progress: syncProgress(seen) }
        }
        // VolSync deletes a Job at its limit, its pods go with it: then show the last log read
        const logs = gaveUpLog(log || previous || '', seen.status?.latestMoverStatus, baseline)
        throw new SyncFailedError(
          `the mover of ${ref(o)} failed (${gaveUpWords(news.job)}; VolSync keeps retrying it with a new Job; stopped waiting). ` +
            (logs ? 'Its log:' : `${whereToLook(resource, name, namespace)}.`),
          logs,
        )
      },
      timeoutMs: ctx.opts.timeoutMs,
      signal: ctx.signal,
      progress,
    })
  } finally {
    jobs.close()
  }
}
