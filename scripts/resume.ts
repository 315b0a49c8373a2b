// task volsync:resume APP=<app> CLUSTER=<cluster> [YES=true] [DRY_RUN=true]
// Gives back an app held by an unfinished restore, with its PVC as it is.
import { manualCleanupText, type UndoStep } from '../lib/cleanup.ts'
import type { CommandSpec } from '../lib/cli.ts'
import { EXIT, OperationError, errorText } from '../lib/errors.ts'
import { taskHint } from '../lib/hints.ts'
import { askLine } from '../lib/prompt.ts'
import { MarkerHandle } from '../lib/restore/marker.io.ts'
import { MARKER, readMarker } from '../lib/restore/marker.ts'
import { rerunCommand } from '../lib/restore/plan.ts'
import { putBackSteps, stopDestinationStep } from '../lib/restore/quiesce.io.ts'
import { isYes } from '../lib/restore/plan.ts'
import { resumeConfirmation, resumePlanText } from '../lib/restore/resume.ts'
import { runCommand } from '../lib/run.ts'
import { ref } from '../lib/volsync/objects.ts'
import { findSource } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'resume',
  summary: 'give back an app held by an unfinished restore: stop its restore, start the app, resume Flux and the backups',
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'yes', 'dry-run', 'source'],
  required: ['app'],
  validate: (opts) => {
    resumeConfirmation(opts, Boolean(process.stdin.isTTY))
  },
  notes: [
    'A restore that stops once its ReplicationDestination exists (a failed or stalled mover, TIMEOUT, Ctrl-C,',
    'an API error) leaves the app HELD: its workloads at 0, Flux and CronJobs suspended, KEDA paused, backups',
    'held, because the PVC may be partially restored. It records what it changed, and how things were before,',
    'in the annotation volsync-ops/restore of the ReplicationSource <app>-backup, so this works from any',
    'machine. `status` flags such a source. Either restore again (the same restore command: it takes the held',
    'app over and, once it finishes, gives everything back), or run this to take the data AS IT IS.',
    '',
    'Steps: print what the record says and ask (y/N); stop and delete the ReplicationDestination of that',
    'restore if it is still there (pause it, delete it in the background, wait until no mover pod of it is',
    'left: 5 minutes at most); then, each only while it still holds what the restore set, scale the workloads',
    'back to their counts (from 0 only), unpause KEDA, resume the CronJobs and Flux, let VolSync copy the PVC',
    'again (copy trigger) and unpause the ReplicationSource; last, remove the record. A step whose object',
    'someone else changed meanwhile is left alone and says so. When a step fails, the record stays and the',
    'commands that finish by hand are printed; running resume again is safe.',
    '',
    'No record: nothing to do (exit 0). A record that says the restore is RUNNING: resume stops it too, so',
    'make sure that run has really ended (its terminal closed, its machine gone).',
    '',
    'Without a terminal, --yes or --dry-run is required (exit 2 otherwise).',
  ],
  examples: [
    'task -x volsync:resume APP=odoo CLUSTER=apps DRY_RUN=true',
    'task -x volsync:resume APP=odoo CLUSTER=apps YES=true',
    'tsx scripts/resume.ts --app odoo --cluster apps --namespace business --yes',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, out } = ctx
  const app = opts.app!
  const mode = resumeConfirmation(opts, Boolean(process.stdin.isTTY))

  const { source: rs } = await findSource(ctx)
  const namespace = rs.metadata.namespace!
  const marker = readMarker(rs)
  if (marker === undefined) {
    out.result(`No restore holds ${ref(rs)} (it has no ${MARKER} annotation): nothing to resume.`)
    return EXIT.OK
  }
  if (marker === 'unreadable') {
    throw new OperationError(
      `the ${MARKER} annotation of ReplicationSource ${ref(rs)} is not a restore record of this tool: nothing ` +
        `was changed. Read it (kubectl get ... -o yaml) and remove it by hand if no restore runs.`,
    )
  }
  out.log(
    resumePlanText({
      namespace,
      source: ref(rs),
      marker,
      rerun: rerunCommand(app, namespace, marker.snapshot.id, ctx.hints.task),
      dryRun: opts.dryRun,
    }),
  )
  if (opts.dryRun) {
    out.result('\nDry run: nothing was changed.')
    return EXIT.OK
  }
  if (mode === 'ask') {
    const answer = await askLine(`\nGive ${app} back with ${marker.pvc} as it is? [y/N] `, ctx.signal)
    if (answer === null || !isYes(answer)) {
      out.result('Not confirmed: nothing was changed.')
      return EXIT.FAILED
    }
  }

  // the mover first: nothing may start while it could still write into the PVC
  ctx.checkpoint()
  const record = MarkerHandle.found(ctx, rs, marker, rs.metadata.annotations![MARKER]!)
  const stop = stopDestinationStep(ctx, namespace, marker.destination)
  try {
    await stop.undo()
    out.note(`${stop.what}: done`)
  } catch (err) {
    throw new OperationError(
      `${stop.what} failed: ${errorText(err)}. Nothing else was changed: the app stays held. Finish it by hand, then run resume again:`,
      stop.manual.map((c) => `  ${c}`).join('\n'),
    )
  }
  const failed: UndoStep[] = []
  for (const step of putBackSteps(ctx, { name: rs.metadata.name, namespace }, marker.pvc, marker.hold)) {
    try {
      const said = await step.undo()
      out.note(`${step.what}: ${said || 'done'}`)
    } catch (err) {
      failed.push(step)
      out.note(`${step.what}: FAILED: ${errorText(err)}`)
    }
  }
  if (failed.length) {
    if (marker.state !== 'held') {
      await record.update({ ...marker, state: 'held', reason: 'resume did not finish' }).catch(() => undefined)
    }
    out.error(manualCleanupText(failed))
    throw new OperationError(`resume is incomplete: the record stays on ${ref(rs)}; run resume again once the failures above are fixed`)
  }
  const said = await record.remove()
  out.note(`remove the restore's record from ReplicationSource ${ref(rs)}: ${said || 'done'}`)
  out.result(`\n${app} is given back: it runs on ${marker.pvc} as it is, and its backups run again.`)
  out.result(`Check the app. The status of its backups: ${taskHint('status', { NAMESPACE: namespace }, ctx.hints.task)}`)
  return EXIT.OK
})
