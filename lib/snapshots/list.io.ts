// Lists a repository's snapshots by running `restic snapshots --json` in a
// one-shot pod in the app's namespace (used by `list`, `restore` and the
// commands that pick a snapshot). The pod is built like the mover
// (pod.ts), runs where the mover runs (placement.io.ts), and is deleted as
// soon as its log is read, and by the clean-up stack on failure, timeout and
// Ctrl-C (runner.io.ts).
import { OperationError } from '../errors.ts'
import type { Context } from '../run.ts'
import { ref, type ReplicationSource } from '../volsync/objects.ts'
import { readPlacement } from './placement.io.ts'
import { moverSettings, resticImage, type MoverSettings, type Placement } from './pod.ts'
import { parseSnapshots, tail, withOffsets, type ListedSnapshot } from './restic.ts'
import { runOnce, type ResticSession } from './runner.io.ts'

/** The mover settings and placement of a source, read once per run and shared by its pods. */
export interface MoverPod {
  mover: MoverSettings
  placement?: Placement
}

export async function moverPod(ctx: Context, rs: ReplicationSource): Promise<MoverPod> {
  const mover = moverSettings(rs)
  return { mover, placement: await readPlacement(ctx, rs, mover) }
}

export async function listSnapshots(ctx: Context, rs: ReplicationSource, app: string, pod?: MoverPod): Promise<ListedSnapshot[]> {
  const namespace = rs.metadata.namespace!
  const { mover, placement } = pod ?? (await moverPod(ctx, rs))
  const { phase, log } = await runOnce(
    ctx,
    {
      prefix: `volsync-list-${app}`,
      namespace,
      app,
      component: 'snapshot-list',
      mover,
      placement,
      image: resticImage(process.env),
      command: { run: ['snapshots', '--json', '--no-lock', '--no-cache'] },
    },
    'list',
    `listing snapshots of ${ref(rs)}`,
  )
  if (phase === 'Failed') {
    throw new OperationError(
      `restic could not list the repository of ${ref(rs)} (Secret ${namespace}/${mover.repository}); its log ends:`,
      tail(log),
    )
  }
  return withOffsets(parseSnapshots(log))
}

/**
 * The snapshots, listed in a session pod (runner.io.ts) with `kubectl exec`:
 * for the commands that read the repository further in the same pod.
 */
export async function listInSession(session: ResticSession, repository: string): Promise<ListedSnapshot[]> {
  const { exitCode, stdout, stderr } = await session.execText(['restic', 'snapshots', '--json', '--no-lock', '--no-cache'])
  if (exitCode !== 0) {
    throw new OperationError(
      `restic could not list the repository (Secret ${session.namespace}/${repository}); it said:`,
      tail(stderr || stdout),
    )
  }
  return withOffsets(parseSnapshots(stdout))
}
