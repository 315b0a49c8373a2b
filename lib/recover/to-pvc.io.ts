// `restore TO_PVC=<name> [TO_NAMESPACE=<ns>]` (to-pvc.ts decides): find the
// source and its PVC, check the target namespace holds what the mover needs
// and no PVC of that name, pick the snapshot as the mover will, then create
// the PVC and a ReplicationDestination into it, follow its sync with the sync
// engine, judge the mover log, delete the ReplicationDestination and keep the
// PVC. Each change pushes its undo before it acts: a restore that does not
// finish (failure, timeout, Ctrl-C) stops and deletes the
// ReplicationDestination, then deletes the new PVC. Nothing of the app is
// touched.
import type { UndoStep } from '../cleanup.ts'
import { EXIT, OperationError, errorText } from '../errors.ts'
import { taskHint } from '../hints.ts'
import { KubectlError } from '../kubectl.ts'
import { newToken } from '../names.ts'
import { yamlText } from '../output.ts'
import { restoreDestination, restoreName } from '../restore/destination.ts'
import { judgeRestore } from '../restore/outcome.ts'
import type { Context } from '../run.ts'
import { listSnapshots, moverPod } from '../snapshots/list.io.ts'
import { requiredObjectRefs, requiredObjects, resticImage, type MoverSettings } from '../snapshots/pod.ts'
import { resolveRestorePoint } from '../snapshots/restic.ts'
import { followRestore } from '../sync/engine.io.ts'
import { tookText } from '../sync/view.ts'
import { RD, ref, type ReplicationDestination } from '../volsync/objects.ts'
import { findSource } from '../volsync/sources.io.ts'
import {
  checkFilesystem,
  copyClaim,
  deleteHint,
  missingText,
  mountHint,
  toPvcPlanText,
  toPvcReport,
  type Claim,
  type ToPvcPlan,
} from './to-pvc.ts'

/** Does `kind/name` exist in the namespace? Only its name comes back to this tool (`-o name`), never a Secret's data. */
async function exists(ctx: Context, kind: string, name: string, namespace: string): Promise<boolean> {
  try {
    await ctx.kubectl.run(['get', kind, name, '-n', namespace, '-o', 'name'])
    return true
  } catch (err) {
    if (err instanceof KubectlError && err.failure === 'not-found') return false
    throw err
  }
}

/** What the mover needs in `namespace` that is not there (requiredObjectRefs, by name). */
async function missingObjects(ctx: Context, namespace: string, mover: MoverSettings): Promise<string[]> {
  const missing: string[] = []
  for (const { kind, name, label } of requiredObjectRefs(mover)) if (!(await exists(ctx, kind, name, namespace))) missing.push(label)
  return missing
}

