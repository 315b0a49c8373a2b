// Is a ReplicationSource healthy? Why it needs attention, and everything
// `status` shows about it. Pure. Facts: shared/volsync-contract.md.
import { parseGoDuration } from '../duration.ts'
import { shellQuote, taskHint, type TaskTarget } from '../hints.ts'
import { readMoverLogs, type MoverLogFacts } from './mover-log.ts'
import { syncCondition, type ReplicationSource } from './objects.ts'
import { readVerification, verificationAttention, type VerificationRecord } from './verification.ts'

/** A verification older than this needs attention, unless STALE_AFTER says otherwise. */
export const DEFAULT_STALE_AFTER_MS = 30 * 86_400_000

/**
 * The annotation a restore keeps on the app's ReplicationSource from its
 * first change until everything is put back (lib/restore/marker.ts writes
 * it): while it runs, and while it holds the app after stopping half way.
 */
export const RESTORE_MARKER = 'volsync-ops/restore'
/** The value a restore gives the PVC's volsync.backube/use-copy-trigger while it holds VolSync's copies (lib/restore/backups.ts). */
export const RESTORE_COPY_TRIGGER = 'held-by-volsync-ops-restore'

/** What `status` reads of that record. */
export interface RestoreMark {
  /** running: a restore is (or was, if its process died) at work; held: it stopped, the app is held */
  state: 'running' | 'held'
  /** when the run began (UTC) */
  started: string
  /** user@host of the run */
  by: string
  snapshot: { id: string; time: string }
  /** its ReplicationDestination */
  destination: string
  pvc: string
  /** why the app is held */
  reason?: string
}

/** The restore record on a source: undefined when there is none, 'unreadable' when it is not one of ours. */
export function restoreMark(rs: Pick<ReplicationSource, 'metadata'>): RestoreMark | 'unreadable' | undefined {
  const text = rs.metadata.annotations?.[RESTORE_MARKER]
  if (text === undefined) return undefined
  try {
    const m = JSON.parse(text) as RestoreMark & { v?: number }
    if (m?.v === 1 && (m.state === 'running' || m.state === 'held') && typeof m.started === 'string' && m.snapshot) return m
  } catch {
    // not JSON
  }
  return 'unreadable'
}

/** "the restore of snapshot 7c2d9e41 started 2026-11-26 04:00:00 UTC by ops@laptop (ReplicationDestination odoo-restore-...)" */
export function restoreMarkText(m: RestoreMark): string {
  const when = m.started.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC')
  return `the restore of snapshot ${m.snapshot.id.slice(0, 8)} started ${when} by ${m.by} (ReplicationDestination ${m.destination})`
}

/**
 * Why `status` flags a source with a restore record. `resume`: the command
 * that gives the app back (task volsync:resume ...).
 */
export function restoreAttention(m: RestoreMark | 'unreadable', resume: string): string {
  if (m === 'unreadable') {
    return `its ${RESTORE_MARKER} annotation is not a restore record of volsync-ops: remove it by hand once no restore runs`
  }
  if (m.state === 'held') {
    return (
      `HELD by an unfinished restore: ${restoreMarkText(m)} stopped` +
      (m.reason ? ` (${m.reason})` : '') +
      `; ${m.pvc} may be partially restored, the app is stopped and its backups are held. ` +
      `Restore again, or give the app back as it is: ${resume}`
    )
  }
  return (
    `a restore is running: ${restoreMarkText(m)}; the app is stopped and its backups are held until it ends ` +
    `(if that run was killed, give the app back with: ${resume})`
  )
}

/** A next sync this late counts as overdue. */
export const OVERDUE_GRACE_MS = 60 * 60 * 1000

/**
 * Why the last sync, though successful, backed up nothing; undefined when it
 * made a snapshot (or failed, or has not run: other reasons cover those).
 * VolSync v0.16.0 mover-restic/entry.sh skips the backup of an empty source
 * directory and still succeeds (`== Directory is empty skipping backup ===`);
 * a finished backup (`Restic completed in`) always logs `snapshot <id> saved`.
 */
