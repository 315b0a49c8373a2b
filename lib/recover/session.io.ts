// The recover commands' pod: one idle restic pod per run (lib/snapshots
// runner.io.ts ResticSession, built like the mover), in which every restic
// command runs with `kubectl exec`: the snapshot list, then what the command
// reads. One pod, one scheduling, one image pull per run.
import { OperationError } from '../errors.ts'
import type { Context } from '../run.ts'
import { listInSession, moverPod, type MoverPod } from '../snapshots/list.io.ts'
import { resticImage, type PodVolume, type SideContainer } from '../snapshots/pod.ts'
import { tail, type ListedSnapshot } from '../snapshots/restic.ts'
import { ResticSession } from '../snapshots/runner.io.ts'
import type { ReplicationSource } from '../volsync/objects.ts'
import { pickSnapshot } from './pick.ts'

export interface SessionInput {
  rs: ReplicationSource
  app: string
  /** app.kubernetes.io/component of the pod, and its name: volsync-<component>-<app>-xxxxx */
  component: string
  /** how messages name the pod: "files", "download", "verify" */
  what: string
  volumes?: PodVolume[]
  sidecars?: SideContainer[]
  /** the mover settings and placement, when already read */
  pod?: MoverPod
  unschedulableMs?: number
}

export async function openSession(ctx: Context, input: SessionInput): Promise<{ session: ResticSession; pod: MoverPod }> {
  const pod = input.pod ?? (await moverPod(ctx, input.rs))
  const session = await ResticSession.open(
    ctx,
    {
      prefix: `volsync-${input.component}-${input.app}`,
      namespace: input.rs.metadata.namespace!,
      app: input.app,
      component: input.component,
      mover: pod.mover,
      placement: pod.placement,
      image: resticImage(process.env),
      volumes: input.volumes,
      sidecars: input.sidecars,
    },
    input.what,
    { unschedulableMs: input.unschedulableMs },
  )
  return { session, pod }
}

/** The repository's snapshots (newest first) and the one SNAPSHOT picks. */
export async function chooseSnapshot(ctx: Context, session: ResticSession, repository: string): Promise<{ snapshots: ListedSnapshot[]; snapshot: ListedSnapshot }> {
  const snapshots = await listInSession(session, repository)
  return { snapshots, snapshot: pickSnapshot(snapshots, ctx.opts.snapshot) }
}

/** Runs restic in the session and collects stdout; a non-zero exit is an OperationError with restic's words. */
export async function resticText(session: ResticSession, args: readonly string[], failure: string): Promise<string> {
  const result = await session.execText(['restic', ...args])
  if (result.exitCode !== 0) {
    throw new OperationError(`${failure} (exit code ${result.exitCode}); restic said:`, tail(result.stderr || result.stdout))
  }
  return result.stdout
}
