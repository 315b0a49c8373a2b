// task volsync:status CLUSTER=<cluster> [NAMESPACE=<ns>]
// Health of every ReplicationSource, from ONE read of the cluster.
import type { CommandSpec } from '../lib/cli.ts'
import { EXIT } from '../lib/errors.ts'
import { hiddenNote } from '../lib/output.ts'
import { runCommand } from '../lib/run.ts'
import { summarizeSource, type SourceSummary } from '../lib/volsync/health.ts'
import { eachSource } from '../lib/volsync/sources.io.ts'
import { attentionList, statusSummaryLine, statusTable } from '../lib/volsync/status-view.ts'

const spec: CommandSpec = {
  name: 'status',
  summary: 'show every ReplicationSource with its last sync, next sync, result and latest snapshot',
  flags: ['cluster', 'namespace', 'kubeconfig', 'output'],
  notes: [
    'Reads every ReplicationSource in scope with ONE kubectl call, whatever their number. Columns: NAMESPACE,',
    'NAME, PVC (spec.sourcePVC), TRIGGER (the schedule, or MANUAL! when a manual trigger overrides it), LAST SYNC',
    '(local time and age), TOOK, NEXT (the next scheduled sync, or how late it is), RESULT (the last mover run),',
    "SNAPSHOT (the restic snapshot of the last backup, from the mover's `snapshot <id> saved`), STATE (the",
    'Synchronizing condition).',
    '',
    'A source needs attention when its last mover run failed, its Synchronizing condition is Error, its next',
    'sync is more than 1h late, a manual trigger is left set (the schedule is then ignored), it has no',
    'schedule, it is paused, it never synced, or its mover log shows a locked repository; each is listed under',
    'the table with its reasons. Exit code 1 when any source needs attention, 0 when all are healthy or there',
    'are none. What to do about each reason: docs/runbooks/volsync.md, "Check backup health".',
    '',
    'JSON: {cluster, namespace, healthy, needAttention, sources: [{namespace, name, sourcePVC, schedule,',
    'manual, lastSyncTime, lastSyncDurationSeconds, nextSyncTime, syncing, result, latestSnapshot, state,',
    'stateMessage, healthy, attention: [reasons]}]}.',
  ],
  examples: [
    'task -x volsync:status CLUSTER=apps',
    "task -x volsync:status CLUSTER=apps NAMESPACE=business OUTPUT=json | jq '.sources[] | select(.healthy | not)'",
    'tsx scripts/status.ts --cluster apps --namespace business',
  ],
}

await runCommand(spec, async ({ opts, kubectl, out, hints }) => {
  const scope = opts.namespace ? { namespace: opts.namespace } : { allNamespaces: true as const }
  const now = new Date()
  // one read; each source is summarised as it arrives and then dropped
  const summaries: SourceSummary[] = []
  await eachSource(kubectl, scope, (rs) => summaries.push(summarizeSource(rs, now, hints.task)))
  summaries.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
  const attention = summaries.filter((s) => !s.healthy).length
  const where = opts.namespace ? `namespace ${opts.namespace} of cluster ${opts.cluster}` : `cluster ${opts.cluster}`

  out.data({
    cluster: opts.cluster,
    namespace: opts.namespace ?? null,
    healthy: summaries.length - attention,
    needAttention: attention,
    sources: summaries,
  })
  if (summaries.length === 0) {
    out.result(`No ReplicationSources in ${where}.`)
    return EXIT.OK
  }
  const table = statusTable(summaries, now, out.width, out.paint)
  out.result(table.text)
  if (table.hidden.length) out.result(hiddenNote(table))
  if (attention > 0) out.result('\n' + attentionList(summaries, out.paint))
  out.result(`\n${statusSummaryLine(summaries)} (${where})`)
  return attention > 0 ? EXIT.FAILED : EXIT.OK
})
