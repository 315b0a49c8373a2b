// task volsync:list APP=<app> CLUSTER=<cluster>
// The snapshots in an app's restic repository, read by a one-shot pod.
import type { CommandSpec } from '../lib/cli.ts'
import { EXIT } from '../lib/errors.ts'
import { hiddenNote } from '../lib/output.ts'
import { runCommand } from '../lib/run.ts'
import { listSnapshots } from '../lib/snapshots/list.io.ts'
import { resticImage } from '../lib/snapshots/pod.ts'
import { policySnapshot, predictRetention, sourceRetention } from '../lib/snapshots/retention.ts'
import { nextForgetWarning, retentionFields, retentionLines, snapshotTable } from '../lib/snapshots/view.ts'
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
    "KEPT BY is the retain rule that keeps the snapshot at VolSync's next `restic forget` (restic's rules, applied",
    'as restic 0.18 does to the snapshots of host volsync, per set of paths: hourly, daily, weekly, monthly,',
    'yearly, within, last; "oldest ..." is the oldest snapshot, kept while a rule has counts left; "none": the next',
    'forget removes it; "other host": VolSync never forgets it). UNTIL is the scheduled backup whose forget is',
    "expected to remove it: the source's schedule (UTC) applied one backup at a time, each assumed on time and",
    'successful; "(next)" and a warning: the next scheduled backup. "no backups": the source is paused or has a',
    'manual trigger; "after <date>": kept past the 5,000 backups simulated.',
    '',
    'If the pod fails (wrong password, no repository, a missing Secret, an image it cannot pull), the exit',
    "code is 1 and the error shows the end of the pod's log, restic's own JSON error included. APP matching",
    'several ReplicationSources (README.md, "Which ReplicationSource"): exit 2, give SOURCE or NAMESPACE;',
    'none: exit 1.',
    '',
    "JSON: {cluster, source, retention: {forget, schedule, notes}, snapshots: [restic's snapshot fields (id,",
    'short_id, time, hostname, paths, tags, summary...), previous, keptBy (restic\'s reasons; [] forgotten at the',
    'next forget; null not forgotten by VolSync or unknown), expectedUntil (RFC 3339 or null) and',
    'expectedUntilBackups (how many scheduled backups from now)]}.',
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
  const now = new Date()
  const retention = sourceRetention(rs)
  const fates =
    retention.policy && retention.predictable
      ? predictRetention(snapshots.map(policySnapshot), retention.policy, retention.schedule, now.getTime())
      : new Map()
  out.data({
    cluster: opts.cluster,
    source: ref(rs),
    retention: { forget: retention.forget, schedule: rs.spec.trigger?.schedule ?? null, notes: retention.notes },
    snapshots: snapshots.map((s) => ({ ...s, ...retentionFields(fates.get(s.id)) })),
  })
  if (snapshots.length === 0) {
    out.result(`The repository of ${ref(rs)} has no snapshots yet.`)
    return EXIT.OK
  }
  const table = snapshotTable(snapshots, now, out.width, out.paint, fates)
  out.result(table.text)
  if (table.hidden.length) out.result(hiddenNote(table))
  out.result(`\n${snapshots.length} snapshot(s) of ${ref(rs)} on cluster ${opts.cluster}; restore one with SNAPSHOT=<PREV or ID>.`)
  for (const line of retentionLines(retention, rs.spec.trigger?.schedule)) out.result(line)
  const warning = nextForgetWarning(snapshots, fates)
  if (warning) out.warn(warning)
  return EXIT.OK
})
