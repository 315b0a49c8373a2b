// The manual trigger of a ReplicationSource, from "may we trigger now?" to
// "what happened": one state machine per source, shared by snapshot,
// snapshot-all and unlock. Pure: observed objects in, the next state out;
// lib/sync/follow.io.ts performs the patches and the watch it asks for.
// Facts (VolSync v0.16.0, statemachine/machine.go, mover/restic/mover.go):
// - a sync runs while status.lastSyncStartTime is set; its completion copies
//   spec.trigger.manual into status.lastManualSync, whoever set it and when;
// - with CopyMethod Snapshot/Clone the data is frozen when the sync STARTS,
//   so a sync that was already running is not a backup of "now";
// - spec.restic.unlock runs `restic unlock` (stale locks only) before the
//   backup of a sync; a new value recreates a running mover Job with it;
//   status.restic.lastUnlocked records it once that Job succeeded;
// - spec.paused scales the mover Job to 0: a sync never finishes.
import { OperationError } from '../errors.ts'
import type { KubeObject } from '../kubectl.ts'
import { formatAge, parseGoDuration } from '../output.ts'
import { readMoverLogs, type MoverLogFacts } from '../volsync/mover-log.ts'
import {
  RS,
  ref,
  syncCondition,
  type MoverStatus,
  type ReplicationSource,
  type SyncStatus,
} from '../volsync/objects.ts'
import type { Verdict } from '../wait.ts'
import { gaveUpLog, gaveUpWords, whereToLook, type JobTrack } from './jobs.ts'

export type Purpose = 'snapshot' | 'unlock'

/** A sync that keeps starting just before our trigger: give up after this many triggers. */
export const MAX_TRIGGERS = 3

export type Phase =
  /** not triggered, on purpose */
  | { kind: 'skipped'; reason: string }
  /** a sync we did not start is running; wait for it to end before triggering */
  | { kind: 'busy'; since: string; failures: FailureMemo }
  /** trigger now (the runner patches, then calls afterPatch) */
  | { kind: 'ready' }
  /**
   * waiting until status.lastManualSync == token. `foreign`: a sync was
   * already running when the token was set; its completion carries the token
   * but not data from after the trigger, so trigger again once it ends.
   */
  | { kind: 'syncing'; token: string; foreign: boolean; failures: FailureMemo }
  | { kind: 'succeeded'; token: string; outcome: SyncOutcome }
  /** `triggered`: our token was set (the mover logs, if any, are in `logs`) */
  | { kind: 'failed'; reason: string; logs: string; triggered: boolean }

export interface SourceRun {
  namespace: string
  name: string
  /** namespace/name */
  ref: string
  /** spec.trigger.schedule when the run began */
  schedule: string | null
  /** spec.trigger.manual before this run set its own */
  manualBefore: string | null
  /** the latest state seen */
  seen: ReplicationSource
  /** how many tokens were set */
  triggers: number
  /**
   * resourceVersion of our last patch: watch events are ignored until that
   * one comes by, since events queued before the patch show older state
   * (a new watch starts from the present and lifts the fence).
   */
  fence?: string
  phase: Phase
}

export const isSettled = (p: Phase) => p.kind === 'skipped' || p.kind === 'succeeded' || p.kind === 'failed'

export const allSettled = (runs: readonly SourceRun[]) => runs.every((r) => isSettled(r.phase))

/** The merge patch that starts a sync: a new manual trigger and, for unlock, the same token as spec.restic.unlock. */
export function triggerPatch(purpose: Purpose, token: string): Record<string, unknown> {
  const spec: Record<string, unknown> = { trigger: { manual: token } }
  if (purpose === 'unlock') spec.restic = { unlock: token }
  return { spec }
}

export function startRun(purpose: Purpose, rs: ReplicationSource): SourceRun {
  const namespace = rs.metadata.namespace ?? ''
  const name = rs.metadata.name
  return {
    namespace,
    name,
    ref: `${namespace}/${name}`,
    schedule: rs.spec.trigger?.schedule || null,
    manualBefore: rs.spec.trigger?.manual ?? null,
    seen: rs,
    triggers: 0,
    phase: rs.spec.paused
      ? { kind: 'skipped', reason: 'paused (spec.paused is true): no sync can run until it is unpaused' }
      : whenIdle(purpose, rs, failureMemo(rs.status?.latestMoverStatus)),
  }
}

/**
 * Trigger now when no sync runs. A running sync is waited for, except by
 * unlock when its mover has failed: that sync is stuck (very likely on the
 * lock), and setting the unlock makes VolSync restart its mover with
 * `restic unlock` first.
 */
function whenIdle(purpose: Purpose, rs: ReplicationSource, failures: FailureMemo): Phase {
  const since = rs.status?.lastSyncStartTime
  if (!since) return { kind: 'ready' }
  if (purpose === 'unlock' && rs.status?.latestMoverStatus?.result === 'Failed') return { kind: 'ready' }
  return { kind: 'busy', since, failures }
}

