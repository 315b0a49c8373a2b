// task volsync:stats [APP=<app>] CLUSTER=<cluster> [NAMESPACE=] [CONCURRENCY=4]
// How big each repository is and what it holds: snapshots, sizes, deduplication, prune, retention.
import { ALL_CLUSTERS, label, type CommandSpec } from '../lib/cli.ts'
import { EXIT, OperationError, UsageError } from '../lib/errors.ts'
import { clusterSummaryLines, eachCluster, findFleet, fleetTotalLine, keyedByCluster } from '../lib/fleet.ts'
import { hintTarget } from '../lib/hints.ts'
import { Kubectl, type Scope } from '../lib/kubectl.ts'
import { hiddenNote } from '../lib/output.ts'
import { statsOfMany, statsOfSource } from '../lib/recover/stats.io.ts'
import { failedNote, statsSummaryLine, statsTable, statsTotals, type SourceStats, type StatsRow } from '../lib/recover/stats.ts'
import { runCommand, type Context } from '../lib/run.ts'
import { resticImage } from '../lib/snapshots/pod.ts'
import { ref } from '../lib/volsync/objects.ts'
import { findSource, listSources } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'stats',
  summary: 'how big each restic repository is: snapshots, sizes, deduplication, last prune, retention',
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'timeout', 'source', 'concurrency'],
  defaultTimeout: '30m',
  fleet: true,
  checkEnv: (env) => void resticImage(env),
  validate: (opts) => {
    if (opts.cluster === ALL_CLUSTERS && opts.app) {
      throw new UsageError(`${label('cluster')} ${ALL_CLUSTERS} reads every source of every cluster: drop ${label('app')}, or name one cluster`)
    }
  },
  notes: [
    "Reads only. Per source one restic pod in its namespace, built like the mover (as for files), in which",
    '`restic snapshots`, `restic stats --mode restore-size latest`, `restic stats --mode restore-size` and',
    '`restic stats --mode raw-data` run with `kubectl exec` (needs create on pods/exec), all with --no-lock:',
    'a running backup is neither blocked nor blocking. The pod is deleted afterwards, on every path.',
    '',
    'Columns: SNAPSHOTS, OLDEST and NEWEST (UTC); LATEST, the restore size of the latest snapshot; STORED,',
    'what the repository stores (raw data, after deduplication and compression); DEDUP, the restore size of',
    'every snapshot together divided by STORED; LAST PRUNE, status.restic.lastPruned; RETAIN, spec.restic.retain.',
    '',
    'Without APP: every restic ReplicationSource of the cluster (or NAMESPACE), CONCURRENCY at a time, one',
    'table with totals. A repository that cannot be read is a FAILED row (exit 1); the others are still shown.',
    "Each FAILED source is also noted on stderr as it fails, and under the table with restic's words.",
    'TIMEOUT applies to each source.',
    '',
    'CLUSTER=all (without APP) reads every cluster this repository knows, in parallel (README.md, "Every',
    'cluster at once"), each with CONCURRENCY pods at a time: one table with a CLUSTER column, then one summary',
    'line per cluster. A cluster that cannot be read (unreachable, no VolSync, no such context) is NOT READ',
    'with the reason, the others are still shown, and the exit code is 1. NAMESPACE applies to every cluster.',
    'The notes of a FAILED source name its cluster: "lab: business/odoo-backup: ...".',
    '',
    'JSON: {cluster, sources: [{namespace, source, ok, message, details, snapshots, oldest, newest,',
    'latestRestoreBytes, latestFiles, allRestoreBytes, rawBytes, dedupRatio, lastPruned, retain}], totals:',
    '{sources, failed, snapshots, latestRestoreBytes, allRestoreBytes, rawBytes, dedupRatio}}. With',
    'CLUSTER=all: {cluster: "all", namespace, notRead, totals, clusters: {<name>: {how, read, error, sources,',
    'totals}}}, keyed by cluster.',
  ],
  examples: [
    'task -x volsync:stats APP=odoo CLUSTER=apps',
    'task -x volsync:stats CLUSTER=apps CONCURRENCY=8',
    'task -x volsync:stats CLUSTER=all',
    "task -x volsync:stats CLUSTER=apps OUTPUT=json | jq '.totals.rawBytes'",
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  if (opts.cluster === ALL_CLUSTERS) return fleetStats(ctx)
  if (opts.source && !opts.app) throw new UsageError('SOURCE names the source of an APP: give APP too (without APP, every source in scope is read)')
  let rows
  if (opts.app) {
    const { source: rs } = await findSource(ctx)
    if (!rs.spec.restic?.repository) throw new OperationError(`${ref(rs)} has no restic repository (spec.restic.repository): nothing to read`)
    rows = [await statsOfSource(ctx, rs, opts.app)]
  } else {
    const scope = opts.namespace ? { namespace: opts.namespace } : { allNamespaces: true as const }
    const sources = (await listSources(kubectl, scope))
      .filter((rs) => rs.spec.restic?.repository)
      .sort((a, b) => ref(a).localeCompare(ref(b)))
    if (sources.length === 0) {
      out.data({ cluster: opts.cluster, sources: [], totals: statsTotals([]) })
      out.result(`No restic ReplicationSources in ${opts.namespace ? `namespace ${opts.namespace} of ` : ''}cluster ${opts.cluster}.`)
      return EXIT.OK
    }
    rows = await statsOfMany(ctx, sources, opts.concurrency)
  }
  out.data({ cluster: opts.cluster, sources: rows, totals: statsTotals(rows) })
  const table = statsTable(rows, out.width, out.paint)
  out.result(table.text)
  if (table.hidden.length) out.result(hiddenNote(table))
  out.result(`\n${statsSummaryLine(rows)} (cluster ${opts.cluster})`)
  for (const r of rows.filter((row) => !row.ok && row.details)) out.note(failedNote(r, `${r.message}\n${r.details}`))
  return rows.every((r) => r.ok) ? EXIT.OK : EXIT.FAILED
})

