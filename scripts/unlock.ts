// task volsync:unlock APP=<app> CLUSTER=<cluster> [NAMESPACE=<ns>] [TIMEOUT=30m]
// Clear stale restic locks of an app's repository: the mover runs
// `restic unlock` at the start of a sync, so set the unlock and start one.
import { MOVER_WATCH_NOTES, type CommandSpec } from '../lib/cli.ts'
import { EXIT, OperationError } from '../lib/errors.ts'
import { runCommand } from '../lib/run.ts'
import { stoppedError, syncAndWait } from '../lib/sync/engine.io.ts'
import { SYNC_ERROR_NOTES, stoppedDetails, summaryRow, unlockReport } from '../lib/sync/view.ts'
import { findSource } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'unlock',
  summary: "clear stale locks of an app's restic repository (runs `restic unlock` in a sync now)",
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'timeout', 'error-grace', 'source'],
  required: ['app'],
  defaultTimeout: '30m',
  notes: [
    'VolSync runs `restic unlock` only inside a sync, before the backup. This sets spec.restic.unlock',
    'and spec.trigger.manual to one new token in a single patch, then waits until',
    'status.restic.lastUnlocked and status.lastManualSync both show it, and reports how many stale locks',
    'restic removed and the snapshot of the backup that followed.',
    '',
    'Plain `restic unlock` removes STALE locks only (left by a process that died; restic calls a lock stale',
    'when it was not refreshed for 30 minutes). A lock held by a live process (a running backup, prune or',
    'check, perhaps from another cluster) stays; VolSync never uses --remove-all. If the backup after the',
    'unlock still finds the repository locked, the run fails with the mover log: find and stop that process.',
    '',
    'A running sync is waited for first, unless its mover has failed: then the unlock joins it (VolSync',
    'restarts its mover with the unlock).',
    '',
    'Afterwards spec.trigger.manual is left as it was found, as by snapshot (see its --help).',
    'spec.restic.unlock keeps the token: it equals status.restic.lastUnlocked, so no further unlock',
    'runs, and removing it would only make VolSync clear lastUnlocked at the next sync. If the run',
    'stops before the unlock ran, the next sync runs it (safe: stale locks only).',
    '',
    ...SYNC_ERROR_NOTES,
    '',
    ...MOVER_WATCH_NOTES,
  ],
  examples: [
    'task -x volsync:unlock APP=odoo CLUSTER=apps',
    'task -x volsync:unlock APP=odoo CLUSTER=apps NAMESPACE=business TIMEOUT=1h',
    'tsx scripts/unlock.ts --app odoo --cluster apps',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  const { source: rs } = await findSource(ctx)
  const hints = { ...ctx.hints, app: opts.app }
  const label = `unlock of ${rs.metadata.namespace}/${rs.metadata.name}`
  const { results, stop, error } = await syncAndWait(ctx, 'unlock', [rs], { namespace: rs.metadata.namespace! }, label)
  const { run, fate } = results[0]!
  out.data({ cluster: opts.cluster, ...summaryRow(run, fate, stop, hints), unlocked: run.phase.kind === 'succeeded' })
  if (error !== undefined) {
    // an interrupt ends with its own one-line message: what became of the sync goes before it
    if (stop === 'interrupted') out.note(stoppedDetails(run, fate, hints))
    throw stoppedError(error, stoppedDetails(run, fate, hints))
  }

  const report = unlockReport(run, hints)
  if (report.error) throw new OperationError(report.error.message, report.error.details)
  for (const line of report.lines) out.result(line)
  for (const warning of report.warnings) out.warn(warning)
  return report.ok ? EXIT.OK : EXIT.FAILED
})