/** The state after our trigger patch, from the object the patch returned. */
export function afterPatch(purpose: Purpose, run: SourceRun, token: string, response: ReplicationSource): SourceRun {
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
      foreign: purpose === 'snapshot' && running,
      failures: failureMemo(response.status?.latestMoverStatus),
    },
  }
}

/** The trigger patch itself failed: nothing to wait for. */
export function patchFailed(run: SourceRun, error: string): SourceRun {
  return { ...run, phase: { kind: 'failed', reason: `could not set the manual trigger: ${error}`, logs: '', triggered: false } }
}

/** A watch restarted: it begins with the present state, so fences are lifted. */
export function liftFence(run: SourceRun): SourceRun {
  return run.fence === undefined ? run : { ...run, fence: undefined }
}

/** The next state after seeing the source (`deleted`: a DELETED watch event). */
export function observe(purpose: Purpose, run: SourceRun, o: ReplicationSource, deleted = false): SourceRun {
  const { phase } = run
  if (phase.kind !== 'busy' && phase.kind !== 'syncing') return run
  const triggered = phase.kind === 'syncing'
  const fail = (reason: string, logs = '') => ({ ...run, phase: { kind: 'failed', reason, logs, triggered } as Phase })
  if (deleted) return fail('the ReplicationSource was deleted while waiting')
  if (run.fence !== undefined) {
    if (o.metadata.resourceVersion !== run.fence) return run
    run = { ...run, fence: undefined }
  }
  run = { ...run, seen: o }
  const mover = o.status?.latestMoverStatus
  if (o.spec.paused) return fail('the ReplicationSource was paused (spec.paused) while waiting: no sync can finish')

  if (phase.kind === 'busy') {
    const { memo, failure } = noteMover(phase.failures, mover)
    if (purpose === 'unlock' && failure !== 'none') return { ...run, phase: { kind: 'ready' } }
    if (failure === 'fresh') {
      return fail(
        `the sync that was already running failed (VolSync keeps retrying it); no ${purpose} was triggered`,
        mover?.logs ?? '',
      )
    }
    if (!o.status?.lastSyncStartTime) return { ...run, phase: { kind: 'ready' } }
    return { ...run, phase: { ...phase, failures: memo } }
  }

  const done = completion(o, phase.token)
  if (done) {
    if (phase.foreign) {
      if (run.triggers >= MAX_TRIGGERS) {
        return fail(`a sync started just before each of our ${run.triggers} triggers; giving up (try again later)`)
      }
      return { ...run, phase: { kind: 'ready' } }
    }
    if (done.result === 'Failed') return fail('the sync finished but the mover reports Failed', done.logs)
    const unlocked = o.status?.restic?.lastUnlocked
    if (purpose === 'unlock' && unlocked !== phase.token) {
      return fail(
        `the sync finished without recording the unlock (status.restic.lastUnlocked is ${JSON.stringify(unlocked ?? '')})`,
        done.logs,
      )
    }
    return { ...run, phase: { kind: 'succeeded', token: phase.token, outcome: done } }
  }
  const manual = o.spec.trigger?.manual
  if (manual !== phase.token) {
    return fail(
      manual === undefined
        ? 'someone else removed spec.trigger.manual while waiting: this sync will not report back'
        : `someone else changed spec.trigger.manual to ${JSON.stringify(manual)} while waiting`,
    )
  }
  const { memo, failure } = noteMover(phase.failures, mover)
  if (failure === 'fresh') {
    return fail('the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)', mover?.logs ?? '')
  }
  return { ...run, phase: { ...phase, failures: memo } }
}

// ---------------------------------------------------------------- mover Jobs

/** What a run waits for, to tell whose mover a Job runs (lib/sync/jobs.ts moverOf). */
export function waitingFor(run: SourceRun): 'waiting-for-running' | 'waiting-for-ours' | 'other' {
  if (run.phase.kind === 'busy') return 'waiting-for-running'
  return run.phase.kind === 'syncing' ? 'waiting-for-ours' : 'other'
}

/**
 * The mover Job of the sync being waited for reached its backoffLimit:
 * VolSync records Failed (perhaps exactly the Failed already there, which
 * leaves the source unchanged) and retries with a new Job. Read as a fresh
 * Failed in observe(): our sync failed, or the running sync failed again. An
 * unlock that waits for a running sync is the exception: VolSync's record (a
 * first Failed, since the sync had none when the unlock began waiting)
 * changes the source, and observe() then lets the unlock join that sync.
 * `podLog` is the end of the failed pod's log ('' when unreadable).
 */
