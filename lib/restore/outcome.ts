// How a restore ended, as pure functions: did the mover restore the planned
// snapshot (its log decides, since VolSync reports success when nothing was
// restored), and the JSON report of `restore --output json`.
import type { ListedSnapshot, RestorePoint } from '../snapshots/restic.ts'
import type { SyncOutcome } from '../sync/engine.ts'
import { utcText } from './plan.ts'
import type { Verdict } from './stages.ts'
import type { Workload } from './workloads.ts'

export type RestoreVerdict =
  | { ok: true; kind: 'restored'; message: string }
  | { ok: false; kind: Exclude<Verdict, 'restored'>; message: string; details: string; nothingRestored: boolean }

/**
 * Did the mover restore the planned snapshot? VolSync reports success when
 * nothing was restored (no eligible snapshot, or a repository it had to
 * create), so the logs decide: `restoring snapshot <id>` names what was
 * restored (`restoring <Snapshot <id> ...>` before restic 0.17). `list` is
 * the command that lists the snapshots again.
 */
export function judgeRestore(
  outcome: Pick<SyncOutcome, 'result' | 'logs' | 'facts'>,
  planned: ListedSnapshot,
  pvc: string,
  list: string,
): RestoreVerdict {
  const { facts } = outcome
  const logs = outcome.logs.trim() || '(the mover left no log)'
  if (outcome.result === 'Failed') {
    return {
      ok: false,
      kind: 'failed',
      message: `the restore mover failed; ${pvc} may be partially restored. Its log:`,
      details: logs,
      nothingRestored: false,
    }
  }
  if (facts.initializedRepository) {
    return {
      ok: false,
      kind: 'nothing',
      nothingRestored: true,
      message:
        `NOTHING WAS RESTORED: the mover found no repository and created a new, empty one ("Initialize Dir"). ` +
        `The repository Secret points at the wrong place, or the repository was removed since the listing. ` +
        `Check RESTIC_REPOSITORY in it (and remove the empty repository it created). The mover log:`,
      details: logs,
    }
  }
  if (facts.nothingToRestore) {
    return {
      ok: false,
      kind: 'nothing',
      nothingRestored: true,
      message:
        `NOTHING WAS RESTORED: the mover found no eligible snapshot ("No eligible snapshots found"), ` +
        `although VolSync reports success. The snapshots changed since the listing; list them again with:\n  ${list}\nThe mover log:`,
      details: logs,
    }
  }
  if (!facts.restoredSnapshot) {
    return {
      ok: false,
      kind: 'nothing',
      nothingRestored: true,
      message:
        `the mover reported success but its log names no restored snapshot (no "restoring" line): ` +
        `treat ${pvc} as NOT restored. The mover log:`,
      details: logs,
    }
  }
  const restored = facts.restoredSnapshot
  if (!sameSnapshot(restored, planned)) {
    return {
      ok: false,
      kind: 'other',
      nothingRestored: false,
      message:
        `THE MOVER RESTORED A DIFFERENT SNAPSHOT: planned ${planned.short_id} (${planned.time}), ` +
        `restored ${restored}. ${pvc} now holds snapshot ${restored}. The repository changed between the ` +
        `listing and the restore (a backup ran, or snapshots were pruned): list them again, then restore ` +
        `again with SNAPSHOT=<id>:\n  ${list}\nThe mover log:`,
      details: logs,
    }
  }
  return { ok: true, kind: 'restored', message: `Restored snapshot ${planned.short_id} of ${utcText(planned)} into ${pvc}` }
}

/** restic prints short ids (8 hex digits) or full ones: compare on the shorter. */
export function sameSnapshot(id: string, snap: Pick<ListedSnapshot, 'id'>): boolean {
  return id.length <= snap.id.length ? snap.id.startsWith(id) : id.startsWith(snap.id)
}

/** What `restore --output json` prints: the plan, and what happened. */
export interface RestoreReport {
  cluster: string
  namespace: string
  source: string
  pvc: string
  destination: string
  snapshot: { id: string; shortId: string; time: string }
  /** what the ReplicationDestination selects by */
  previous: number
  restoreAsOf: string | null
  workloads: { kind: string; name: string; replicas: number }[]
  dryRun: boolean
  kept: boolean
  /** the mover restored the planned snapshot */
  restored: boolean
  /** the snapshot id the mover log names, when it names one */
  restoredSnapshot: string | null
  durationSeconds: number | null
  /** the PVC may hold part of the snapshot (or other data than planned): restore again before trusting it */
  pvcMayBePartial: boolean
  ok: boolean
  message: string
  /** the app is held (workloads at 0, Flux suspended, backups held) until a restore finishes or volsync:resume runs */
  held: boolean
}

export interface RestoreReportInput {
  cluster: string
  namespace: string
  source: string
  pvc: string
  destination: string
  point: RestorePoint
  workloads: Pick<Workload, 'kind' | 'name' | 'replicas'>[]
  dryRun: boolean
  kept: boolean
}

/** How the restore ended, when it got past the plan. */
export type RestoreEnd =
  /** the mover finished; the verdict on its log decides */
  | { outcome: Pick<SyncOutcome, 'facts' | 'durationMs'>; verdict: RestoreVerdict; pvcMayBePartial: boolean; held: boolean }
  /** it stopped first (failed or stalled mover, timeout, Ctrl-C, an API error); the error's message */
  | { stopped: string; pvcMayBePartial: boolean; held: boolean }

/**
 * The JSON report. Without an end it is the dry run's (nothing done); a
 * finished mover's verdict decides `ok` and `restored`; a restore that stopped
 * is not ok, and says whether the mover may have written part of the PVC.
 */
export function restoreReport(input: RestoreReportInput, end?: RestoreEnd): RestoreReport {
  const { point } = input
  const plan = {
    cluster: input.cluster,
    namespace: input.namespace,
    source: input.source,
    pvc: input.pvc,
    destination: input.destination,
    snapshot: { id: point.snapshot.id, shortId: point.snapshot.short_id, time: point.snapshot.time },
    previous: point.previous,
    restoreAsOf: point.restoreAsOf ?? null,
    workloads: input.workloads.map(({ kind, name, replicas }) => ({ kind, name, replicas })),
    dryRun: input.dryRun,
    kept: input.kept,
  }
  const nothing = { restored: false, restoredSnapshot: null, durationSeconds: null, pvcMayBePartial: false }
  if (end === undefined) return { ...plan, ...nothing, ok: input.dryRun, message: 'dry run: nothing was changed', held: false }
  if ('stopped' in end) {
    return { ...plan, ...nothing, pvcMayBePartial: end.pvcMayBePartial, ok: false, message: end.stopped, held: end.held }
  }
  const { outcome, verdict } = end
  const ok = verdict.ok && !end.held
  return {
    ...plan,
    restored: verdict.ok,
    restoredSnapshot: outcome.facts.restoredSnapshot ?? null,
    durationSeconds: outcome.durationMs == null ? null : Math.round(outcome.durationMs / 1000),
    pvcMayBePartial: end.pvcMayBePartial,
    ok,
    message: verdict.message,
    held: end.held,
  }
}
