// task volsync:snapshot APP=<app> CLUSTER=<cluster> [NAMESPACE=<ns>] [TIMEOUT=30m]
// Back up one app now: trigger its ReplicationSource, wait for the backup,
// report the new restic snapshot, and give the source back to its schedule.
import type { CommandSpec } from '../lib/cli.ts'
import { EXIT, OperationError } from '../lib/errors.ts'
import { runCommand } from '../lib/run.ts'
import { stoppedError, syncAndWait } from '../lib/sync/engine.io.ts'
import { snapshotReport, stoppedDetails, summaryRow } from '../lib/sync/view.ts'
import { findSource } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'snapshot',
  summary: 'back up one app now and report the new restic snapshot',
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'timeout'],
  required: ['app'],
  defaultTimeout: '30m',
  notes: [
    'Sets spec.trigger.manual of <app>-backup to a new token and waits (a watch) until',
    'status.lastManualSync shows it. A sync that is already running is waited for first: its',
    'completion would otherwise be taken for ours. A mover that fails stops the wait (VolSync',
    'keeps retrying it): its log is printed and the exit code is 1. The mover Jobs are watched too',
    '(jobs.batch, one more watch): each failed attempt is printed as it happens, and a Job that fails',
    'all 8 attempts ends the wait even when VolSync\'s Failed record looks exactly as before. Without',
    'RBAC to watch jobs a note says so, and only the status is followed.',
    'Afterwards (also on failure, timeout and Ctrl-C) the manual trigger is removed again, but only',
    'while it still holds our token, so the schedule applies again. A source without a schedule',
    'keeps the token: removing it would make VolSync sync continuously.',
    'An empty source directory is skipped by VolSync: the sync succeeds but no snapshot is taken.',
  ],
  examples: [
    'tsx scripts/snapshot.ts --app odoo --cluster apps',
    'tsx scripts/snapshot.ts --app odoo --cluster apps --namespace business --timeout 1h',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  const rs = await findSource(kubectl, opts.app!, opts.namespace)
  const hints = { ...ctx.hints, app: opts.app }
  const label = `backup of ${rs.metadata.namespace}/${rs.metadata.name}`
  const { results, stop, error } = await syncAndWait(ctx, 'snapshot', [rs], { namespace: rs.metadata.namespace! }, label)
  const { run, fate } = results[0]!
  out.data({ cluster: opts.cluster, ...summaryRow(run, fate, stop, hints) })
  if (error !== undefined) throw stoppedError(error, stoppedDetails(run, hints))

  const report = snapshotReport(run, hints)
  if (report.error) throw new OperationError(report.error.message, report.error.details)
  for (const line of report.lines) out.result(line)
  for (const warning of report.warnings) out.warn(warning)
  return report.ok ? EXIT.OK : EXIT.FAILED
})
