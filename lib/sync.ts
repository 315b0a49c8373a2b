// Manual triggers and the syncs they start, for ReplicationSources (backup,
// unlock) and ReplicationDestinations (restore). Facts (contract, VolSync
// internal/controller/statemachine/machine.go):
// - a sync starts when spec.trigger.manual differs from status.lastManualSync;
// - its completion copies manual into lastManualSync, so a sync that was
//   already running when the token was set completes "for" the token;
// - a mover Job that keeps failing sets latestMoverStatus.result=Failed and is
//   retried forever, without touching lastManualSync (the waits also follow
//   the mover Jobs: lib/mover-jobs.ts).
import { OperationError } from './cli.ts'
import type { Context } from './command.ts'
import type { KubeObject } from './kubectl.ts'
import { nameSuffix } from './manifests.ts'
import { attemptNote, gaveUpLog, gaveUpWords, whereToLook } from './mover-jobs.ts'
import { MoverJobs, type Followed } from './mover-watch.ts'
import { formatAge, parseGoDuration } from './output.ts'
import { readMoverLogs, ref, syncCondition, type MoverLogFacts, type MoverStatus, type SyncStatus } from './volsync.ts'
import { waitFor, type Verdict } from './wait.ts'

export type Syncable = KubeObject & {
  spec: { trigger?: { schedule?: string; manual?: string } }
  status?: SyncStatus
}

/** A manual-trigger token nobody else uses: volsync-ops-<purpose>-<UTC time>-<random>. */
export function newToken(purpose: string, now: Date, random: () => number = Math.random): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')
  return `volsync-ops-${purpose}-${stamp}-${nameSuffix(random)}`
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
 * cannot be seen here: the waits see it on the mover Job (lib/mover-jobs.ts).
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

/** Waits until no sync of the object is running (status.lastSyncStartTime unset). */
export function idleCheck(o: Syncable): Verdict<Syncable> {
  return o.status?.lastSyncStartTime ? { done: false, progress: syncProgress(o) } : { done: true, value: o }
}

/**
 * Watches `resource` name until the sync for `token` completes, and its mover
 * Jobs beside it (lib/mover-watch.ts): each failed attempt is said as it
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