export function backedUpNothing(rs: ReplicationSource, logFacts?: MoverLogFacts): string | undefined {
  const mover = rs.status?.latestMoverStatus
  if (mover?.result !== 'Successful') return undefined
  const facts = logFacts ?? readMoverLogs(mover.logs)
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

/**
 * `task volsync:<name> APP=<app> NAMESPACE=<ns>` for this source (its name
 * without -backup finds it again: lib/volsync/sources.ts), for this run's
 * cluster when `target` is given.
 */
export function sourceTaskCommand(name: string, rs: Pick<ReplicationSource, 'metadata'>, target?: TaskTarget): string {
  const vars = { APP: rs.metadata.name.replace(/-backup$/, ''), NAMESPACE: rs.metadata.namespace }
  if (target) return taskHint(name, vars, target)
  return [`task volsync:${name}`, ...Object.entries(vars).map(([k, v]) => `${k}=${shellQuote(v ?? '')}`)].join(' ')
}

/** `task volsync:resume APP=<app> NAMESPACE=<ns>`, for this run's cluster when `target` is given. */
export const resumeCommand = (rs: Pick<ReplicationSource, 'metadata'>, target?: TaskTarget) => sourceTaskCommand('resume', rs, target)

/** What a source's mover log and verification record say: read once per source (status reads thousands). */
export interface SourceFacts {
  logs: MoverLogFacts
  verification: VerificationRecord | null
}

export const sourceFacts = (rs: ReplicationSource): SourceFacts => ({
  logs: readMoverLogs(rs.status?.latestMoverStatus?.logs),
  verification: readVerification(rs),
})

/**
 * Why a source needs attention; empty when healthy. `staleAfterMs`: how old
 * its last verification may be; `target`: this run's cluster, for the
 * commands a reason names (lib/hints.ts); `read`: sourceFacts(rs), when the
 * caller has it already.
 */
export function attentionReasons(
  rs: ReplicationSource,
  now: Date,
  staleAfterMs = DEFAULT_STALE_AFTER_MS,
  target?: TaskTarget,
  read: SourceFacts = sourceFacts(rs),
): string[] {
  const reasons: string[] = []
  const status = rs.status ?? {}
  const cond = syncCondition(rs)
  const facts = read.logs
  const schedule = rs.spec?.trigger?.schedule
  const manual = rs.spec?.trigger?.manual

  const mark = restoreMark(rs)
  if (mark) reasons.push(restoreAttention(mark, resumeCommand(rs, target)))
  // a restore pauses the source: its record says so already
  if (rs.spec?.paused && !mark) reasons.push('paused: no backups run until spec.paused is removed')
  if (status.latestMoverStatus?.result === 'Failed') {
    const why = facts.errorSummary
    reasons.push(`last mover run failed${why ? `: ${why}` : ''}`)
  }
  const nothing = backedUpNothing(rs, facts)
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
  if (facts.lockError) reasons.push(`the repository is locked: run ${sourceTaskCommand('unlock', rs, target)}`)
  const verified = verificationAttention(read.verification, now, staleAfterMs)
  if (verified) reasons.push(verified)
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
  /** when a verification (volsync:verify) last succeeded */
  lastVerified: string | null
  /** the latest verification, as recorded on the source */
  verification: VerificationRecord | null
}

export function summarizeSource(
  rs: ReplicationSource,
  now: Date,
  staleAfterMs = DEFAULT_STALE_AFTER_MS,
  target?: TaskTarget,
): SourceSummary {
  const status = rs.status ?? {}
  const cond = syncCondition(rs)
  const duration = parseGoDuration(status.lastSyncDuration)
  const read = sourceFacts(rs)
  const attention = attentionReasons(rs, now, staleAfterMs, target, read)
  const verification = read.verification
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
    latestSnapshot: read.logs.savedSnapshot ?? null,
    state: cond?.reason ?? null,
    stateMessage: cond?.message ?? null,
    healthy: attention.length === 0,
    attention,
    lastVerified: verification?.lastSuccess ?? null,
    verification,
  }
}
