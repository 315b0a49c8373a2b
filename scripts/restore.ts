// task volsync:restore APP=<app> CLUSTER=<cluster> [SNAPSHOT=] [YES=true] [DRY_RUN=true] [KEEP=true]
// Restores an app's PVC from one restic snapshot, with the app stopped.
import { MOVER_WATCH_NOTES, type CommandSpec } from '../lib/cli.ts'
import { EXIT, OperationError, errorText } from '../lib/errors.ts'
import { taskHint } from '../lib/hints.ts'
import { newToken } from '../lib/names.ts'
import { yamlText } from '../lib/output.ts'
import { askLine } from '../lib/prompt.ts'
import type { KubeObject } from '../lib/kubectl.ts'
import { copyMethodOf, runningSyncRefusal, sourceCopy } from '../lib/restore/backups.ts'
import { restoreDestination, restoreName } from '../lib/restore/destination.ts'
import { quiescePlan, type LiveState } from '../lib/restore/hold.ts'
import { busyError, whoAmI } from '../lib/restore/marker.io.ts'
import { MARKER, readMarker } from '../lib/restore/marker.ts'
import { judgeRestore, restoreReport } from '../lib/restore/outcome.ts'
import { pinPoint } from '../lib/restore/pin.ts'
import { blockersText, confirmationMode, isYes, planText, rerunCommand } from '../lib/restore/plan.ts'
import { readClaimUsers, readCronJobs, readFluxDecisions, readScaledObjects } from '../lib/restore/quiesce.io.ts'
import { RestoreRun } from '../lib/restore/restore.io.ts'
import { TO_PVC_NOTES, checkToPvcFlags } from '../lib/recover/to-pvc.ts'
import { PREVIEW_NOTES } from '../lib/recover/preview.ts'
import { withRestorePreview } from '../lib/recover/preview.io.ts'
import { restoreToNewPvc } from '../lib/recover/to-pvc.io.ts'
import { cronJobDecisions, retentionRefusal, scaledObjectDecisions } from '../lib/restore/writers.ts'
import { runCommand } from '../lib/run.ts'
import { listSnapshots } from '../lib/snapshots/list.io.ts'
import { resticImage } from '../lib/snapshots/pod.ts'
import { resolveRestorePoint } from '../lib/snapshots/restic.ts'
import { tookText } from '../lib/sync/view.ts'
import { ref } from '../lib/volsync/objects.ts'
import { restoreMarkText } from '../lib/volsync/health.ts'
import { findSource } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'restore',
  summary: "restore an app's PVC from a restic snapshot, with the app stopped",
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'snapshot', 'yes', 'dry-run', 'keep', 'timeout', 'source', 'to-pvc', 'to-namespace', 'error-grace'],
  required: ['app'],
  defaultTimeout: '2h',
  checkEnv: (env) => void resticImage(env),
  validate: (opts) => {
    checkToPvcFlags(opts)
    if (!opts.toPvc) confirmationMode(opts, Boolean(process.stdin.isTTY))
  },
  notes: [
    "The target is the app's ReplicationSource (APP, or SOURCE; the plan says how it was found): its",
    'sourcePVC is restored, from the repository Secret it names, with its mover settings (moverSecurityContext,',
    'moverServiceAccount, moverResources, moverPodLabels, moverAffinity, moverVolumes, customCA, the cache',
    'settings). Files in the PVC that are not in the snapshot are DELETED: the PVC ends up equal to the snapshot.',
    '',
    'SNAPSHOT: empty = the latest; N = N before the latest; a restic id, short or full; an RFC 3339 time = the',
    'newest snapshot at or before it. The snapshots are always listed first (one-shot pod, as list; RESTIC_IMAGE',
    'applies), so the plan names the exact snapshot, and the ReplicationDestination is always pinned to it',
    '(restoreAsOf = its second, previous: 0): a backup that lands after the listing cannot shift what is',
    'restored. A snapshot that cannot be selected exactly (another one in the same second) or an unknown id',
    'stops before anything changes; a snapshot that a backup\'s forget dropped meanwhile too.',
    '',
    'Refused before any change: a restore of the app already running (its record on the source), a backup',
    'running, a StatefulSet with whenScaled: Delete on the PVC, a pod that no Deployment or StatefulSet runs (a',
    'Job, a bare pod) using the PVC. An app HELD by a restore that stopped half way is taken over: this restore',
    'retries it, and puts the app back as that one found it.',
    '',
    'Steps: find the Deployments/StatefulSets that use the PVC (pods that mount it, pod templates), the',
    'CronJobs that mount it, the KEDA ScaledObjects of the workloads and the Flux Kustomizations/HelmReleases',
    'that manage them; print the plan and ask (y/N); record the restore on the ReplicationSource (annotation',
    'volsync-ops/restore); hold the backups (pause the source; for copyMethod Snapshot/Clone also hold',
    "VolSync's copy trigger on the PVC, so a scheduled sync takes no VolumeSnapshot or clone); suspend Flux,",
    'the CronJobs and the ScaledObjects (unless already so); scale the workloads to 0 (only from the recorded',
    'count) and wait until no pod mounts the PVC; create the ReplicationDestination <app>-restore-<UTC time>',
    "(copyMethod Direct, enableFileDeletion, the source's Secret and mover settings) and wait for it. A pod",
    'that starts using the PVC while the mover restores is reported, and the app is then HELD.',
    '',
    'The mover log decides: "Restored snapshot <id> ..." (exit 0); exit 1 on a failed mover, "No eligible',
    'snapshots" (which VolSync reports as success), "Initialize Dir" (a wrong repository: the mover created an',
    'empty one), no `restoring` line, or another snapshot than planned. The wait for the mover ends on its',
    "result, on VolSync's Error condition lasting ERROR_GRACE, on a stall (no progress in the mover's log, Job",
    'or pods for VOLSYNC_OPS_STALL_AFTER, default 30m; restic\'s retry warnings are no progress), or on TIMEOUT',
    'only when one is given: a slow restore that makes progress is never cut. TIMEOUT bounds each other wait.',
    '',
    'Afterwards, on success: delete the ReplicationDestination, scale the workloads back to their recorded',
    'replicas, resume what was suspended, release the backups, remove the record; each put-back is guarded:',
    'what someone else changed meanwhile is left alone, and said. On a failure, timeout or Ctrl-C BEFORE the',
    'ReplicationDestination exists: the same. AFTER it exists (the PVC may be half-written): the',
    'ReplicationDestination is stopped and deleted (waiting until no mover pod is left), but the app is HELD:',
    'workloads at 0, Flux and the rest suspended, backups held, the record says held. The output prints the',
    'command that retries the restore and `task volsync:resume APP=...`, which gives the app back as it is',
    '(from any machine). A failed clean-up prints the commands that finish it by hand. --keep keeps the',
    'ReplicationDestination of a FINISHED restore and says how to delete it.',
    '',
    'Without a terminal, --yes or --dry-run is required (exit 2 otherwise); so is it with --output json.',
    '',
    'JSON: the plan and the outcome as one document: {cluster, namespace, source, pvc, destination, snapshot:',
    '{id, shortId, time}, previous, restoreAsOf, workloads, dryRun, kept, restored, restoredSnapshot (the id',
    'the mover log names), durationSeconds, pvcMayBePartial, ok, message}, and manifest in a dry run. A',
    'restore that stops after the plan prints it too (ok false; pvcMayBePartial true when the mover may have',
    'written part of the PVC: restore again before starting the app on it). Nothing is printed on stdout',
    'when it stops before the plan: the exit code and stderr say why.',
    '',
    ...MOVER_WATCH_NOTES,
    '',
    ...PREVIEW_NOTES,
    '',
    ...TO_PVC_NOTES,
  ],
  examples: [
    'task -x volsync:restore APP=odoo CLUSTER=apps DRY_RUN=true',
    'task -x volsync:restore APP=odoo CLUSTER=apps SNAPSHOT=7c2d9e41',
    'task -x volsync:restore APP=odoo CLUSTER=apps SNAPSHOT=1 YES=true KEEP=true TIMEOUT=4h',
    'task -x volsync:restore APP=odoo CLUSTER=apps SNAPSHOT=2026-11-25T12:00:00Z YES=true',
    "task -x volsync:restore APP=odoo CLUSTER=apps YES=true OUTPUT=json | jq '{ok, restoredSnapshot, durationSeconds}'",
    'tsx scripts/restore.ts --app odoo --cluster apps --snapshot 7c2d9e41 --yes',
    'task -x volsync:restore APP=odoo CLUSTER=apps SNAPSHOT=7c2d9e41 TO_PVC=odoo-data-copy',
    'task -x volsync:restore APP=odoo CLUSTER=apps TO_PVC=odoo-inspect TO_NAMESPACE=forensics OUTPUT=json',
  ],
}

