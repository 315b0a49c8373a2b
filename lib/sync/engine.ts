// "Trigger a sync and follow it to its end", for ReplicationSources and
// ReplicationDestinations alike: ONE state machine per object, shared by
// snapshot, snapshot-all, unlock and restore. Pure: observed objects in, the
// next state out. lib/sync/engine.io.ts sets the triggers and runs the watches
// it asks for; lib/sync/view.ts says what each state means.
// Facts (VolSync v0.16.0, statemachine/machine.go, mover/restic/mover.go):
// - a sync runs while status.lastSyncStartTime is set; its completion copies
//   spec.trigger.manual into status.lastManualSync, whoever set it and when;
// - with CopyMethod Snapshot/Clone the data is frozen when the sync STARTS,
//   so a sync that was already running is not a backup of "now";
// - spec.restic.unlock runs `restic unlock` (stale locks only) before the
//   backup of a sync; a new value recreates a running mover Job with it;
//   status.restic.lastUnlocked records it once that Job succeeded;
// - spec.paused scales the mover Job to 0: a sync never finishes;
// - latestMoverStatus is never cleared when a sync starts: it is written only
//   when a mover Job succeeds (which also completes the sync) or reaches its
//   backoff limit (Failed; the Job is recreated and the sync goes on);
// - a sync that cannot go on (source PVC or Secret missing, destination PVC
//   gone) sets the Synchronizing condition to False, reason Error, with the
//   error as its message, and is retried (machine.go Run -> setConditionError);
//   VolSync also sets it for a moment on passing errors (a conflict on update);
// - which trigger applies (machine.go getTrigger, shouldSync): a manual one
//   when spec.trigger.manual is set and not empty (a sync starts when it differs from
//   status.lastManualSync; the schedule is ignored), else the schedule, else
//   none: the source syncs continuously, one sync right after the other;
// - a sync's completion copies spec.trigger.manual AS IT IS THEN into
//   status.lastManualSync (transitionToCleaningUp): so a value put back while
//   the sync runs is recorded by it, and no further sync starts for it.
import { parseGoDuration } from '../duration.ts'
import type { KubeObject } from '../kubectl.ts'
import { readMoverLogs, type MoverLogFacts } from '../volsync/mover-log.ts'
import { RD, RS, syncCondition, type MoverStatus, type SyncStatus } from '../volsync/objects.ts'
import { gaveUpLog, type JobTrack } from './jobs.ts'

/**
 * What a sync is for. snapshot and unlock set a manual trigger on a
 * ReplicationSource (and remove it afterwards); restore follows the
 * ReplicationDestination it created with its trigger already set: no patch,
 * nothing to remove.
 */
export type Purpose = 'snapshot' | 'unlock' | 'restore'

/** The resource each purpose follows. */
export const RESOURCE: Record<Purpose, string> = { snapshot: RS, unlock: RS, restore: RD }

/** A sync that keeps starting just before our trigger: give up after this many triggers. */
export const MAX_TRIGGERS = 3

/**
 * How long VolSync may report an error (Synchronizing: reason Error) without
 * a break before a wait gives up on it (--error-grace). VolSync sets Error
 * for a moment on passing errors too; a missing PVC or Secret stays.
 */
export const ERROR_GRACE_MS = 120_000

/** Tokens of this tool (lib/names.ts newToken): a leftover of one of its runs is recognised by this prefix. */
export const OWN_TOKEN_PREFIX = 'volsync-ops-'

/** A ReplicationSource or ReplicationDestination, as far as syncing goes. */
export type Syncable = KubeObject & {
  spec: { paused?: boolean; trigger?: { schedule?: string; manual?: string } }
  status?: SyncStatus & { restic?: { lastUnlocked?: string } }
}

export interface SyncOutcome {
  result: string | null
  logs: string
  facts: MoverLogFacts
  lastSyncTime: string | null
  durationMs: number | null
}

