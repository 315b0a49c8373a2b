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
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'timeout', 'source'],
  required: ['app'],
  defaultTimeout: '5m',
  checkEnv: (env) => void resticImage(env),
  notes: [
    "Runs `restic snapshots --json --no-lock` in a one-shot pod in the app's namespace (no TTY needed), with",
    'the credentials of the Secret named by the ReplicationSource (spec.restic.repository) as environment',
    "variables: this tool never reads them. The pod runs as the mover's moverSecurityContext under the",
    'restricted Pod Security profile, stops by itself after TIMEOUT plus one minute (activeDeadlineSeconds),',
    'and is deleted afterwards, also on failure, timeout and Ctrl-C.',
    '',
    'Environment: RESTIC_IMAGE, the image of that pod (default restic/restic:0.18.1, the restic of the VolSync',
    'v0.16.0 mover; set it to a mirror the cluster can pull).',
    '',
    'PREV is the `previous` offset a restore of that snapshot uses (SNAPSHOT=<PREV>), counted exactly as the',
    'mover selects snapshots (those whose paths name /data, newest first, whole seconds); "-" means the mover',
    'cannot select it (its paths lack /data, or another snapshot shares its second). A new backup shifts',
    'every PREV by one.',
    '',
    'If the pod fails (wrong password, no repository, a missing Secret, an image it cannot pull), the exit',
    "code is 1 and the error shows the end of the pod's log, restic's own JSON error included. APP matching",
    'several ReplicationSources (README.md, "Which ReplicationSource"): exit 2, give SOURCE or NAMESPACE;',
    'none: exit 1.',
    '',
    "JSON: {cluster, source, snapshots: [restic's snapshot fields (id, short_id, time, hostname, paths, tags,",
    'summary...) and previous]}.',
  ],
  examples: [
    'task -x volsync:list APP=odoo CLUSTER=apps',
    "task -x volsync:list APP=odoo CLUSTER=apps OUTPUT=json | jq -r '.snapshots[] | [.previous, .short_id, .time] | @tsv'",
    'RESTIC_IMAGE=registry.example.com/mirror/restic:0.18.1 tsx scripts/list.ts --app odoo --cluster apps',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  const { source: rs } = await findSource(ctx)
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
