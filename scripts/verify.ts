// task volsync:verify [APP=<app>] CLUSTER=<cluster> [SNAPSHOT=] [DEPTH=quick|deep] [CHECK='<command>']
// Proves a snapshot restores (one app, or every source in scope), and records the result.
import type { CommandSpec } from '../lib/cli.ts'
import { EXIT, OperationError, UsageError } from '../lib/errors.ts'
import { hiddenNote } from '../lib/output.ts'
import { verifyMany, verifySource, type VerifyParams } from '../lib/recover/verify.io.ts'
import { verifySummaryLine, verifyTable } from '../lib/recover/verify.ts'
import { runCommand } from '../lib/run.ts'
import { DEFAULT_RESTIC_IMAGE, imageFrom, resticImage } from '../lib/snapshots/pod.ts'
import { ref } from '../lib/volsync/objects.ts'
import { findSource, listSources } from '../lib/volsync/sources.io.ts'

/** Sources verified at once without APP. */
const CONCURRENCY = 3

const spec: CommandSpec = {
  name: 'verify',
  summary: 'prove that a snapshot restores (one app, or every source in scope), and record the result',
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'snapshot', 'depth', 'check', 'scratch-size', 'scratch-class', 'timeout', 'source'],
  defaultTimeout: '2h',
  checkEnv: (env) => {
    resticImage(env)
    imageFrom(env, 'CHECK_IMAGE', DEFAULT_RESTIC_IMAGE)
  },
  validate: (opts) => {
    if (!opts.app && opts.check !== undefined) throw new UsageError('CHECK (--check) needs APP (--app): a check is written for one app')
    if (!opts.app && opts.snapshot.kind === 'id') throw new UsageError('SNAPSHOT=<id> (--snapshot) needs APP (--app): an id names a snapshot of one repository')
    if (opts.depth === 'quick' && (opts.check !== undefined || opts.scratchSize !== undefined)) {
      throw new UsageError('CHECK and SCRATCH_SIZE need DEPTH=deep: DEPTH=quick restores nothing')
    }
    if (opts.scratchClass !== undefined && opts.scratchSize === undefined) {
      throw new UsageError('SCRATCH_CLASS (--scratch-class) needs SCRATCH_SIZE (--scratch-size): an emptyDir has no storage class')
    }
  },
  notes: [
    "Nothing of the app is touched. One restic pod per source in its namespace, built like the mover (as for",
    'files); restic runs in it with `kubectl exec` (needs create on pods/exec). SNAPSHOT as for files (default',
    'the latest).',
    '',
    'DEPTH=quick: `restic check --read-data-subset=5%`: the repository structure, and a random 5% of its data',
    'read back and checked (it takes restic\'s shared lock, as a backup does).',
    'DEPTH=deep (default): `restic restore --verify` of the snapshot into scratch space (an emptyDir on the',
    'node, or a new PVC of SCRATCH_SIZE and SCRATCH_CLASS for large volumes, deleted afterwards): restic reads',
    "every restored file back and checks it. It fails when restic fails or reports errors, when it restored 0",
    "files, or fewer files or bytes than the snapshot's own summary says were backed up (the numbers are shown).",
    'CHECK=\'<command>\' then runs `sh -c <command>` in a second container (CHECK_IMAGE, default the restic image;',
    'it needs sh) that sees the restored data read-only at /data, its working directory: its exit code decides',
    '(e.g. CHECK=\'test -s odoo.conf\', CHECK=\'sqlite3 -readonly db.sqlite "PRAGMA integrity_check" | grep -qx ok\').',
    '',
    'The result is written on the ReplicationSource as the annotation volsync-ops/verification (JSON: time,',
    'snapshot, depth, ok, files, bytes, message, lastSuccess): volsync:status shows it, flags a failed or stale',
    'verification, and prints it for Prometheus (OUTPUT=prometheus). Needs patch on replicationsources.',
    '',
    `Without APP: every restic ReplicationSource of the cluster (or NAMESPACE), ${CONCURRENCY} at a time, then a`,
    'table. Exit 1 when any verification failed. TIMEOUT applies to each source.',
    '',
    'JSON: {cluster, results: [{namespace, source, depth, snapshot: {id, shortId, time}, ok, files, bytes,',
    'expectedFiles, expectedBytes, durationSeconds, check: {command, exitCode, output} or null, message,',
    'details, recorded}]}.',
  ],
  examples: [
    'task -x volsync:verify APP=odoo CLUSTER=apps',
    "task -x volsync:verify APP=odoo CLUSTER=apps 'CHECK=test -s odoo.conf' SCRATCH_SIZE=50Gi",
    'task -x volsync:verify CLUSTER=apps DEPTH=quick OUTPUT=json',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, out } = ctx
  const params: VerifyParams = {
    depth: opts.depth,
    selector: opts.snapshot,
    check: opts.check,
    checkImage: imageFrom(process.env, 'CHECK_IMAGE', resticImage(process.env)),
    scratchSize: opts.scratchSize,
    scratchClass: opts.scratchClass,
  }
  if (opts.source && !opts.app) throw new UsageError('SOURCE names the source of an APP: give APP too (without APP, every source in scope is verified)')
  if (opts.app) {
    const { source: rs } = await findSource(ctx)
    const result = await verifySource(ctx, rs, params)
    out.data({ cluster: opts.cluster, results: [result] })
    const head = `${ref(rs)}, snapshot ${result.snapshot?.shortId ?? '-'} (${result.depth}), ${result.durationSeconds}s`
    if (!result.ok) throw new OperationError(`VERIFICATION FAILED: ${head}: ${result.message}`, result.details)
    out.log(`Verified ${head}: ${result.message}.`)
    if (result.check?.output.trim()) out.log(`The CHECK printed:\n${result.check.output.trimEnd()}`)
    return EXIT.OK
  }
  const scope = opts.namespace ? { namespace: opts.namespace } : { allNamespaces: true as const }
  const sources = (await listSources(kubectl, scope))
    .filter((rs) => rs.spec.restic?.repository)
    .sort((a, b) => ref(a).localeCompare(ref(b)))
  if (sources.length === 0) {
    out.data({ cluster: opts.cluster, results: [] })
    out.result(`No restic ReplicationSources in ${opts.namespace ? `namespace ${opts.namespace} of ` : ''}cluster ${opts.cluster}.`)
    return EXIT.OK
  }
  const results = await verifyMany(ctx, sources, params, CONCURRENCY)
  out.data({ cluster: opts.cluster, results })
  const table = verifyTable(results, out.width, out.paint)
  out.result(table.text)
  if (table.hidden.length) out.result(hiddenNote(table))
  out.result(`\n${verifySummaryLine(results)} (cluster ${opts.cluster})`)
  return results.every((r) => r.ok) ? EXIT.OK : EXIT.FAILED
})