/** Why a run failed; lib/sync/view.ts puts it in words. */
export type Failure =
  /** the trigger patch was refused */
  | { kind: 'trigger-refused'; error: string }
  | { kind: 'deleted' }
  | { kind: 'paused' }
  /** the sync that was running before ours failed anew (nothing was triggered) */
  | { kind: 'running-failed' }
  /** the mover Job of the running sync reached its backoffLimit */
  | { kind: 'running-gave-up'; job: JobTrack }
  /** a sync started just before each of our triggers */
  | { kind: 'raced' }
  /** our sync completed with the mover's result Failed */
  | { kind: 'completed-failed' }
  /** unlock: our sync completed without status.restic.lastUnlocked showing our token */
  | { kind: 'unlock-not-recorded'; lastUnlocked: string }
  | { kind: 'trigger-removed' }
  | { kind: 'trigger-changed'; manual: string }
  /** a fresh Failed in latestMoverStatus while our sync runs */
  | { kind: 'mover-failed' }
  /** the mover Job of our sync reached its backoffLimit */
  | { kind: 'mover-gave-up'; job: JobTrack }
  /** VolSync reported an error for the sync that was running before ours, for forMs without a break (nothing was triggered) */
  | { kind: 'running-error'; message: string; forMs: number }
  /** VolSync reported an error for our sync, for forMs without a break */
  | { kind: 'sync-error'; message: string; forMs: number }

export type Phase =
  /** not triggered: the object is paused (spec.paused) */
  | { kind: 'skipped' }
  /** a sync we did not start is running; wait for it to end before triggering */
  | { kind: 'busy'; since: string; failures: FailureMemo }
  /** trigger now (the driver patches, then calls afterTrigger) */
  | { kind: 'ready' }
  /**
   * waiting until status.lastManualSync == token. `foreign`: a sync was
   * already running when the token was set; its completion carries the token
   * but not data from after the trigger, so trigger again once it ends.
   */
  | { kind: 'syncing'; token: string; foreign: boolean; failures: FailureMemo }
  | { kind: 'succeeded'; token: string; outcome: SyncOutcome }
  /** `triggered`: our token was set (the mover logs, if any, are in `logs`) */
  | { kind: 'failed'; failure: Failure; logs: string; triggered: boolean }

/**
 * What becomes of spec.trigger.manual when the run ends: the trigger is left
 * as it was found.
 */
export type Afterwards =
  /** a restore's ReplicationDestination: created with its trigger, nothing of ours to take back */
  | { kind: 'none' }
  /**
   * there was no manual trigger (or a leftover of an earlier run of this tool
   * beside a schedule): remove ours, so the schedule applies again, or, with
   * no schedule, VolSync syncs continuously again as before
   */
  | { kind: 'remove'; schedule: string | null }
  /**
   * a manual trigger set on purpose (a parked source): put that value back
   * while our sync runs, so that its completion records it and no further
   * sync starts (VolSync syncs when manual != lastManualSync)
   */
  | { kind: 'put-back'; manual: string }

/** VolSync's Synchronizing condition with reason Error, as seen without a break since `since` (ms). */
export interface VolSyncError {
  message: string
  since: number
}

/** The value put back in spec.trigger.manual during the wait: while the sync that started at `since` ran. */
export type PutBack =
  | { kind: 'done'; since: string; lastSyncTime: string | null }
  /** the patch did not apply (the clean-up at the end tries again from what the object then holds) */
  | { kind: 'refused' }

export interface SyncRun {
  purpose: Purpose
  /** RESOURCE[purpose] */
  resource: string
  namespace: string
  name: string
  /** namespace/name */
  ref: string
  /** spec.trigger.schedule when the run began */
  schedule: string | null
  /** spec.trigger.manual before this run set its own */
  manualBefore: string | null
  /** what becomes of spec.trigger.manual at the end */
  afterwards: Afterwards
  /** the latest state seen */
  seen: Syncable
  /** how many tokens this run set */
  triggers: number
  /**
   * resourceVersion of our last patch: watch events are ignored until that
   * one comes by, since events queued before the patch show older state
   * (a new watch starts from the present and lifts the fence).
   */
  fence?: string
  /** an error VolSync reports (Synchronizing: Error) now */
  error?: VolSyncError
  /** how long an error may last before the run fails on it */
  errorGraceMs: number
  /** for `put-back`: what became of putting the value back during the wait (since the last trigger) */
  putBack?: PutBack
  phase: Phase
}

