// Lists a repository's snapshots by running `restic snapshots --json` in a
// one-shot pod in the app's namespace (used by `list` and by `restore`). The
// pod is deleted as soon as its log is read, and by the clean-up stack on
// failure, timeout and Ctrl-C.
import { OperationError } from '../errors.ts'
import { nameSuffix } from '../names.ts'
import { runToCompletion, type Pod } from '../pods.ts'
import type { Context } from '../run.ts'
import { ref, type ReplicationSource } from '../volsync/objects.ts'
import { waitFor } from '../wait.ts'
import { listPod, resticImage } from './pod.ts'
import { parseSnapshots, tail, withOffsets, type ListedSnapshot } from './restic.ts'

export async function listSnapshots(ctx: Context, rs: ReplicationSource, app: string): Promise<ListedSnapshot[]> {
  const { kubectl, cleanup } = ctx
  const namespace = rs.metadata.namespace!
  const secret = rs.spec.restic?.repository
  if (!secret) {
    throw new OperationError(`ReplicationSource ${ref(rs)} has no spec.restic.repository: it is not a restic source`)
  }
  const manifest = listPod({
    name: `volsync-list-${app}-${nameSuffix()}`,
    namespace,
    app,
    repositorySecret: secret,
    moverSecurityContext: rs.spec.restic?.moverSecurityContext,
    image: resticImage(process.env),
    deadlineSeconds: Math.ceil(ctx.opts.timeoutMs / 1000) + 60,
  })
  const name = manifest.metadata.name
  const deletePod = {
    what: `delete the list pod ${namespace}/${name}`,
    undo: async () => {
      await kubectl.delete('pod', name, namespace, { gracePeriod: 0 })
    },
    manual: [kubectl.commandLine(['delete', 'pod', name, '-n', namespace, '--ignore-not-found'])],
  }
  ctx.checkpoint()
  cleanup.push(deletePod)
  try {
    await kubectl.create(manifest)
    const phase = await waitFor({
      what: `the list pod ${namespace}/${name}`,
      watch: (signal) => kubectl.watchObject<Pod>('pod', name, namespace, signal),
      check: runToCompletion,
      timeoutMs: ctx.opts.timeoutMs,
      signal: ctx.signal,
      progress: ctx.out.progress(`listing snapshots of ${ref(rs)}`),
    })
    const log = await kubectl.logs(name, namespace, { container: 'restic' })
    if (phase === 'Failed') {
      throw new OperationError(
        `restic could not list the repository of ${ref(rs)} (Secret ${namespace}/${secret}); its log ends:`,
        tail(log),
      )
    }
    return withOffsets(parseSnapshots(log))
  } finally {
    await cleanup.undoNow(deletePod)
  }
}
