// task volsync:doctor CLUSTER=<cluster> [NAMESPACE=<ns>] [LOOKBACK=<age>]
// A preflight: what would stop a backup or a restore on this cluster, found
// before one is needed. Reads only; creates one short-lived pod (the restic
// image pulled and run), deleted on every path.
import { ALL_CLUSTERS, type CommandSpec } from '../lib/cli.ts'
import { EXIT } from '../lib/errors.ts'
import { diagnose } from '../lib/doctor/doctor.io.ts'
import {
  countBySeverity,
  doctorExitCode,
  doctorText,
  fleetCountsText,
  fleetDoctorExitCode,
  fleetFindingsText,
  sortFindings,
  summaryLine,
} from '../lib/doctor/findings.ts'
import { clusterSummaryLines, eachCluster, findFleet, fleetTotalLine, keyedByCluster } from '../lib/fleet.ts'
import { hintTarget } from '../lib/hints.ts'
import { Kubectl } from '../lib/kubectl.ts'
import { runCommand, type Context } from '../lib/run.ts'
import { resticImage } from '../lib/snapshots/pod.ts'

const spec: CommandSpec = {
  name: 'doctor',
  summary: 'check that a cluster is ready for backups and restores: what would stop one, and the fix',
  flags: ['cluster', 'namespace', 'kubeconfig', 'output', 'lookback'],
  fleet: true,
  checkEnv: (env) => void resticImage(env),
  notes: [
    'Reads only, but for one short-lived pod (the restic image check below). Each finding has a severity',
    '(error: it would stop a backup or a restore; warning: worth a look, or something that could not be',
    'checked; ok), the check, the reason and the fix (the exact command where',
    'there is one). Exit code 1 when there is any error, 0 otherwise (warnings included).',
    '',
    'Checks, in order: the API server answers (GET /version; when it does not, nothing else is checked) and',
    'kubectl is within one minor version of it; VolSync\'s CRDs are served; the VolSync controller runs (a',
    'Deployment with a volsync image, in any namespace; its version from the image tag); Flux is installed or',
    'not. Each ReplicationSource (of NAMESPACE, or of the cluster): its sourcePVC exists; its repository Secret',
    'exists (by name only, see below); with copyMethod Snapshot, its volumeSnapshotClassName (or a default',
    'VolumeSnapshotClass) exists; its last sync is no older than two schedule periods (48h without a',
    "schedule); VolSync's Synchronizing condition is not Error; its last mover run did not fail; no restore",
    'record (volsync-ops/restore) holds it: HELD by an unfinished restore is an error (fix: volsync:resume), a',
    'restore running a warning; no sync has been running for more than 1h (a warning: VolSync may wait for a',
    'VolumeSnapshot or PVC that never binds, for which it records no event); with copyMethod Snapshot or Clone',
    'and no restore record, its PVC carries no volsync.backube/use-copy-trigger (every backup would wait for a',
    'new copy-trigger and fail after 10 minutes: an error when a restore of this tool left it, else a',
    'warning; the fix removes it). RBAC:',
    'kubectl auth can-i for each verb and resource the commands use, in NAMESPACE or in each namespace that',
    'has sources (replicationsources get, list, watch, patch; replicationdestinations create, delete, watch;',
    'pods create, delete, exec, log; deployments and statefulsets scale; jobs watch; list replicationsources',
    'in all namespaces without NAMESPACE); with Flux installed, patch of Kustomizations in flux-system and',
    "the namespaces the sources' kustomize.toolkit.fluxcd.io/namespace labels name, and of HelmReleases in",
    "the sources' namespaces and those their helm.toolkit.fluxcd.io/namespace labels name.",
    '',
    'PVCs and Secrets are read once per namespace that has sources, whatever their number: one list of its',
    'PVCs, one of its Secrets by name only (kubectl get secrets -n <ns> -o name: no value is read or printed).',
    'A list your RBAC forbids (list persistentvolumeclaims, list secrets) is a warning on each source there.',
    '',
    'The restic image (RESTIC_IMAGE, default restic/restic:0.18.1): a one-shot pod built like every restic',
    'pod of this tool (the mover\'s settings and placement of the first source whose PVC and Secret exist)',
    'runs `restic version`; a container waiting in ErrImagePull, ImagePullBackOff or InvalidImageName is an',
    'error with the reason; a pod create your RBAC forbids is a warning naming the grant. The pod is deleted',
    'on every path, Ctrl-C included. This is the only thing doctor creates. With sources but none whose',
    'PVC and Secret were both found, the image is not tried: a warning.',
    '',
    'Within LOOKBACK: mover pods that failed (pods labelled app.kubernetes.io/created-by=volsync, phase',
    'Failed; one warning per mover Job, with the command that shows the latest log; VolSync retries a mover up',
    'to 8 times, and a source whose last mover run failed is an error whatever its age), and Warning events',
    'of ReplicationSources and ReplicationDestinations.',
    '',
    'A check your RBAC does not let this command make is a warning naming the missing grant: an "ok" only',
    'ever stands for something that was read.',
    '',
    'CLUSTER=all checks every cluster this repository knows, in parallel (README.md, "Every cluster at once"):',
    'one list of findings with a CLUSTER column, then one summary line per cluster. A cluster whose API server',
    'does not answer (or that has no kubeconfig or context) is NOT READ with the reason, the others are still',
    'shown, and the exit code is 1. NAMESPACE applies to every cluster.',
    '',
    'JSON: {cluster, namespace, errors, warnings, ok, findings: [{severity, check, subject, reason, fix}]}',
    '(errors first). With CLUSTER=all: {cluster: "all", namespace, errors, warnings, ok, notRead, clusters:',
    '{<name>: {how, read, error, errors, warnings, ok, findings}}}, keyed by cluster.',
  ],
  examples: [
    'task -x volsync:doctor CLUSTER=apps',
    'task -x volsync:doctor CLUSTER=all',
    "task -x volsync:doctor CLUSTER=apps NAMESPACE=business LOOKBACK=3d OUTPUT=json | jq '.findings[] | select(.severity != \"ok\")'",
    'tsx scripts/doctor.ts --cluster apps --namespace business',
  ],
}