/** Why the trigger was left alone at the end (lib/sync/view.ts leftWords puts it in words). */
export type LeftWhy =
  | { kind: 'gone' }
  /** spec.trigger.manual is not set: ours never landed, or someone else removed it */
  | { kind: 'not-set' }
  /** it still holds the value from before the run: ours never landed */
  | { kind: 'still-before'; manual: string }
  /** someone else set it */
  | { kind: 'theirs'; manual: string }
  /** ours, but the schedule the removal is guarded by changed */
  | { kind: 'schedule-changed'; from: string; to: string | null }
  /** ours, and our sync already recorded it: putting `manual` back now would start another sync */
  | { kind: 'synced-first'; token: string; manual: string }

/** What became of a run's manual trigger afterwards. */
export type TriggerFate =
  /** never set by this run */
  | { kind: 'untouched' }
  /** removed: the schedule applies again (or, with none, VolSync syncs continuously again) */
  | { kind: 'removed'; schedule: string | null }
  /**
   * the value found is back. `synced`: put back while our sync ran, whose
   * completion records it; else no sync of ours had started
   */
  | { kind: 'put-back'; manual: string; synced: boolean }
  /** not touched at the end (why says why) */
  | { kind: 'left'; why: LeftWhy }
  /** the clean-up failed; it is retried at exit, else the manual command is printed */
  | { kind: 'pending'; error: string }

/** How waiting ended when not every run settled. */
export type Stop = 'timeout' | 'interrupted' | 'lost-contact'

export const isSettled = (p: Phase) => p.kind === 'skipped' || p.kind === 'succeeded' || p.kind === 'failed'

export const allSettled = (runs: readonly SyncRun[]) => runs.every((r) => isSettled(r.phase))

/** A token of this tool (lib/names.ts newToken). */
export const isOwnToken = (manual: string) => manual.startsWith(OWN_TOKEN_PREFIX)

// ---------------------------------------------------------------- start

/** The merge patch that starts a sync: a new manual trigger and, for unlock, the same token as spec.restic.unlock. */
export function triggerPatch(purpose: Purpose, token: string): Record<string, unknown> {
  const spec: Record<string, unknown> = { trigger: { manual: token } }
  if (purpose === 'unlock') spec.restic = { unlock: token }
  return { spec }
}

/**
 * What to do with spec.trigger.manual at the end, from the object as found.
 * A value beside a schedule that this tool set (an earlier run that could not
 * clean up) is a leftover: removed, so the schedule applies again. Any other
 * value was set on purpose (a source without a schedule is triggered only
 * this way; one with a schedule is parked): put back.
 */
export function afterwardsOf(purpose: Purpose, o: Syncable): Afterwards {
  if (purpose === 'restore') return { kind: 'none' }
  const schedule = o.spec.trigger?.schedule || null
  const manual = o.spec.trigger?.manual
  // an empty value is no manual trigger to VolSync (getTrigger: len > 0)
  if (!manual || (schedule !== null && isOwnToken(manual))) return { kind: 'remove', schedule }
  return { kind: 'put-back', manual }
}

/** Neither a schedule nor a manual trigger: VolSync syncs continuously. */
export const syncsContinuously = (o: Syncable) => !o.spec.trigger?.schedule && !o.spec.trigger?.manual

export function startRun(purpose: Purpose, o: Syncable, errorGraceMs = ERROR_GRACE_MS): SyncRun {
  const namespace = o.metadata.namespace ?? ''
  const name = o.metadata.name
  const run: SyncRun = {
    purpose,
    resource: RESOURCE[purpose],
    namespace,
    name,
    ref: `${namespace}/${name}`,
    schedule: o.spec.trigger?.schedule || null,
    manualBefore: o.spec.trigger?.manual ?? null,
    afterwards: afterwardsOf(purpose, o),
    seen: o,
    triggers: 0,
    errorGraceMs,
    phase: { kind: 'skipped' },
  }
  if (o.spec.paused) return run
  const failures = failureMemo(o.status?.latestMoverStatus)
  if (purpose === 'restore') {
    // created with its trigger: it starts out waiting for that token
    const token = o.spec.trigger?.manual
    return {
      ...run,
      phase: token
        ? { kind: 'syncing', token, foreign: false, failures }
        : { kind: 'failed', failure: { kind: 'trigger-removed' }, logs: '', triggered: false },
    }
  }
  return { ...run, phase: whenIdle(purpose, o, failures) }
}