/** The restic sources among those listed, in namespace/name order. */
function restic(sources: Awaited<ReturnType<typeof listSources>>) {
  return sources.filter((rs) => rs.spec.restic?.repository).sort((a, b) => ref(a).localeCompare(ref(b)))
}

/**
 * CLUSTER=all: every known cluster read in parallel, each by a step that has
 * only that cluster's kubectl (its pods, its clean-up, its printed commands);
 * one table with a CLUSTER column, one summary line per cluster.
 */
async function fleetStats(ctx: Context): Promise<number> {
  const { opts, out } = ctx
  if (opts.source) throw new UsageError('SOURCE names the source of an APP: it cannot be combined with CLUSTER=all')
  const fleet = await findFleet(process.env, () => new Kubectl({ name: opts.cluster, how: 'default kubeconfig' }).defaultContexts())
  for (const note of fleet.notes) out.note(note)
  const scope: Scope = opts.namespace ? { namespace: opts.namespace } : { allNamespaces: true }
  const results = await eachCluster(fleet.members, async (kubectl, target): Promise<SourceStats[]> => {
    const sources = restic(await listSources(kubectl, scope))
    if (sources.length === 0) return []
    return statsOfMany({ ...ctx, kubectl, cluster: target, hints: hintTarget(target) }, sources, opts.concurrency, target.name)
  })
  ctx.checkpoint()
  const rows: StatsRow[] = results.flatMap((r) => (r.ok ? r.value.map((row) => ({ cluster: r.cluster, ...row })) : []))
  out.data({
    cluster: opts.cluster,
    namespace: opts.namespace ?? null,
    notRead: results.filter((r) => !r.ok).length,
    totals: statsTotals(rows),
    clusters: keyedByCluster(results, (sources) => ({ sources, totals: statsTotals(sources) })),
  })
  if (rows.length) {
    const table = statsTable(rows, out.width, out.paint, true, { clusters: true })
    out.result(table.text)
    if (table.hidden.length) out.result(hiddenNote(table))
    out.result('')
  }
  out.result(
    [
      ...clusterSummaryLines(results, (sources) => (sources.length ? statsSummaryLine(sources) : 'no restic ReplicationSources'), out.paint),
      fleetTotalLine(results, statsSummaryLine(rows), out.paint, opts.namespace),
    ].join('\n'),
  )
  for (const r of rows.filter((row) => !row.ok && row.details)) out.note(failedNote(r, `${r.message}\n${r.details}`, r.cluster))
  return results.every((r) => r.ok) && rows.every((r) => r.ok) ? EXIT.OK : EXIT.FAILED
}
