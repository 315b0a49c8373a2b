// Is a ReplicationSource healthy? Why it needs attention, and everything
// `status` shows about it. Pure. Facts: shared/volsync-contract.md.
import { parseGoDuration } from '../duration.ts'
import { readMoverLogs } from './mover-log.ts'
import { syncCondition, type ReplicationSource } from './objects.ts'

/** A next sync this late counts as overdue. */
export const OVERDUE_GRACE_MS = 60 * 60 * 1000

/**
 * Why the last sync, though successful, backed up nothing; undefined when it
 * made a snapshot (or failed, or has not run: other reasons cover those).
 * VolSync v0.16.0 mover-restic/entry.sh skips the backup of an empty source
 * directory and still succeeds (`== Directory is empty skipping backup ===`);
 * a finished backup (`Restic completed in`) always logs `snapshot <id> saved`.
 */
export function backedUpNothing(rs: ReplicationSource): string | undefined {
  const mover = rs.status?.latestMoverStatus
  if (mover?.result !== 'Successful') return undefined
  const facts = readMoverLogs(mover.logs)
  if (facts.savedSnapshot) return undefined
  const pvc = rs.spec?.sourcePVC ? `PVC ${rs.spec.sourcePVC}` : 'the source PVC'
  if (facts.emptySource) {
    return `last sync backed up nothing: the mover found ${pvc} empty ("Directory is empty skipping backup") and made no snapshot`
  }
  if (/^\s*Restic completed in/m.test(mover.logs ?? '')) {
    return 'last sync backed up nothing: the mover finished without a "snapshot <id> saved" line'
  }
  return undefined
}

/** Why a source needs attention; empty when healthy. */
export function attentionReasons(rs: ReplicationSource, now: Date): string[] {
  const reasons: string[] = []
  const status = rs.status ?? {}
  const cond = syncCondition(rs)
  const facts = readMoverLogs(status.latestMoverStatus?.logs)
  const schedule = rs.spec?.trigger?.schedule
  const manual = rs.spec?.trigger?.manual

  if (rs.spec?.paused) reasons.push('paused: no backups run until spec.paused is removed')
  if (status.latestMoverStatus?.result === 'Failed') {
    const why = facts.errorSummary
    reasons.push(`last mover run failed${why ? `: ${why}` : ''}`)
  }
  const nothing = backedUpNothing(rs)
  if (nothing) reasons.push(nothing)
  if (cond?.reason === 'Error') reasons.push(`error: ${cond.message ?? 'no message'}`)
  if (manual !== undefined && schedule) {
    reasons.push(`manual trigger left set (${JSON.stringify(manual)}): the schedule ${schedule} is ignored`)
  } else if (!schedule) {
    // machine.go shouldSync: no trigger at all means one sync right after the other
    reasons.push(
      !manual
        ? 'no schedule and no manual trigger: VolSync syncs continuously, one backup right after the other'
        : `no schedule: backups run only when spec.trigger.manual changes (now ${JSON.stringify(manual)})`,
    )
  }
  const next = status.nextSyncTime ? Date.parse(status.nextSyncTime) : NaN
  if (!Number.isNaN(next) && now.getTime() - next > OVERDUE_GRACE_MS) {
    reasons.push(
      status.lastSyncStartTime
        ? `overdue: the sync that started ${status.lastSyncStartTime} is still running`
        : `overdue: the next sync was due at ${status.nextSyncTime}`,
    )
  }
  if (!status.lastSyncTime && !status.lastSyncStartTime) reasons.push('has never synced')
  if (facts.lockError) reasons.push('the repository is locked: run task volsync:unlock')
  return reasons
}

/** Everything `status` shows about one source. */
export interface SourceSummary {
  namespace: string
  name: string
  sourcePVC: string | null
  schedule: string | null
  manual: string | null
  lastSyncTime: string | null
  lastSyncDurationSeconds: number | null
  nextSyncTime: string | null
  syncing: boolean
  result: string | null
  latestSnapshot: string | null
  state: string | null
  stateMessage: string | null
  healthy: boolean
  attention: string[]
}

export function summarizeSource(rs: ReplicationSource, now: Date): SourceSummary {
  const status = rs.status ?? {}
  const cond = syncCondition(rs)
  const duration = parseGoDuration(status.lastSyncDuration)
  const attention = attentionReasons(rs, now)
  return {
    namespace: rs.metadata.namespace ?? '',
    name: rs.metadata.name,
    sourcePVC: rs.spec?.sourcePVC ?? null,
    schedule: rs.spec?.trigger?.schedule ?? null,
    manual: rs.spec?.trigger?.manual ?? null,
    lastSyncTime: status.lastSyncTime ?? null,
    lastSyncDurationSeconds: duration === undefined ? null : Math.round(duration / 1000),
    nextSyncTime: status.nextSyncTime ?? null,
    syncing: Boolean(status.lastSyncStartTime),
    result: status.latestMoverStatus?.result ?? null,
    latestSnapshot: readMoverLogs(status.latestMoverStatus?.logs).savedSnapshot ?? null,
    state: cond?.reason ?? null,
    stateMessage: cond?.message ?? null,
    healthy: attention.length === 0,
    attention,
  }
}