/**
 * Trigger now when no sync runs. A running sync is waited for, except by
 * unlock when its mover has failed: that sync is stuck (very likely on the
 * lock), and setting the unlock makes VolSync restart its mover with
 * `restic unlock` first. A source that syncs continuously is always running
 * a sync: it is triggered at once (the sync that runs is then followed as one
 * that started before the trigger), or waiting for it to end would meet the
 * next one.
 */
function whenIdle(purpose: Purpose, o: Syncable, failures: FailureMemo): Phase {
  const since = o.status?.lastSyncStartTime
  if (!since) return { kind: 'ready' }
  if (syncsContinuously(o)) return { kind: 'ready' }
  if (purpose === 'unlock' && o.status?.latestMoverStatus?.result === 'Failed') return { kind: 'ready' }
  return { kind: 'busy', since, failures }
}

/** The state after our trigger patch, from the object the patch returned. */
export function afterTrigger(run: SyncRun, token: string, response: Syncable): SyncRun {
  const running = Boolean(response.status?.lastSyncStartTime)
  return {
    ...run,
    seen: response,
    fence: response.metadata.resourceVersion,
    triggers: run.triggers + 1,
    putBack: undefined,
    phase: {
      kind: 'syncing',
      token,
      // unlock does not care which sync carries the token: any sync that
      // completes after the patch ran the unlock (lastUnlocked says so)
      foreign: run.purpose === 'snapshot' && running,
      failures: failureMemo(response.status?.latestMoverStatus),
    },
  }
}

/** The trigger patch itself failed: nothing to wait for. */
export function triggerRefused(run: SyncRun, error: string): SyncRun {
  return { ...run, phase: { kind: 'failed', failure: { kind: 'trigger-refused', error }, logs: '', triggered: false } }
}

// ---------------------------------------------------------------- following

/** A watch restarted: it begins with the present state, so fences are lifted. */
export function liftFence(run: SyncRun): SyncRun {
  return run.fence === undefined ? run : { ...run, fence: undefined }
}

/** The error VolSync reports on `o` now, folded into what the run knew (`now`: ms). */
function noteError(run: SyncRun, o: Syncable, now: number): SyncRun {
  const cond = syncCondition(o)
  if (cond?.reason !== 'Error') return run.error ? { ...run, error: undefined } : run
  const message = cond.message || 'no message'
  if (run.error?.message === message) return run
  return { ...run, error: { message, since: run.error?.since ?? now } }
}

/** When the error the run sees will have lasted its grace (ms), or undefined. */
export function errorDeadline(run: SyncRun): number | undefined {
  if (!run.error || (run.phase.kind !== 'busy' && run.phase.kind !== 'syncing')) return undefined
  return run.error.since + run.errorGraceMs
}

/** Fails a waiting run whose error has lasted its grace at `now` (ms); else returns it as it is. */
export function expireError(run: SyncRun, now: number): SyncRun {
  const { phase, error } = run
  if (!error || (phase.kind !== 'busy' && phase.kind !== 'syncing') || now - error.since < run.errorGraceMs) return run
  const triggered = phase.kind === 'syncing'
  const forMs = now - error.since
  const failure: Failure = triggered
    ? { kind: 'sync-error', message: error.message, forMs }
    : { kind: 'running-error', message: error.message, forMs }
  return { ...run, phase: { kind: 'failed', failure, logs: '', triggered } }
}

