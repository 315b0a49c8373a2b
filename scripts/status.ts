// task volsync:status CLUSTER=<cluster>|all [NAMESPACE=<ns>]
// Health of every ReplicationSource, read as the API server's own JSON, page
// by page; with CLUSTER=all, of every cluster this repository knows, at once.
import { ALL_CLUSTERS, type CommandSpec } from '../lib/cli.ts'
import { EXIT } from '../lib/errors.ts'
import { eachCluster, findFleet } from '../lib/fleet.ts'
import type { TaskTarget } from '../lib/hints.ts'
import { Kubectl, type Scope } from '../lib/kubectl.ts'
import { hiddenNote } from '../lib/output.ts'
import { runCommand, type Context } from '../lib/run.ts'
import { prometheusText } from '../lib/volsync/metrics.ts'
import { summarizeSource, type SourceSummary } from '../lib/volsync/health.ts'
import { eachSource } from '../lib/volsync/sources.io.ts'
import {
  attentionList,
  compareNames,
  fleetSummaryLines,
  plainNameOrder,
  statusSummaryLine,
  statusTable,
  type ClusterStatus,
  type StatusRow,
} from '../lib/volsync/status-view.ts'

const spec: CommandSpec = {
  name: 'status',
  summary: 'show every ReplicationSource with its last sync, next sync, result and latest snapshot',
  flags: ['cluster', 'namespace', 'kubeconfig', 'output', 'stale-after'],
  fleet: true,
  outputs: ['prometheus'],
  notes: [
    "Reads every ReplicationSource in scope as the API server's own JSON (kubectl get --raw), 1,000 per",
    'request, so memory stays bounded by a page whatever their number. Columns: NAMESPACE, NAME, PVC',
    '(spec.sourcePVC), TRIGGER (the schedule, or MANUAL! when a manual trigger overrides it), LAST SYNC (local',
    'time and age), TOOK, NEXT (the next scheduled sync, or how late it is), RESULT (the last mover run),',
    "SNAPSHOT (the restic snapshot of the last backup, from the mover's `snapshot <id> saved`), STATE (the",
    'Synchronizing condition).',
    '',
    'A source needs attention when its last mover run failed, its Synchronizing condition is Error, its next',
    'sync is more than 1h late, a manual trigger is left set (the schedule is then ignored), it has no',
    'schedule, it is paused, it never synced, its last sync backed up nothing (an empty source PVC: no snapshot),',
    'or its mover log shows a locked repository; each is listed under',
    'the table with its reasons. Exit code 1 when any source needs attention, 0 when all are healthy or there',
    'are none. What to do about each reason: docs/runbooks/volsync.md, "Check backup health".',
    '',
    'VERIFIED: when volsync:verify last proved a snapshot of the source restores (the annotation',
    'volsync-ops/verification it writes), FAILED when its latest verification failed, "never". A failed',
    'verification needs attention, and so does a last success older than STALE_AFTER (default 30d); a source',
    'never verified does not (schedule drills: docs/runbooks/volsync.md, "Schedule restore drills").',
    '',
    'OUTPUT=prometheus prints, in the Prometheus text format, per source (labels cluster, namespace, source):',
    'volsync_ops_last_sync_timestamp_seconds, volsync_ops_last_sync_success, volsync_ops_last_verified_',
    'timestamp_seconds, volsync_ops_last_verification_success, volsync_ops_healthy; for a node-exporter',
    'textfile collector or a CI job (alert on time() - volsync_ops_last_verified_timestamp_seconds). The exit',
    'code is the same as for the table. With CLUSTER=all each sample carries its own cluster label.',
    '',
    'CLUSTER=all reads every cluster this repository knows, in parallel (each kubeconfig-<name> in the',
    'repository root, plus the contexts of the clusters list in volsync-ops.yaml: README.md, "Every cluster at',
    'once"): one table with a CLUSTER column, then one summary line per cluster. A cluster that cannot be read',
    '(unreachable, no VolSync, no such context) is reported as NOT READ with the reason, the others are still',
    'shown, and the exit code is 1. NAMESPACE applies to every cluster.',
    '',
    'JSON: {cluster, namespace, healthy, needAttention, sources: [{namespace, name, sourcePVC, schedule,',
    'manual, lastSyncTime, lastSyncDurationSeconds, nextSyncTime, syncing, result, latestSnapshot, state,',
    'stateMessage, healthy, attention: [reasons], lastVerified, verification: {time, snapshot, depth, ok, files,',
    'bytes, message, lastSuccess} or null}]}. With CLUSTER=all each source also has its cluster, and',
    'clusters: [{cluster, how, ok, error, healthy, needAttention}] says how each cluster was read.',
  ],
  examples: [
    'task -x volsync:status CLUSTER=apps',
    "task -x volsync:status CLUSTER=apps NAMESPACE=business OUTPUT=json | jq '.sources[] | select(.healthy | not)'",
    'task -x volsync:status CLUSTER=all',
    'task -x volsync:status CLUSTER=apps OUTPUT=prometheus STALE_AFTER=7d | tee volsync.prom',
    'tsx scripts/status.ts --cluster apps --namespace business',
  ],
}