await runCommand(spec, async (ctx) => {
  // into a new PVC beside the app: lib/recover/to-pvc.io.ts
  if (ctx.opts.toPvc) return restoreToNewPvc(ctx)
  // a dry run also previews what would change in the PVC: lib/recover/preview.io.ts
  if (ctx.opts.dryRun) ctx = await withRestorePreview(ctx)
  const { opts, kubectl, out } = ctx
  const app = opts.app!
  const mode = confirmationMode(opts, Boolean(process.stdin.isTTY))

  // 1. resolve: the source, its PVC and repository; a restore of the app already under way
  const { source: rs, how: sourceHow } = await findSource(ctx)
  const namespace = rs.metadata.namespace!
  const pvc = rs.spec.sourcePVC
  const repository = rs.spec.restic?.repository
  if (!pvc || !repository) {
    throw new OperationError(
      `ReplicationSource ${ref(rs)} has no ${pvc ? 'spec.restic.repository' : 'spec.sourcePVC'}: ` +
        'restore needs a restic source with a PVC. Nothing was changed.',
    )
  }
  const claim = await kubectl.get<KubeObject & { status?: { capacity?: { storage?: string } } }>('persistentvolumeclaims', pvc, namespace)
  if (claim === null) {
    throw new OperationError(
      `PVC ${namespace}/${pvc} (spec.sourcePVC of ${ref(rs)}) does not exist: there is nothing to restore into. ` +
        'Create it (let Flux apply the app), then run the restore again. Nothing was changed.',
    )
  }
  const resume = taskHint('resume', { APP: app, NAMESPACE: namespace }, ctx.hints.task)
  const found = readMarker(rs)
  if (found === 'unreadable' || found?.state === 'running') throw busyError(rs, found, resume)
  // held by a restore that stopped half way: this one takes the app over
  const held = found
  const copyMethod = copyMethodOf(rs)
  const copy = sourceCopy(rs.metadata.name, copyMethod)
  const copyExists = async () => copy !== undefined && (await kubectl.get<KubeObject>(copy.resource, copy.name, namespace)) !== null
  const busy = rs.status?.lastSyncStartTime
    ? runningSyncRefusal(rs, await copyExists(), taskHint('status', { NAMESPACE: namespace }, ctx.hints.task))
    : undefined
  if (busy) throw busy

  // 2. which snapshot: list the repository, pick as the mover will, pin it (refuses what it cannot select exactly)
  const statusAtListing = rs.status
  const snapshots = await listSnapshots(ctx, rs, app)
  const point = pinPoint(resolveRestorePoint(snapshots, opts.snapshot), snapshots)

  // 3. who uses the PVC, and everything else that could write to it or start the app
  const users = await readClaimUsers(kubectl, namespace, pvc)
  if (users.blockers.length) {
    const status = taskHint('status', { NAMESPACE: namespace }, ctx.hints.task)
    throw new OperationError(blockersText(pvc, users.blockers, status), 'Nothing was changed.')
  }
  const deletes = retentionRefusal(users.apps, users.workloads)
  if (deletes) throw deletes
  const [cronJobs, scaledObjects] = await Promise.all([readCronJobs(kubectl, namespace), readScaledObjects(kubectl, namespace)])
  const cronDecisions = cronJobDecisions(cronJobs, pvc)
  // Flux would put back what it manages: the workloads, the CronJobs, and the source's pause
  const fluxLabels = [
    rs.metadata.labels ?? {},
    ...users.workloads.map((w) => w.labels),
    ...cronJobs.filter((c) => cronDecisions.some((d) => d.name === c.metadata.name)).map((c) => c.metadata.labels ?? {}),
  ]
  const live: LiveState = {
    paused: rs.spec.paused,
    copyMethod,
    pvcAnnotations: claim.metadata.annotations,
    flux: await readFluxDecisions(kubectl, fluxLabels),
    cronJobs: cronDecisions,
    scaledObjects: scaledObjectDecisions(scaledObjects, users.workloads),
    workloads: users.workloads,
  }
  const quiesce = quiescePlan(live, namespace, held?.hold)

  // 4. the plan, and the confirmation
  const now = new Date()
  const token = newToken('restore', now)
  const manifest = restoreDestination({
    name: restoreName(app, now),
    namespace,
    app,
    token,
    repository,
    destinationPVC: pvc,
    previous: point.previous,
    restoreAsOf: point.restoreAsOf,
    sourceRestic: rs.spec.restic,
  })
  const destination = manifest.metadata.name
  const report = {
    cluster: opts.cluster,
    namespace,
    source: ref(rs),
    pvc,
    destination,
    point,
    workloads: quiesce.workloads.map((w) => ({ kind: w.kind, name: w.name, replicas: w.before })),
    dryRun: opts.dryRun,
    kept: false,
  }
  out.log(
    planText(
      {
        cluster: opts.cluster,
        clusterHow: ctx.cluster.how,
        namespace,
        source: ref(rs),
        sourceHow,
        pvc,
        pvcSize: claim.status?.capacity?.storage,
        repository,
        point,
        quiesce,
        takesOver: held ? restoreMarkText(held) : undefined,
        destination,
        keep: opts.keep,
        dryRun: opts.dryRun,
      },
      now,
    ),
  )
  if (opts.dryRun) {
    out.result(`\nReplicationDestination that would be created:\n---\n${await yamlText(manifest)}`)
    await kubectl.createDryRun(manifest)
    out.result('\nThe API server accepted it (kubectl create --dry-run=server). Dry run: nothing was changed.')
    out.data({ ...restoreReport(report), manifest })
    return EXIT.OK
  }
  if (mode === 'ask') {
    const answer = await askLine(`\nRestore ${namespace}/${pvc} from snapshot ${point.snapshot.short_id}? [y/N] `, ctx.signal)
    if (answer === null || !isYes(answer)) {
      out.result('Not confirmed: nothing was changed.')
      return EXIT.FAILED
    }
  }

  // 5. act and wait: record the restore on the source, hold the backups, stop
  // what could write to the PVC, restore through the ReplicationDestination
  // and follow it; the clean-up then puts back what the restore's ending does
  // not keep (lib/restore/stages.ts): a restore that stops half way HOLDS the app
  const restore = new RestoreRun(ctx, {
    source: rs,
    pvc,
    pvcAnnotations: claim.metadata.annotations,
    plan: quiesce,
    destination: manifest,
    point,
    marker: {
      v: 1,
      token,
      state: 'running',
      started: now.toISOString(),
      by: whoAmI(),
      snapshot: { id: point.snapshot.id, time: point.snapshot.time },
      destination,
      pvc,
      hold: quiesce.hold,
    },
    takeOver: held ? { value: rs.metadata.annotations![MARKER]!, marker: held } : undefined,
    statusAtListing,
    relist: () => listSnapshots(ctx, rs, app),
    keep: opts.keep,
    rerun: rerunCommand(app, namespace, point.snapshot.id, ctx.hints.task),
    resume,
  })
  let outcome
  try {
    await restore.begin()
    await restore.quiesce()
    await restore.checkWindow()
    outcome = await restore.restore()
  } catch (err) {
    // the JSON says it too: not ok, whether the PVC may be half-written, whether the app is held
    const end = restore.stopped(err)
    out.data(restoreReport({ ...report, point: restore.point }, { stopped: errorText(err), pvcMayBePartial: end.pvcMayBePartial, held: end.hold }))
    throw err
  }

  // 6. report: the mover log says what was restored
  const list = taskHint('list', { APP: app, NAMESPACE: namespace }, ctx.hints.task)
  const verdict = judgeRestore(outcome, restore.point.snapshot, `${namespace}/${pvc}`, list)
  const end = restore.finished(verdict.kind, outcome.facts.restoredSnapshot)
  out.data(
    restoreReport(
      { ...report, point: restore.point, kept: opts.keep },
      { outcome, verdict, pvcMayBePartial: end.pvcMayBePartial, held: end.hold },
    ),
  )
  if (!verdict.ok) throw new OperationError(verdict.message, verdict.details)
  if (end.hold) throw new OperationError(`${verdict.message}, but the app is HELD: ${end.reason}`)
  const took = tookText(outcome)
  out.log(`\n${verdict.message}${took ? `, ${took}` : ''}.`)
  if (quiesce.workloads.some((w) => w.before > 0)) out.log('The clean-up below scales the workloads back and resumes Flux, each as it was found unless someone changed it meanwhile; check the app.')
  return EXIT.OK
})
