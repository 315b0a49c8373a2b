// task volsync:check APP=<app> CLUSTER=<cluster> [READ_DATA=<percent>]
// `restic check` of an app's repository; a repository locked by a running backup or prune is "busy".
import type { CommandSpec } from '../lib/cli.ts'
import { EXIT, OperationError } from '../lib/errors.ts'
import { taskHint } from '../lib/hints.ts'
import { checkSource } from '../lib/recover/stats.io.ts'
import { runCommand } from '../lib/run.ts'
import { resticImage } from '../lib/snapshots/pod.ts'
import { ref } from '../lib/volsync/objects.ts'
import { findSource } from '../lib/volsync/sources.io.ts'

const spec: CommandSpec = {
  name: 'check',
  summary: "check an app's restic repository for errors (`restic check`, optionally reading back part of the data)",
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'timeout', 'source', 'read-data'],
  required: ['app'],
  defaultTimeout: '1h',
  checkEnv: (env) => void resticImage(env),
  notes: [
    "Runs `restic check` (with READ_DATA: --read-data-subset=<percent>%, which downloads and verifies that",
    "share of the data packs) in one restic pod in the app's namespace, built like the mover (as for files),",
    'with `kubectl exec` (needs create on pods/exec); the pod is deleted afterwards, on every path.',
    '',
    "restic check takes the repository's exclusive lock. When another process holds a lock (a running backup",
    'or prune), restic checks nothing and this says the repository is busy (exit 1): try later. This tool never',
    'removes a lock; a lock left by a process that died is cleared by volsync:unlock.',
    '',
    "Exit 1 with restic's own words when it finds errors (a damaged pack, a missing blob): read restic's",
    'troubleshooting guide before `restic repair`.',
    '',
    'JSON: {cluster, source, readData (percent or null), ok, busy, message, details}.',
  ],
  examples: [
    'task -x volsync:check APP=odoo CLUSTER=apps',
    'task -x volsync:check APP=odoo CLUSTER=apps READ_DATA=10',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, out } = ctx
  const { source: rs } = await findSource(ctx)
  if (!rs.spec.restic?.repository) throw new OperationError(`${ref(rs)} has no restic repository (spec.restic.repository): nothing to check`)
  const verdict = await checkSource(ctx, rs, opts.app!, opts.readData)
  const details = verdict.kind === 'ok' ? '' : verdict.details
  out.data({ cluster: opts.cluster, source: ref(rs), readData: opts.readData ?? null, ok: verdict.kind === 'ok', busy: verdict.kind === 'busy', message: verdict.message, details })
  if (verdict.kind === 'busy') {
    const unlock = taskHint('unlock', { APP: opts.app, NAMESPACE: rs.metadata.namespace, SOURCE: opts.source }, ctx.hints.task)
    const stale = `Only when no backup, prune or check is running anywhere (another cluster too) and the lock is old, it is stale; clear it with:\n  ${unlock}`
    throw new OperationError(`${ref(rs)}: ${verdict.message}`, `${details}\n${stale}`)
  }
  if (verdict.kind === 'failed') throw new OperationError(`${ref(rs)}: ${verdict.message}`, details)
  out.log(`Checked ${ref(rs)}: ${verdict.message}.`)
  return EXIT.OK
})