const plain = plainNameOrder(process.env)
const byRef = (a: StatusRow, b: StatusRow) =>
  compareNames(a.cluster ?? '', b.cluster ?? '', plain) ||
  compareNames(a.namespace, b.namespace, plain) ||
  compareNames(a.name, b.name, plain)

/**
 * Every source in scope, summarised as it arrives (a page at a time); only the
 * summaries are kept. `target`: the cluster the printed commands address.
 */
async function readSummaries(kubectl: Kubectl, scope: Scope, now: Date, staleAfterMs: number, target: TaskTarget): Promise<SourceSummary[]> {
  const summaries: SourceSummary[] = []
  await eachSource(kubectl, scope, (rs) => summaries.push(summarizeSource(rs, now, staleAfterMs, target)))
  return summaries.sort(byRef)
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  if (opts.cluster === ALL_CLUSTERS) return fleetStatus(ctx)
  const scope: Scope = opts.namespace ? { namespace: opts.namespace } : { allNamespaces: true }
  const now = new Date()
  const summaries = await readSummaries(kubectl, scope, now, opts.staleAfterMs, ctx.hints.task)
  const attention = summaries.filter((s) => !s.healthy).length
  const where = opts.namespace ? `namespace ${opts.namespace} of cluster ${opts.cluster}` : `cluster ${opts.cluster}`

  out.data({
    cluster: opts.cluster,
    namespace: opts.namespace ?? null,
    healthy: summaries.length - attention,
    needAttention: attention,
    sources: summaries,
  })
  if (opts.output === 'prometheus') {
    out.stdout.write(prometheusText(summaries, opts.cluster))
    return attention > 0 ? EXIT.FAILED : EXIT.OK
  }
  if (summaries.length === 0) {
    out.result(`No ReplicationSources in ${where}.`)
    return EXIT.OK
  }
  const table = statusTable(summaries, now, out.width, out.paint)
  out.result(table.text)
  if (table.hidden.length) out.result(hiddenNote(table, out.width))
  if (attention > 0) out.result('\n' + attentionList(summaries, out.paint))
  out.result(`\n${statusSummaryLine(summaries)} (${where})`)
  return attention > 0 ? EXIT.FAILED : EXIT.OK
})

/** CLUSTER=all: every known cluster read in parallel, one table, one summary line per cluster. */
async function fleetStatus(ctx: Context): Promise<number> {
  const { opts, out } = ctx
  const fleet = await findFleet(process.env, () => new Kubectl({ name: opts.cluster, how: 'default kubeconfig' }).defaultContexts())
  for (const note of fleet.notes) out.note(note)
  const scope: Scope = opts.namespace ? { namespace: opts.namespace } : { allNamespaces: true }
  const now = new Date()
  const results = await eachCluster(fleet.members, (kubectl, target) => readSummaries(kubectl, scope, now, opts.staleAfterMs, { cluster: target.name }))
  const clusters: ClusterStatus[] = results.map((r) => (r.ok ? { cluster: r.cluster, sources: r.value } : { cluster: r.cluster, error: r.error }))
  const rows: StatusRow[] = results.flatMap((r) => (r.ok ? r.value.map((s) => ({ cluster: r.cluster, ...s })) : []))
  const attention = rows.filter((s) => !s.healthy).length
  const failed = results.filter((r) => !r.ok).length

  out.data({
    cluster: opts.cluster,
    namespace: opts.namespace ?? null,
    healthy: rows.length - attention,
    needAttention: attention,
    clusters: results.map((r) => ({
      cluster: r.cluster,
      how: r.how ?? null,
      ok: r.ok,
      error: r.ok ? null : r.error,
      healthy: r.ok ? r.value.filter((s) => s.healthy).length : null,
      needAttention: r.ok ? r.value.filter((s) => !s.healthy).length : null,
    })),
    sources: rows,
  })
  if (opts.output === 'prometheus') {
    out.stdout.write(prometheusText(rows, opts.cluster))
    return attention > 0 || failed > 0 ? EXIT.FAILED : EXIT.OK
  }
  if (rows.length > 0) {
    const table = statusTable(rows, now, out.width, out.paint, { clusters: true })
    out.result(table.text)
    if (table.hidden.length) out.result(hiddenNote(table, out.width))
    if (attention > 0) out.result('\n' + attentionList(rows, out.paint))
    out.result('')
  } else if (failed < results.length) {
    out.result(`No ReplicationSources${opts.namespace ? ` in namespace ${opts.namespace}` : ''} in the clusters read.\n`)
  }
  out.result(fleetSummaryLines(clusters, out.paint, opts.namespace).join('\n'))
  return attention > 0 || failed > 0 ? EXIT.FAILED : EXIT.OK
}
