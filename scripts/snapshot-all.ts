// task volsync:snapshot-all CLUSTER=<cluster> [NAMESPACE=<ns>] [TIMEOUT=1h]
// Back up everything now (before an upgrade): trigger every ReplicationSource
// in scope, wait for all of them with one watch, summarise, clean up.
import { MOVER_WATCH_NOTES, type CommandSpec } from '../lib/cli.ts'
import { EXIT } from '../lib/errors.ts'
import { hiddenNote } from '../lib/output.ts'
import { runCommand } from '../lib/run.ts'
import { newSnapshotFate } from '../lib/snapshots/retention.ts'
import { newSnapshotsLines, retentionFields } from '../lib/snapshots/view.ts'
import { syncAndWait } from '../lib/sync/engine.io.ts'
import { SYNC_ERROR_NOTES, failureList, restoreHoldWarnings, summaryLine, summaryRow, summaryTable } from '../lib/sync/view.ts'
import { listSources } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'snapshot-all',
  summary: 'back up every ReplicationSource of a cluster (or namespace) now, and summarise',
  flags: ['cluster', 'namespace', 'kubeconfig', 'output', 'timeout', 'error-grace'],
  defaultTimeout: '1h',
  notes: [
    'Reads all ReplicationSources in one call, triggers each as snapshot does (a running sync is waited for',
    'first), then follows all of them with ONE watch and one progress line. TIMEOUT covers the whole run.',
    'Paused sources (spec.paused) are skipped with a warning: no sync could run; they do not fail the run.',
    'One paused by a restore of this tool is named as such, with the `task volsync:resume` that gives it back.',
    'Afterwards (also on failure, timeout and Ctrl-C) every spec.trigger.manual is left as it was found, as by',
    'snapshot (see its --help): removed where there was none, put back on a parked source.',
    '',
    'The table: SOURCE, RESULT (ok, empty, FAILED, skipped, timed out, interrupted, unknown), TOOK, SNAPSHOT,',
    "MESSAGE; the failed sources follow with their reasons and the mover's error lines (for a locked",
    'repository, the volsync:unlock command). Exit code 1 when any source failed or did not finish in time.',
    '',
    'After the table: until when the new snapshots are expected to be kept (the earliest), and a warning naming',
    'the sources whose next scheduled backup is expected to make VolSync forget the new snapshot (see snapshot',
    '--help; to keep them, hold the schedules: docs/runbooks/volsync.md, "Keep a snapshot").',
    '',
    'JSON: {cluster, namespace, stopped, sources: [{namespace, name, result, durationSeconds, snapshot,',
    'emptySource, message, ok, trigger, keptBy, expectedUntil, expectedUntilBackups}]}; trigger: untouched,',
    'removed, put-back, left or pending; expectedUntil as in list --help.',
    '',
    ...SYNC_ERROR_NOTES,
    '',
    ...MOVER_WATCH_NOTES,
  ],
  examples: [
    'task -x volsync:snapshot-all CLUSTER=apps TIMEOUT=2h',
    "task -x volsync:snapshot-all CLUSTER=apps NAMESPACE=media OUTPUT=json | jq '.sources[] | select(.ok | not)'",
    'tsx scripts/snapshot-all.ts --cluster apps --namespace media --timeout 2h',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  const scope = opts.namespace ? { namespace: opts.namespace } : { allNamespaces: true as const }
  const where = opts.namespace ? `namespace ${opts.namespace} of cluster ${opts.cluster}` : `cluster ${opts.cluster}`
  const sources = (await listSources(kubectl, scope)).sort(
    (a, b) =>
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name),
  )
  if (sources.length === 0) {
    out.data({ cluster: opts.cluster, namespace: opts.namespace ?? null, sources: [] })
    out.result(`No ReplicationSources in ${where}: nothing to back up.`)
    return EXIT.OK
  }

  const { results, stop, error } = await syncAndWait(ctx, 'snapshot', sources, scope, `backup of ${sources.length} sources`)
  const now = Date.now()
  const byRef = new Map(sources.map((rs) => [`${rs.metadata.namespace}/${rs.metadata.name}`, rs]))
  // how long each new snapshot is expected to live, from its source's retain policy and schedule
  const lives = results.map(({ run }) => {
    const p = run.phase
    if (p.kind !== 'succeeded' || !p.outcome.facts.savedSnapshot) return null
    const taken = p.outcome.lastSyncTime ? Date.parse(p.outcome.lastSyncTime) : now
    return { ref: run.ref, snapshot: p.outcome.facts.savedSnapshot, ...newSnapshotFate(byRef.get(run.ref)!, taken, now) }
  })
  const rows = results.map(({ run, fate }, i) => ({ ...summaryRow(run, fate, stop, ctx.hints), ...retentionFields(lives[i]?.fate) }))
  out.data({ cluster: opts.cluster, namespace: opts.namespace ?? null, stopped: stop ?? null, sources: rows })
  const table = summaryTable(rows, out.width, out.paint)
  out.result(table.text)
  if (table.hidden.length) out.result(hiddenNote(table))
  const failures = failureList(results.map((r) => r.run), ctx.hints, out.paint)
  if (failures) out.result(`\n${failures}`)
  out.result(`\n${summaryLine(rows)} (${where})`)
  const life = newSnapshotsLines(lives.filter((l) => l !== null), new Date(now))
  for (const line of life.lines) out.result(line)
  if (life.warning) out.warn(life.warning)
  const skipped = rows.filter((r) => r.result === 'skipped')
  if (skipped.length) out.warn(`not backed up (paused): ${skipped.map((r) => `${r.namespace}/${r.name}`).join(', ')}`)
  for (const line of restoreHoldWarnings(results.map((r) => r.run), ctx.hints)) out.warn(line)
  const empty = rows.filter((r) => r.result === 'empty')
  if (empty.length) out.warn(`empty source directory, no snapshot taken: ${empty.map((r) => `${r.namespace}/${r.name}`).join(', ')}`)
  if (error !== undefined) throw error
  return rows.every((r) => r.ok) ? EXIT.OK : EXIT.FAILED
})
