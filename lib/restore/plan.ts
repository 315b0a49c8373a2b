// What `restore` decides and says before and around acting, as pure
// functions: whether it may ask, the plan shown before anything changes,
// the error for pods it cannot stop, and what to tell the operator when it
// did not finish.
import type { Options } from '../cli.ts'
import { UsageError } from '../errors.ts'
import { taskHint, type TaskTarget } from '../hints.ts'
import { formatAge } from '../output.ts'
import { parseResticTime, type ListedSnapshot, type RestorePoint } from '../snapshots/restic.ts'
import { fluxRefText, type SuspendDecision } from './flux.ts'
import { workloadRef, type Blocker, type Workload } from './workloads.ts'

/**
 * 'ask' on a terminal; 'skip' with YES or DRY_RUN (a dry run changes
 * nothing). With neither and no terminal to ask on, refuse before anything
 * happens: a restore replaces data and must never run by default.
 */
export function confirmationMode(opts: Pick<Options, 'yes' | 'dryRun' | 'output'>, stdinIsTTY: boolean): 'ask' | 'skip' {
  if (opts.yes || opts.dryRun) return 'skip'
  if (opts.output === 'json') {
    // JSON mode prints no plan on stdout, so there would be nothing to confirm
    throw new UsageError(
      'OUTPUT=json (--output json) prints no plan to confirm: add YES=true (--yes) to restore, ' +
        'or DRY_RUN=true (--dry-run) to see the plan. Nothing was changed.',
    )
  }
  if (stdinIsTTY) return 'ask'
  throw new UsageError(
    'restore replaces the data in the PVC and needs a confirmation, but there is no terminal to ask on. ' +
      'Nothing was changed. Run it with DRY_RUN=true (--dry-run) to see the plan, ' +
      'then with YES=true (--yes) to restore without asking.',
  )
}

/** Only an explicit yes confirms. */
export const isYes = (answer: string) => /^\s*y(es)?\s*$/i.test(answer)

/** "2026-11-25 20:00:05 UTC" */
export function utcText(s: Pick<ListedSnapshot, 'time'>): string {
  return new Date(parseResticTime(s.time)).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC')
}

/** "7c2d9e41 of 2026-11-25 20:00:05 UTC (3h ago)" */
export function snapshotText(s: ListedSnapshot, now: Date): string {
  return `${s.short_id} of ${utcText(s)} (${formatAge(now.getTime() - parseResticTime(s.time))} ago)`
}

/** How the mover is told to select it: "previous: 1", "restoreAsOf: ..., previous: 0". */
export function selectionText(point: RestorePoint): string {
  return point.restoreAsOf === undefined
    ? `previous: ${point.previous}`
    : `restoreAsOf: ${point.restoreAsOf}, previous: ${point.previous}`
}

export interface RestorePlan {
  cluster: string
  /** how the cluster was resolved ("kubeconfig ./kubeconfig-apps") */
  clusterHow: string
  namespace: string
  source: string
  /** how APP found the source ("named odoo-backup (<APP>-backup)": lib/volsync/sources.ts FoundSource.how) */
  sourceHow?: string
  /** the ReplicationSource is paused already (it is left so) */
  sourcePaused: boolean
  pvc: string
  /** "10Gi" when known */
  pvcSize?: string
  repository: string
  point: RestorePoint
  workloads: readonly Workload[]
  flux: readonly SuspendDecision[]
  destination: string
  keep: boolean
  dryRun: boolean
}

