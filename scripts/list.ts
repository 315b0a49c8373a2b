// task volsync:list APP=<app> CLUSTER=<cluster>
// The snapshots in an app's restic repository, read by a one-shot pod.
import type { CommandSpec } from '../lib/cli.ts'
import { EXIT } from '../lib/errors.ts'
import { hiddenNote } from '../lib/output.ts'
import { runCommand } from '../lib/run.ts'
import { listSnapshots } from '../lib/snapshots/list.io.ts'
import { resticImage } from '../lib/snapshots/pod.ts'
import { snapshotTable } from '../lib/snapshots/view.ts'
import { ref } from '../lib/volsync/objects.ts'
import { findSource } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'list',
  summary: "list the snapshots in an app's restic repository, newest first",
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'timeout'],
  required: ['app'],
  defaultTimeout: '5m',
  checkEnv: (env) => void resticImage(env),
  notes: [
    'Runs `restic snapshots --json --no-lock` in a one-shot pod in the app\'s namespace, with the',
    'credentials of the Secret named by the ReplicationSource (spec.restic.repository) as environment',
    'variables: this tool never reads them. The pod runs with the mover\'s securityContext and is',
    'deleted afterwards, also on failure, timeout and Ctrl-C. Image: $RESTIC_IMAGE (default restic/restic:0.18.1).',
    'PREV is the `previous` offset a restore of that snapshot uses (SNAPSHOT=<PREV>); "-" means the',
    'VolSync mover cannot select it (its paths lack /data, or another snapshot shares its second).',
  ],
  examples: [
    'tsx scripts/list.ts --app odoo --cluster apps',
    'tsx scripts/list.ts --app odoo --cluster apps --output json',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  const rs = await findSource(kubectl, opts.app!, opts.namespace)
  const snapshots = await listSnapshots(ctx, rs, opts.app!)
  out.data({ cluster: opts.cluster, source: ref(rs), snapshots })
  if (snapshots.length === 0) {
    out.result(`The repository of ${ref(rs)} has no snapshots yet.`)
    return EXIT.OK
  }
  const table = snapshotTable(snapshots, new Date(), out.width, out.paint)
  out.result(table.text)
  if (table.hidden.length) out.result(hiddenNote(table))
  out.result(`\n${snapshots.length} snapshot(s) of ${ref(rs)} on cluster ${opts.cluster}; restore one with SNAPSHOT=<PREV or ID>.`)
  return EXIT.OK
})
