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
//   backoff limit (Failed; the Job is recreated and the sync goes on).
import { parseGoDuration } from '../duration.ts'
import type { KubeObject } from '../kubectl.ts'
import { readMoverLogs, type MoverLogFacts } from '../volsync/mover-log.ts'
import { RD, RS, type MoverStatus, type SyncStatus } from '../volsync/objects.ts'
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
  phase: Phase
}

/** What became of a run's manual trigger afterwards. */
export type TriggerFate =
  /** never set by this run */
  | { kind: 'untouched' }
  /** removed: the schedule applies again */
  | { kind: 'removed' }
  /** kept on purpose: the source has no schedule */
  | { kind: 'kept'; token: string }
  /** not removed: someone else changed it (reason says what) */
  | { kind: 'left'; reason: string }
  /** the removal failed; it is retried at exit, else the manual command is printed */
  | { kind: 'pending'; error: string }

/** How waiting ended when not every run settled. */
export type Stop = 'timeout' | 'interrupted' | 'lost-contact'

export const isSettled = (p: Phase) => p.kind === 'skipped' || p.kind === 'succeeded' || p.kind === 'failed'

export const allSettled = (runs: readonly SyncRun[]) => runs.every((r) => isSettled(r.phase))

// ---------------------------------------------------------------- start

/** The merge patch that starts a sync: a new manual trigger and, for unlock, the same token as spec.restic.unlock. */
export function triggerPatch(purpose: Purpose, token: string): Record<string, unknown> {
  const spec: Record<string, unknown> = { trigger: { manual: token } }
  if (purpose === 'unlock') spec.restic = { unlock: token }
  return { spec }
}

export function startRun(purpose: Purpose, o: Syncable): SyncRun {
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
    seen: o,
    triggers: 0,
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
 * `restic unlock` first.
 */
function whenIdle(purpose: Purpose, o: Syncable, failures: FailureMemo): Phase {
  const since = o.status?.lastSyncStartTime
  if (!since) return { kind: 'ready' }
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

/** The next state after seeing the object (`deleted`: a DELETED watch event). */
export function observe(run: SyncRun, o: Syncable, deleted = false): SyncRun {
  const { phase, purpose } = run
  if (phase.kind !== 'busy' && phase.kind !== 'syncing') return run
  const triggered = phase.kind === 'syncing'
  const fail = (failure: Failure, logs = ''): SyncRun => ({ ...run, phase: { kind: 'failed', failure, logs, triggered } })
  if (deleted) return fail({ kind: 'deleted' })
  if (run.fence !== undefined) {
    if (o.metadata.resourceVersion !== run.fence) return run
    run = { ...run, fence: undefined }
  }
  run = { ...run, seen: o }
  const mover = o.status?.latestMoverStatus
  if (o.spec.paused) return fail({ kind: 'paused' })

  if (phase.kind === 'busy') {
    const { memo, failure } = noteMover(phase.failures, mover)
    if (purpose === 'unlock' && failure !== 'none') return { ...run, phase: { kind: 'ready' } }
    if (failure === 'fresh') return fail({ kind: 'running-failed' }, mover?.logs ?? '')
    if (!o.status?.lastSyncStartTime) return { ...run, phase: { kind: 'ready' } }
    return { ...run, phase: { ...phase, failures: memo } }
  }

  const done = completion(o, phase.token)
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
  if (manual !== phase.token) {
    return fail(manual === undefined ? { kind: 'trigger-removed' } : { kind: 'trigger-changed', manual })
  }
  const { memo, failure } = noteMover(phase.failures, mover)
  if (failure === 'fresh') return fail({ kind: 'mover-failed' }, mover?.logs ?? '')
  return { ...run, phase: { ...phase, failures: memo } }
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
 * What to do with spec.trigger.manual afterwards. With a schedule: remove it
 * (guarded by `test` ops), or the schedule stays ignored. Without one: keep
 * our token, since removing it makes VolSync sync continuously and putting
 * back an older value starts another sync.
 */
export const triggerAfterwards = (run: SyncRun): 'remove' | 'keep' => (run.schedule ? 'remove' : 'keep')

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