/** The next state after seeing the object at `now` (ms; `deleted`: a DELETED watch event). */
export function observe(run: SyncRun, o: Syncable, now: number, deleted = false): SyncRun {
  const { phase, purpose } = run
  if (phase.kind !== 'busy' && phase.kind !== 'syncing') return run
  const triggered = phase.kind === 'syncing'
  const fail = (failure: Failure, logs = ''): SyncRun => ({ ...run, phase: { kind: 'failed', failure, logs, triggered } })
  if (deleted) return fail({ kind: 'deleted' })
  if (run.fence !== undefined) {
    if (o.metadata.resourceVersion !== run.fence) return run
    run = { ...run, fence: undefined }
  }
  run = noteError({ ...run, seen: o }, o, now)
  const mover = o.status?.latestMoverStatus
  if (o.spec.paused) return fail({ kind: 'paused' })

  if (phase.kind === 'busy') {
    const { memo, failure } = noteMover(phase.failures, mover)
    if (purpose === 'unlock' && failure !== 'none') return { ...run, phase: { kind: 'ready' } }
    if (failure === 'fresh') return fail({ kind: 'running-failed' }, mover?.logs ?? '')
    if (!o.status?.lastSyncStartTime) return { ...run, phase: { kind: 'ready' } }
    return expireError({ ...run, phase: { ...phase, failures: memo } }, now)
  }

  const putBack = run.putBack?.kind === 'done' ? run.putBack : undefined
  const done = putBack ? completionAfter(o, putBack) : completion(o, phase.token)
  if (done) {
    if (phase.foreign) {
      if (run.triggers >= MAX_TRIGGERS) return fail({ kind: 'raced' })
      return { ...run, phase: { kind: 'ready' } }
    }
    // a restore's verdict reads the mover's result and log itself (lib/restore/outcome.ts)
    if (done.result === 'Failed' && purpose !== 'restore') return fail({ kind: 'completed-failed' }, done.logs)
    const unlocked = o.status?.restic?.lastUnlocked
    if (purpose === 'unlock' && unlocked !== phase.token) {
      return fail({ kind: 'unlock-not-recorded', lastUnlocked: unlocked ?? '' }, done.logs)
    }
    return { ...run, phase: { kind: 'succeeded', token: phase.token, outcome: done } }
  }
  const manual = o.spec.trigger?.manual
  const expected = putBack && run.afterwards.kind === 'put-back' ? run.afterwards.manual : phase.token
  if (manual !== expected) {
    return fail(manual === undefined ? { kind: 'trigger-removed' } : { kind: 'trigger-changed', manual })
  }
  const { memo, failure } = noteMover(phase.failures, mover)
  if (failure === 'fresh') return fail({ kind: 'mover-failed' }, mover?.logs ?? '')
  return expireError({ ...run, phase: { ...phase, failures: memo } }, now)
}

// ---------------------------------------------------------------- putting a parked source's trigger back

/**
 * Whether the value found in spec.trigger.manual is to be put back now: our
 * sync runs (seen after our patch), so its completion will record that value
 * and no further sync starts. Returns status.lastSyncStartTime of that sync
 * (the put-back is guarded by it: it must still be running), else null.
 */
export function putBackDue(run: SyncRun): string | null {
  const { phase } = run
  if (run.afterwards.kind !== 'put-back' || phase.kind !== 'syncing' || phase.foreign) return null
  if (run.putBack !== undefined || run.fence !== undefined) return null
  if (run.seen.spec.trigger?.manual !== phase.token) return null
  return run.seen.status?.lastSyncStartTime ?? null
}

/** Where a put-back stands: a sync runs (started at `running`), or none has started since our trigger. */
export type PutBackGuard = { running: string } | { idle: { lastManualSync: string | null } }

/**
 * JSON patch that puts `manual` back in place of our `token`, only while the
 * object is as the guard says: the sync that started at `running` still
 * runs (its completion records `manual`), or no sync has started and
 * status.lastManualSync is unchanged (so nothing of ours ever ran). A `test`
 * with value null passes only where the field is absent (json-patch, as the
 * API server applies it; status is part of the object a patch is tested on).
 */
export function putBackPatch(token: string, manual: string, guard: PutBackGuard): unknown[] {
  const where =
    'running' in guard
      ? [{ op: 'test', path: '/status/lastSyncStartTime', value: guard.running }]
      : [
          { op: 'test', path: '/status/lastSyncStartTime', value: null },
          { op: 'test', path: '/status/lastManualSync', value: guard.idle.lastManualSync },
        ]
  return [
    { op: 'test', path: '/spec/trigger/manual', value: token },
    ...where,
    { op: 'replace', path: '/spec/trigger/manual', value: manual },
  ]
}

/** The value was put back while the sync that started at `since` ran: follow that sync to its end by its lastSyncTime. */
export function afterPutBack(run: SyncRun, since: string, response: Syncable): SyncRun {
  return {
    ...run,
    seen: response,
    fence: response.metadata.resourceVersion,
    putBack: { kind: 'done', since, lastSyncTime: response.status?.lastSyncTime ?? null },
  }
}

export function putBackRefused(run: SyncRun): SyncRun {
  return { ...run, putBack: { kind: 'refused' } }
}

/**
 * The outcome of the sync during which the value was put back, once it
 * completed: status.lastSyncTime is written only when a sync completes
 * (machine.go transitionToCleaningUp), so a new one means it did.
 */