export function planText(plan: RestorePlan, now: Date): string {
  const running = plan.workloads.filter((w) => w.replicas > 0)
  const stopped = plan.workloads.filter((w) => w.replicas === 0)
  const suspend = plan.flux.filter((d) => d.action === 'suspend')
  const leave = plan.flux.filter((d): d is SuspendDecision & { action: 'leave' } => d.action === 'leave')
  const row = (label: string, value: string) => `  ${label.padEnd(13)} ${value}`
  const lines = [
    `${plan.dryRun ? 'Dry run: the restore would do this' : 'Restore plan'} (nothing has changed yet):`,
    row('cluster', `${plan.cluster} (${plan.clusterHow})`),
    row('namespace', plan.namespace),
    ...(plan.sourceHow ? [row('source', `ReplicationSource ${plan.source}, ${plan.sourceHow}`)] : []),
    row('PVC', `${plan.pvc}${plan.pvcSize ? ` (${plan.pvcSize})` : ''}: its data is replaced`),
    row('snapshot', snapshotText(plan.point.snapshot, now)),
    row('', `full id ${plan.point.snapshot.id}`),
    row('', `selected by ${selectionText(plan.point)}, as the VolSync mover will`),
    row('repository', `Secret ${plan.namespace}/${plan.repository} (from ${plan.source})`),
  ]
  if (running.length === 0) {
    lines.push(row('stop', 'nothing: no running Deployment or StatefulSet uses the PVC'))
  } else {
    running.forEach((w, i) =>
      lines.push(row(i === 0 ? 'stop' : '', `${workloadRef(w)}: ${w.replicas} -> 0 replicas, then back to ${w.replicas}`)),
    )
  }
  stopped.forEach((w) => lines.push(row('', `${workloadRef(w)}: already at 0 replicas (left at 0)`)))
  lines.push(
    row(
      'pause',
      plan.sourcePaused
        ? `ReplicationSource ${plan.source}: paused already, left paused`
        : `ReplicationSource ${plan.source} (no scheduled backup during the restore), unpaused afterwards`,
    ),
  )
  suspend.forEach((d, i) => lines.push(row(i === 0 ? 'suspend' : '', `${fluxRefText(d.ref)}, resumed afterwards`)))
  leave.forEach((d, i) => lines.push(row(suspend.length || i > 0 ? '' : 'Flux', `${fluxRefText(d.ref)}: ${d.reason}`)))
  lines.push(
    row('restore with', `ReplicationDestination ${plan.namespace}/${plan.destination}` +
      (plan.keep ? ' (kept afterwards: KEEP=true)' : ' (deleted afterwards)')),
    '',
    `Files in ${plan.pvc} that are not in snapshot ${plan.point.snapshot.short_id} will be DELETED ` +
      '(enableFileDeletion): the PVC ends up equal to the snapshot.',
  )
  if (running.length) {
    lines.push('The app is down until the restore ends; then it is scaled back and Flux is resumed.')
  }
  return lines.join('\n')
}

/** The error for pods that scaling cannot stop; `status`: the command that shows the sources of the namespace. */
export function blockersText(pvc: string, blockers: readonly Blocker[], status: string): string {
  const mover = blockers.some((b) => b.volsyncMover)
  return [
    `${pvc} is in use by pods that no Deployment or StatefulSet runs, so this tool cannot stop them:`,
    ...blockers.map((b) => `  pod ${b.pod} (${b.owner}${b.volsyncMover ? ': a VolSync mover' : ''})`),
    mover
      ? 'A VolSync mover is using the PVC (a backup with copyMethod Direct, or another restore): ' +
        `wait until it ends, then run the restore again. Follow it with:\n  ${status}`
      : 'Stop them yourself, then run the restore again.',
  ].join('\n')
}

/** The command that restores the same snapshot again, exactly. */
export function rerunCommand(app: string, namespace: string, snapshotId: string, target: TaskTarget): string {
  return taskHint('restore', { APP: app, NAMESPACE: namespace, SNAPSHOT: snapshotId }, target)
}

/** Said when the restore stops while the mover may have been writing. */
export function partialRestoreText(pvc: string, workloadsStopped: boolean, rerun: string): string {
  return [
    `The restore did not finish: ${pvc} may be PARTIALLY restored (some files from the snapshot, some as they were).`,
    'The clean-up below deletes the ReplicationDestination (which stops the mover)' +
      (workloadsStopped ? ', then starts the app again on that PVC.' : '.'),
    `To restore it completely, run again:\n  ${rerun}`,
  ].join('\n')
}
