// task volsync:snapshot APP=<app> CLUSTER=<cluster> [NAMESPACE=<ns>] [TIMEOUT=30m]
// Back up one app now: trigger its ReplicationSource, wait for the backup,
// report the new restic snapshot, and give the source back to its schedule.
import { MOVER_WATCH_NOTES, type CommandSpec } from '../lib/cli.ts'
import { EXIT, OperationError } from '../lib/errors.ts'
import { runCommand } from '../lib/run.ts'
import { newSnapshotFate } from '../lib/snapshots/retention.ts'
import { newSnapshotLife, retentionFields } from '../lib/snapshots/view.ts'
import { stoppedError, syncAndWait } from '../lib/sync/engine.io.ts'
import { SYNC_ERROR_NOTES, TRIGGER_NOTES, snapshotReport, stoppedDetails, summaryRow } from '../lib/sync/view.ts'
import type { SyncRun } from '../lib/sync/engine.ts'
import { ref, type ReplicationSource } from '../lib/volsync/objects.ts'
import { findSource } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'snapshot',
  summary: 'back up one app now and report the new restic snapshot',
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'timeout', 'error-grace', 'source'],
  required: ['app'],
  defaultTimeout: '30m',
  notes: [
    "Sets spec.trigger.manual of the app's ReplicationSource to a new token and waits (a watch) until",
    'status.lastManualSync shows it, then reports the result, how long the mover took and the new restic',
    "snapshot (from the mover's `snapshot <id> saved`). A sync that is already running is waited for first:",
    'its completion would otherwise be taken for ours; if its mover uses up its attempts, the run stops',
    '("the sync that was already running failed again"; nothing was triggered). A mover that fails stops the',
    'wait (VolSync would retry it forever): its log is printed and the exit code is 1.',
    '',
    ...TRIGGER_NOTES,
    '',
    ...SYNC_ERROR_NOTES,
    '',
    'A paused source (spec.paused) is refused: nothing is changed. One paused by a restore of this tool is named',
    'as such (running, or HELD after it stopped half way: the PVC may be partially restored), with the',
    '`task volsync:resume` that gives the app back, never a command to unpause it. An empty source directory',
    'is skipped by VolSync: the sync succeeds, no snapshot is taken, and a warning says so.',
    '',
    "How long the new snapshot is expected to live: VolSync runs `restic forget` with the source's",
    "spec.restic.retain after every backup, so the source's schedule (UTC) is applied one backup at a time",
    '(see list --help, KEPT BY and UNTIL). When the next scheduled backup is expected to forget it (a snapshot',
    'taken in the same hour as that backup, with an hourly rule), a warning says so: hold the schedule to keep it',
    '(docs/runbooks/volsync.md, "Keep a snapshot"). JSON adds keptBy, expectedUntil and expectedUntilBackups.',
    '',
    ...MOVER_WATCH_NOTES,
  ],
  examples: [
    'task -x volsync:snapshot APP=odoo CLUSTER=apps',
    'task -x volsync:snapshot APP=odoo CLUSTER=apps NAMESPACE=business TIMEOUT=2h OUTPUT=json',
    'tsx scripts/snapshot.ts --app odoo --cluster apps --timeout 1h',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  const { source: rs } = await findSource(ctx)
  const hints = { ...ctx.hints, app: opts.app }
  const label = `backup of ${rs.metadata.namespace}/${rs.metadata.name}`
  const { results, stop, error } = await syncAndWait(ctx, 'snapshot', [rs], { namespace: rs.metadata.namespace! }, label)
  const { run, fate } = results[0]!
  const life = newSnapshotLifeOf(run.phase, rs)
  out.data({ cluster: opts.cluster, ...summaryRow(run, fate, stop, hints), ...retentionFields(life?.fate) })
  if (error !== undefined) {
    // an interrupt ends with its own one-line message: what became of the sync goes before it
    if (stop === 'interrupted') out.note(stoppedDetails(run, fate, hints))
    throw stoppedError(error, stoppedDetails(run, fate, hints))
  }

  const report = snapshotReport(run, hints)
  if (report.error) throw new OperationError(report.error.message, report.error.details)
  for (const line of report.lines) out.result(line)
  if (life) out.result(life.text.line)
  for (const warning of report.warnings) out.warn(warning)
  if (life?.text.warning) out.warn(life.text.warning)
  return report.ok ? EXIT.OK : EXIT.FAILED
})

/** How long the snapshot this run saved is expected to live, from the source's retain policy and schedule. */
function newSnapshotLifeOf(phase: SyncRun['phase'], rs: ReplicationSource) {
  if (phase.kind !== 'succeeded' || !phase.outcome.facts.savedSnapshot) return null
  const now = new Date()
  // the snapshot's own time is a little before the sync ended; close enough for hours and days
  const taken = phase.outcome.lastSyncTime ? Date.parse(phase.outcome.lastSyncTime) : now.getTime()
  const { fate, retention } = newSnapshotFate(rs, taken, now.getTime())
  return { fate, text: newSnapshotLife(ref(rs), phase.outcome.facts.savedSnapshot, fate, retention, now) }
}