export async function restoreToNewPvc(ctx: Context): Promise<number> {
  const { opts, kubectl, out, cleanup } = ctx
  const app = opts.app!
  const pvc = opts.toPvc!

  // 1. the source, its PVC, the target namespace: all read, nothing changed
  const { source: rs } = await findSource(ctx)
  const namespace = rs.metadata.namespace!
  const target = opts.toNamespace ?? namespace
  const sourcePvc = rs.spec.sourcePVC
  if (!sourcePvc) {
    throw new OperationError(`ReplicationSource ${ref(rs)} has no spec.sourcePVC: there is no PVC to copy the shape of. Nothing was changed.`)
  }
  const pod = await moverPod(ctx, rs)
  const source = await kubectl.get<Claim>('persistentvolumeclaims', sourcePvc, namespace)
  if (source === null) {
    throw new OperationError(
      `PVC ${namespace}/${sourcePvc} (spec.sourcePVC of ${ref(rs)}) does not exist: the new PVC is made like it ` +
        '(class, access modes, size). Nothing was changed.',
    )
  }
  checkFilesystem(source)
  if (target !== namespace) {
    if (!(await exists(ctx, 'namespace', target, target))) {
      throw new OperationError(`namespace ${target} (TO_NAMESPACE) does not exist. Nothing was changed.`)
    }
    const missing = await missingObjects(ctx, target, pod.mover)
    if (missing.length) throw new OperationError(missingText(target, missing, ref(rs)))
  }
  if (await kubectl.get<Claim>('persistentvolumeclaims', pvc, target)) {
    throw new OperationError(
      `PVC ${target}/${pvc} exists already: TO_PVC must name a new PVC (a restore into an existing one replaces its data; ` +
        'that is the in-place restore, without TO_PVC). Nothing was changed.',
    )
  }

  // 2. which snapshot: listed, picked as the mover will pick it
  const snapshots = await listSnapshots(ctx, rs, app, pod)
  const point = resolveRestorePoint(snapshots, opts.snapshot)

  // 3. the plan
  const now = new Date()
  const claim = copyClaim(source, { name: pvc, namespace: target, app, source: ref(rs), snapshot: point.snapshot })
  const manifest = restoreDestination({
    name: restoreName(app, now),
    namespace: target,
    app,
    token: newToken('restore', now),
    repository: pod.mover.repository,
    destinationPVC: pvc,
    previous: point.previous,
    restoreAsOf: point.restoreAsOf,
    sourceRestic: rs.spec.restic,
  })
  const destination = manifest.metadata.name
  const plan: ToPvcPlan = {
    cluster: opts.cluster,
    clusterHow: ctx.cluster.how,
    source: ref(rs),
    sourceClaim: source,
    claim,
    point,
    destination,
    repository: pod.mover.repository,
    required: requiredObjects(pod.mover),
    dryRun: opts.dryRun,
  }
  out.log(toPvcPlanText(plan, now))
  if (opts.dryRun) {
    out.result(`\nObjects that would be created:\n---\n${await yamlText(claim)}\n---\n${await yamlText(manifest)}`)
    await kubectl.createDryRun(claim)
    await kubectl.createDryRun(manifest)
    out.result('\nThe API server accepted them (kubectl create --dry-run=server). Dry run: nothing was changed.')
    out.data({ ...toPvcReport(plan, { kind: 'dry-run' }), manifests: [claim, manifest] })
    return EXIT.OK
  }

  // 4. act: the PVC, then the ReplicationDestination into it, each undo first
  const deletePvc: UndoStep = {
    what: `delete the new PVC ${target}/${pvc} (the restore into it did not finish)`,
    undo: async () => {
      await kubectl.delete('persistentvolumeclaims', pvc, target, { wait: true, timeout: '3m' })
    },
    manual: [kubectl.commandLine(['delete', 'pvc', pvc, '-n', target, '--ignore-not-found'])],
  }
  const stopDestination: UndoStep = {
    what: `delete ReplicationDestination ${target}/${destination}`,
    undo: async () => {
      // paused first: VolSync sets its Job's parallelism to 0, so no mover pod runs on;
      // then deleted in the background: VolSync stops re-creating what it owns
      try {
        await kubectl.patch(RD, destination, target, 'merge', { spec: { paused: true } })
      } catch (err) {
        if (!(err instanceof KubectlError && err.failure === 'not-found')) throw err
      }
      await kubectl.delete(RD, destination, target, { cascade: 'background' })
    },
    manual: [kubectl.commandLine(['delete', RD, destination, '-n', target, '--ignore-not-found'])],
  }
  let outcome
  try {
    ctx.checkpoint()
    const dropPvc = cleanup.push(deletePvc)
    out.note(`creating PVC ${target}/${pvc}`)
    await kubectl.create(claim)
    ctx.checkpoint()
    cleanup.push(stopDestination)
    out.note(`creating ReplicationDestination ${target}/${destination}`)
    const rd = await kubectl.create<ReplicationDestination>(manifest)
    outcome = await followRestore(ctx, rd)
    const list = taskHint('list', { APP: app, NAMESPACE: namespace }, ctx.hints.task)
    const verdict = judgeRestore(outcome, point.snapshot, `${target}/${pvc}`, list)
    if (!verdict.ok) {
      out.data(toPvcReport(plan, { kind: 'done', verdict, restoredSnapshot: outcome.facts.restoredSnapshot, durationMs: outcome.durationMs, mount: '', delete: '' }))
      throw new OperationError(verdict.message, verdict.details)
    }
    // done: the ReplicationDestination goes, the PVC stays
    await cleanup.undoNow(stopDestination)
    dropPvc()
    const mount = mountHint(ctx.hints, target, pvc, resticImage(process.env))
    const remove = deleteHint(ctx.hints, target, pvc)
    out.data(toPvcReport(plan, { kind: 'done', verdict, restoredSnapshot: outcome.facts.restoredSnapshot, durationMs: outcome.durationMs, mount, delete: remove }))
    const took = tookText(outcome)
    out.log(
      [
        `\n${verdict.message}${took ? `, ${took}` : ''}. ${ref(rs)}, its PVC and its app were not touched.`,
        `Look into it in a shell (the PVC at /data; the pod goes when the shell exits):\n  ${mount}`,
        `Delete it when you are done:\n  ${remove}`,
      ].join('\n'),
    )
    return EXIT.OK
  } catch (err) {
    if (outcome === undefined) out.data(toPvcReport(plan, { kind: 'stopped', message: errorText(err) }))
    throw err
  }
}
