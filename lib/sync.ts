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
 * A check for waitFor: done when lastManualSync equals the token; fails when
 * the mover result turns Failed. `baseline` is latestMoverStatus as it was
 * when the token was set: a Failed result counts only once it differs from
 * that, or after a non-Failed result was seen (an identical stale Failed from
 * an earlier sync is not ours).
 */
export function syncCheck(token: string, baseline: MoverStatus | undefined): (o: Syncable) => Verdict<SyncOutcome> {
  let sawOther = baseline?.result !== 'Failed'
  return (o) => {
    const status = o.status ?? {}
    const mover = status.latestMoverStatus
    if (status.lastManualSync === token) {
      const duration = parseGoDuration(status.lastSyncDuration)
      return {
        done: true,
        value: {
          result: mover?.result ?? null,
          logs: mover?.logs ?? '',
          facts: readMoverLogs(mover?.logs),
          lastSyncTime: status.lastSyncTime ?? null,
          durationMs: duration ?? null,
        },
      }
    }
    if (mover?.result === 'Failed') {
      const fresh = sawOther || mover.logs !== baseline?.logs
      if (fresh) {
        throw new SyncFailedError(
          `the mover of ${ref(o)} failed (VolSync keeps retrying it; stopped waiting). Its log:`,
          mover.logs ?? '(no log)',
        )
      }
    } else {
      sawOther = true
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

/** JSON patch that removes spec.trigger.manual only while it still holds our token. */
export function removeTriggerPatch(token: string): unknown[] {
  return [
    { op: 'test', path: '/spec/trigger/manual', value: token },
    { op: 'remove', path: '/spec/trigger/manual' },
  ]
}

/** "took 1m3s" from a sync outcome. */
export function tookText(outcome: SyncOutcome): string {
  return outcome.durationMs === null ? '' : `took ${formatAge(outcome.durationMs)}`
}