export function completionAfter(o: Syncable, putBack: Extract<PutBack, { kind: 'done' }>): SyncOutcome | undefined {
  const status = o.status ?? {}
  if ((status.lastSyncTime ?? null) === putBack.lastSyncTime) return undefined
  return outcomeOf(status)
}

// ---------------------------------------------------------------- mover Jobs

/**
 * Whose mover a Job runs, for this run (null: not news for it). `running`
 * while the run waits for a sync it did not start to end (its new failures
 * are news); `ours` once its trigger is set, for a Job first seen before any
 * attempt failed (one that had failed attempts already was started by the
 * sync before our trigger, e.g. the stuck sync an unlock joins, which VolSync
 * replaces). An object created with its trigger (restore) had no sync
 * before: every Job of it is ours.
 */
export function whoseMover(run: SyncRun, job: JobTrack): 'running' | 'ours' | null {
  const { phase } = run
  if (phase.kind === 'busy') return 'running'
  if (phase.kind !== 'syncing') return null
  return run.purpose === 'restore' || job.firstFailed === 0 ? 'ours' : null
}

/**
 * The mover Job of the sync being waited for reached its backoffLimit:
 * VolSync records Failed (perhaps exactly the Failed already there, which
 * leaves the object unchanged) and retries with a new Job. Read as a fresh
 * Failed in observe(): our sync failed, or the running sync failed again. An
 * unlock that waits for a running sync is the exception: VolSync's record (a
 * first Failed, since the sync had none when the unlock began waiting)
 * changes the source, and observe() then lets the unlock join that sync.
 * `podLog` is the end of the failed pod's log ('' when unreadable).
 */
export function moverGaveUp(run: SyncRun, job: JobTrack, podLog: string): SyncRun {
  const { phase } = run
  if (phase.kind !== 'busy' && phase.kind !== 'syncing') return run
  if (phase.kind === 'busy' && run.purpose === 'unlock') return run
  const logs = gaveUpLog(podLog, run.seen.status?.latestMoverStatus, phase.failures.baseline)
  const failure: Failure = phase.kind === 'busy' ? { kind: 'running-gave-up', job } : { kind: 'mover-gave-up', job }
  return { ...run, phase: { kind: 'failed', failure, logs, triggered: phase.kind === 'syncing' } }
}

// ---------------------------------------------------------------- afterwards

/**
 * JSON patch that removes spec.trigger.manual only while it still holds our
 * token and, when `schedule` is given, only while that schedule is still set:
 * without a schedule, removing the manual trigger would make VolSync sync
 * continuously (machine.go: noTrigger -> shouldSync is always true).
 */
export function removeTriggerPatch(token: string, schedule?: string): unknown[] {
  return [
    { op: 'test', path: '/spec/trigger/manual', value: token },
    ...(schedule === undefined ? [] : [{ op: 'test', path: '/spec/trigger/schedule', value: schedule }]),
    { op: 'remove', path: '/spec/trigger/manual' },
  ]
}

/** What the clean-up of a run's trigger does, given the object as it is now. */
export type CleanupPlan =
  /** send this guarded patch; `fate` is what became of the trigger once it applied */
  | { kind: 'patch'; patch: unknown[]; fate: TriggerFate }
  /** nothing to send: the trigger already is as found, or it is left alone */
  | { kind: 'settled'; fate: TriggerFate }

/**
 * The clean-up of the manual trigger, from the object as it is now (null:
 * gone) and every token this run set or tried to set. Every patch is guarded
 * (`test` ops), so it applies only to the state it was planned for; when it
 * is refused, the object is read again and planned anew.
 */
