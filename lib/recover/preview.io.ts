// The restore dry run's preview (preview.ts decides): an idle restic pod that
// mounts the live PVC read-only next to the app, in which restic lists the
// planned snapshot and runs `restore --dry-run --delete` against the PVC.
// It never fails the dry run: where the PVC cannot be mounted read-only
// beside the app (ReadWriteOncePod, a node the pod cannot be placed on), or
// anything else stops it, it says so and the dry run goes on (Ctrl-C still
// ends the run). The restore script calls withRestorePreview() first; the
// preview joins the dry run's JSON document (field `preview`) and, in a
// table run, is printed when the dry run ends (both at its out.data call).
import { InterruptedError, errorText } from '../errors.ts'
import type { Output } from '../output.ts'
import type { Pod } from '../pods.ts'
import type { Context } from '../run.ts'
import { moverSettings } from '../snapshots/pod.ts'
import { resolveRestorePoint, tail, type ListedSnapshot } from '../snapshots/restic.ts'
import { Unschedulable } from '../snapshots/runner.io.ts'
import { ref, type ReplicationSource } from '../volsync/objects.ts'
import { findAppSource } from '../volsync/sources.io.ts'
import { DryRunStream, LIVE_MOUNT, NonFiles, dryRunArgs, listArgs, previewAccess, previewText, type Preview, type PreviewClaim } from './preview.ts'
import { chooseSnapshot, openSession } from './session.io.ts'

/** How long the preview pod may wait to be scheduled before the preview is skipped. */
const UNSCHEDULABLE_MS = 60_000

async function computePreview(ctx: Context, rs: ReplicationSource): Promise<{ preview: Preview; snapshot?: ListedSnapshot }> {
  const { kubectl } = ctx
  const namespace = rs.metadata.namespace!
  const pvc = rs.spec.sourcePVC
  if (!pvc) return { preview: { compared: false, pvc: '-', reason: `${ref(rs)} has no spec.sourcePVC` } }
  const where = `${namespace}/${pvc}`
  const claim = await kubectl.get<PreviewClaim>('persistentvolumeclaims', pvc, namespace)
  const pods = claim ? await kubectl.list<Pod>('pods', { namespace }) : []
  const access = previewAccess(claim, pods, pvc)
  if (!access.ok) return { preview: { compared: false, pvc: where, reason: access.reason } }
  const mover = moverSettings(rs)
  const app = rs.metadata.name.replace(/-backup$/, '')
  let session
  try {
    ;({ session } = await openSession(ctx, {
      rs,
      app,
      component: 'restore-preview',
      what: 'restore preview',
      // the pod goes where the PVC can be mounted, not where the mover would go
      pod: { mover, placement: access.placement },
      volumes: [
        { name: 'live', mountPath: LIVE_MOUNT, readOnly: true, source: { persistentVolumeClaim: { claimName: pvc, readOnly: true } } },
      ],
      unschedulableMs: UNSCHEDULABLE_MS,
    }))
  } catch (err) {
    if (err instanceof Unschedulable) {
      return { preview: { compared: false, pvc: where, reason: `a pod cannot mount ${where} read-only next to the app (${errorText(err)})` } }
    }
    throw err
  }
  try {
    const { snapshots } = await chooseSnapshot(ctx, session, mover.repository)
    // the snapshot the restore plan shows: chosen as the mover will choose it
    const snapshot = resolveRestorePoint(snapshots, ctx.opts.snapshot).snapshot
    const utf8 = new TextDecoder()
    const nonFiles = new NonFiles()
    const listing = await session.exec(listArgs(snapshot.id), (c) => nonFiles.push(utf8.decode(c, { stream: true })))
    nonFiles.end()
    if (listing.exitCode !== 0) throw new Error(`restic ls failed (exit code ${listing.exitCode}): ${tail(listing.stderr, 3)}`)
    const stream = new DryRunStream(nonFiles.paths)
    const dry = await session.exec(dryRunArgs(snapshot.id), (c) => stream.push(utf8.decode(c, { stream: true })))
    stream.end()
    if (dry.exitCode !== 0 || !stream.summarySeen) {
      throw new Error(`restic restore --dry-run failed (exit code ${dry.exitCode}): ${tail(dry.stderr, 3)}`)
    }
    return { preview: { compared: true, pvc: where, snapshot: snapshot.id, ...stream.changes }, snapshot }
  } finally {
    await session.close()
  }
}

/**
 * Runs the preview of a dry run, and returns the run's context with an
 * Output that adds it to the dry run's JSON document, or prints it when
 * the dry run ends (its out.data call).
 */
export async function withRestorePreview(ctx: Context): Promise<Context> {
  let preview: Preview
  let snapshot: ListedSnapshot | undefined
  try {
    const { source: rs } = await findAppSource(ctx.kubectl, { app: ctx.opts.app!, source: ctx.opts.source, namespace: ctx.opts.namespace })
    ;({ preview, snapshot } = await computePreview(ctx, rs))
  } catch (err) {
    if (err instanceof InterruptedError) throw err
    preview = { compared: false, pvc: '-', reason: `it stopped: ${errorText(err)}` }
  }
  const out: Output = Object.create(ctx.out)
  out.data = (value: unknown) => {
    if (ctx.out.json) ctx.out.data({ ...(value as object), preview })
    else ctx.out.result(previewText(preview, snapshot))
  }
  return { ...ctx, out }
}
