// Manual triggers and the syncs they start, for ReplicationSources (backup,
// unlock) and ReplicationDestinations (restore). Facts (contract, VolSync
// internal/controller/statemachine/machine.go):
// - a sync starts when spec.trigger.manual differs from status.lastManualSync;
// - its completion copies manual into lastManualSync, so a sync that was
//   already running when the token was set completes "for" the token;
// - a mover Job that keeps failing sets latestMoverStatus.result=Failed and is
//   retried forever, without touching lastManualSync.
import { OperationError } from './cli.ts'
import type { Context } from './command.ts'
import type { KubeObject } from './kubectl.ts'
import { nameSuffix } from './manifests.ts'
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
 * cannot be seen: such a wait ends by its timeout, whose message shows the log.
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

/** Watches `resource` name until the sync for `token` completes. */
export async function waitForSync(
  ctx: Context,
  resource: string,
  o: Syncable,
  token: string,
  baseline: MoverStatus | undefined,
  label: string,
): Promise<SyncOutcome> {
  const { kubectl } = ctx
  return waitFor({
    what: `${label} of ${ref(o)}`,
    watch: (signal) => kubectl.watchObject<Syncable>(resource, o.metadata.name, o.metadata.namespace!, signal),
    check: syncCheck(token, baseline),
    timeoutMs: ctx.opts.timeoutMs,
    signal: ctx.signal,
    progress: ctx.out.progress(`${label} of ${ref(o)}`),
  })
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