await runCommand(spec, async (ctx) => {
  const { opts, kubectl, hints, out } = ctx
  if (opts.cluster === ALL_CLUSTERS) return fleetDoctor(ctx)
  const findings = await diagnose({
    kubectl,
    hints,
    cluster: opts.cluster,
    namespace: opts.namespace,
    lookbackMs: opts.lookbackMs,
    now: new Date(),
    ctx,
  })
  const n = countBySeverity(findings)
  out.data({ cluster: opts.cluster, namespace: opts.namespace ?? null, errors: n.error, warnings: n.warning, ok: n.ok, findings: sortFindings(findings) })
  const where = opts.namespace ? `namespace ${opts.namespace} of cluster ${opts.cluster}` : `cluster ${opts.cluster}`
  out.result(doctorText(findings, where, out.paint))
  return doctorExitCode(findings) ? EXIT.FAILED : EXIT.OK
})

/** CLUSTER=all: every known cluster checked in parallel, each with its own kubectl; one list, one summary line per cluster. */
async function fleetDoctor(ctx: Context): Promise<number> {
  const { opts, out } = ctx
  const fleet = await findFleet(process.env, () => new Kubectl({ name: opts.cluster, how: 'default kubeconfig' }).defaultContexts())
  for (const note of fleet.notes) out.note(note)
  const now = new Date()
  const results = await eachCluster(fleet.members, (kubectl, target) =>
    diagnose({
      kubectl,
      hints: hintTarget(target),
      cluster: target.name,
      namespace: opts.namespace,
      lookbackMs: opts.lookbackMs,
      now,
      unreachableThrows: true,
      ctx: { ...ctx, kubectl, cluster: target, hints: hintTarget(target) },
    }),
  )
  const all = results.flatMap((r) => (r.ok ? r.value : []))
  const n = countBySeverity(all)
  out.data({
    cluster: opts.cluster,
    namespace: opts.namespace ?? null,
    errors: n.error,
    warnings: n.warning,
    ok: n.ok,
    notRead: results.filter((r) => !r.ok).length,
    clusters: keyedByCluster(results, (findings) => {
      const c = countBySeverity(findings)
      return { errors: c.error, warnings: c.warning, ok: c.ok, findings: sortFindings(findings) }
    }),
  })
  const table = fleetFindingsText(results, out.paint)
  if (table) out.result(table + '\n')
  out.result(
    [...clusterSummaryLines(results, (findings) => summaryLine(findings), out.paint), fleetTotalLine(results, fleetCountsText(results), out.paint, opts.namespace)].join(
      '\n',
    ),
  )
  return fleetDoctorExitCode(results) ? EXIT.FAILED : EXIT.OK
}