export function moverGaveUp(purpose: Purpose, run: SourceRun, job: JobTrack, podLog: string): SourceRun {
  const { phase } = run
  if (phase.kind !== 'busy' && phase.kind !== 'syncing') return run
  if (phase.kind === 'busy' && purpose === 'unlock') return run
  const logs = gaveUpLog(podLog, run.seen.status?.latestMoverStatus, phase.failures.baseline)
  const where = logs ? '' : `; ${whereToLook(RS, run.name, run.namespace)}`
  const reason =
    phase.kind === 'busy'
      ? `the sync that was already running failed again (its mover ${gaveUpWords(job)}; VolSync keeps retrying it); no ${purpose} was triggered`
      : `the mover failed (${gaveUpWords(job)}; VolSync keeps retrying this sync with a new Job; stopped waiting)`
  return { ...run, phase: { kind: 'failed', reason: reason + where, logs, triggered: phase.kind === 'syncing' } }
}

// ---------------------------------------------------------------- afterwards

/**
 * What to do with spec.trigger.manual afterwards. With a schedule: remove it
 * (guarded by `test` ops), or the schedule stays ignored. Without one: keep
 * our token, since removing it makes VolSync sync continuously and putting
 * back an older value starts another sync.
 */
export const triggerAfterwards = (run: SourceRun): 'remove' | 'keep' => (run.schedule ? 'remove' : 'keep')

/**
 * Why the guarded removal did not apply, from the source as it is now
 * (null: gone). `tokens` are the values this run set (or tried to);
 * `manualBefore` is what spec.trigger.manual held before.
 */
export function leftAloneReason(
  now: ReplicationSource | null,
  tokens: readonly string[],
  schedule: string,
  manualBefore: string | null,
): string {
  if (now === null) return 'the ReplicationSource no longer exists'
  const manual = now.spec.trigger?.manual
  if (manual === undefined) {
    return manualBefore === null
      ? 'spec.trigger.manual is not set: ours was never set, or someone else removed it'
      : 'spec.trigger.manual is already gone (removed by someone else)'
  }
  if (manual === manualBefore) return 'spec.trigger.manual still holds its value from before this run: ours was never set'
  if (!tokens.includes(manual)) {
    return `spec.trigger.manual now holds ${JSON.stringify(manual)}, set by someone else: left as it is`
  }
  const current = now.spec.trigger?.schedule
  return current
    ? `the schedule changed (${JSON.stringify(schedule)} -> ${JSON.stringify(current)}) during the run: remove spec.trigger.manual by hand once you are sure`
    : 'the schedule was removed during the run: without one, removing spec.trigger.manual would make VolSync sync continuously'
}

// ---------------------------------------------------------------- unlock facts

/** "successfully removed 2 locks" (restic 0.18 unlock, printed only when it removed any). */
export function removedLocks(logs: string): number {
  const m = /^\s*successfully removed (\d+) locks?/m.exec(logs)
  return m ? Number(m[1]) : 0
}

export type Syncable = KubeObject & {
  spec: { trigger?: { schedule?: string; manual?: string } }
  status?: SyncStatus
}

export interface SyncOutcome {
  result: string | null
  logs: string
  facts: MoverLogFacts
  lastSyncTime: string | null
  durationMs: number | null
}

/** The mover failed (VolSync keeps retrying; we stop waiting). */
export class SyncFailedError extends OperationError {}

/** What the sync state looks like, in a few words, for progress lines. */
export function syncProgress(o: Syncable): string {
  const cond = syncCondition(o)
  if (o.status?.lastSyncStartTime) return `syncing since ${o.status.lastSyncStartTime}`
  return cond?.reason ? `${cond.reason}${cond.message ? `: ${cond.message}` : ''}` : 'waiting for VolSync'
}

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
 * cannot be seen here: the waits see it on the mover Job (lib/sync/jobs.ts).
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

/**
 * A check for waitFor: done when lastManualSync equals the token; fails fast
 * on a fresh mover failure (see noteMover). `baseline` is latestMoverStatus as
 * it was when the token was set.
 */
export function syncCheck(token: string, baseline: MoverStatus | undefined): (o: Syncable) => Verdict<SyncOutcome> {
  let memo = failureMemo(baseline)
  return (o) => {
    const done = completion(o, token)
    if (done) return { done: true, value: done }
    const mover = o.status?.latestMoverStatus
    const noted = noteMover(memo, mover)
    memo = noted.memo
    if (noted.failure === 'fresh') {
      throw new SyncFailedError(
        `the mover of ${ref(o)} failed (VolSync keeps retrying it; stopped waiting). Its log:`,
        mover?.logs || '(no log)',
      )
    }
    return { done: false, progress: syncProgress(o) }
  }
}

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

/** "took 1m3s" from a sync outcome. */
export function tookText(outcome: SyncOutcome): string {
  return outcome.durationMs === null ? '' : `took ${formatAge(outcome.durationMs)}`
}