export function cleanupPlan(run: SyncRun, now: Syncable | null, tokens: readonly string[]): CleanupPlan {
  const { afterwards } = run
  const left = (why: LeftWhy): CleanupPlan => ({ kind: 'settled', fate: { kind: 'left', why } })
  if (afterwards.kind === 'none') return { kind: 'settled', fate: { kind: 'untouched' } }
  if (now === null) return left({ kind: 'gone' })
  const manual = now.spec.trigger?.manual
  if (afterwards.kind === 'put-back' && manual === afterwards.manual) {
    return { kind: 'settled', fate: { kind: 'put-back', manual, synced: run.putBack?.kind === 'done' } }
  }
  if (manual === undefined) return left({ kind: 'not-set' })
  if (!tokens.includes(manual)) {
    return left(manual === run.manualBefore ? { kind: 'still-before', manual } : { kind: 'theirs', manual })
  }
  if (afterwards.kind === 'remove') {
    const { schedule } = afterwards
    const current = now.spec.trigger?.schedule || null
    if (schedule !== null && current !== schedule) return left({ kind: 'schedule-changed', from: schedule, to: current })
    return { kind: 'patch', patch: removeTriggerPatch(manual, schedule ?? undefined), fate: { kind: 'removed', schedule } }
  }
  const status = now.status ?? {}
  const fate: TriggerFate = { kind: 'put-back', manual: afterwards.manual, synced: Boolean(status.lastSyncStartTime) }
  if (status.lastSyncStartTime) {
    return { kind: 'patch', patch: putBackPatch(manual, afterwards.manual, { running: status.lastSyncStartTime }), fate }
  }
  if (status.lastManualSync === manual) return left({ kind: 'synced-first', token: manual, manual: afterwards.manual })
  return {
    kind: 'patch',
    patch: putBackPatch(manual, afterwards.manual, { idle: { lastManualSync: status.lastManualSync ?? null } }),
    fate,
  }
}

/** The object as it presumably is after our last patch (set `token`): what the clean-up plans from before it reads anything. */
export function presumed(seen: Syncable, token: string | undefined): Syncable {
  if (token === undefined) return seen
  return { ...seen, spec: { ...seen.spec, trigger: { ...seen.spec.trigger, manual: token } } }
}

// ---------------------------------------------------------------- the mover's record

/**
 * What waiting remembers about the mover, to tell a new failure from an old
 * one. VolSync never clears latestMoverStatus when a sync starts: it writes it
 * only when a mover Job succeeds (Successful, which also completes the sync)
 * or reaches its backoff limit (Failed; the Job is recreated and the sync goes
 * on). So a Failed seen when the wait began is not news.
 */
export interface FailureMemo {
  /** latestMoverStatus when the wait began (for a trigger: in the patch response) */
  baseline?: MoverStatus
  /** a result other than Failed was seen since */
  sawOther: boolean
}

export function failureMemo(baseline: MoverStatus | undefined): FailureMemo {
  return { baseline, sawOther: baseline?.result !== 'Failed' }
}

/** none: not Failed; stale: the Failed that was there when the wait began; fresh: a new failure. */
export type FailureKind = 'none' | 'stale' | 'fresh'

/**
 * Reads one observed latestMoverStatus. A Failed is fresh when no Failed was
 * there at the start, when a non-Failed result was seen since, or when its
 * logs differ from the baseline (a later Job failed with other output). A
 * later failure with byte-identical logs changes nothing on the object and
 * cannot be seen here: the mover Job shows it (moverGaveUp).
 */
export function noteMover(memo: FailureMemo, mover: MoverStatus | undefined): { memo: FailureMemo; failure: FailureKind } {
  if (mover?.result !== 'Failed') return { memo: memo.sawOther ? memo : { ...memo, sawOther: true }, failure: 'none' }
  const fresh = memo.sawOther || mover.logs !== memo.baseline?.logs
  return { memo, failure: fresh ? 'fresh' : 'stale' }
}

/** The outcome of the sync that carried `token`, once status.lastManualSync shows it; else undefined. */
export function completion(o: Syncable, token: string): SyncOutcome | undefined {
  const status = o.status ?? {}
  if (status.lastManualSync !== token) return undefined
  return outcomeOf(status)
}

/** The outcome VolSync recorded for the sync that completed last. */
function outcomeOf(status: NonNullable<Syncable['status']>): SyncOutcome {
  const mover = status.latestMoverStatus
  return {
    result: mover?.result ?? null,
    logs: mover?.logs ?? '',
    facts: readMoverLogs(mover?.logs),
    lastSyncTime: status.lastSyncTime ?? null,
    durationMs: parseGoDuration(status.lastSyncDuration) ?? null,
  }
}

/** "successfully removed 2 locks" (restic 0.18 unlock, printed only when it removed any). */
export function removedLocks(logs: string): number {
  const m = /^\s*successfully removed (\d+) locks?/m.exec(logs)
  return m ? Number(m[1]) : 0
}
