// volsync:doctor's reads: every fact findings.ts judges, read through the one
// kubectl boundary. A read that fails becomes a fact ("could not be read",
// forbidden or not), never an exception: one missing grant must not hide the
// other checks. Only an unreachable API server ends the checks early.
import { InterruptedError, errorText } from '../errors.ts'
import type { HintTarget } from '../hints.ts'
import { KubectlError, type ApiResource, type Kubectl, type Scope } from '../kubectl.ts'
import type { Context } from '../run.ts'
import { moverPod } from '../snapshots/list.io.ts'
import { resticImage } from '../snapshots/pod.ts'
import { runOnce } from '../snapshots/runner.io.ts'
import { USE_COPY_TRIGGER, ref, type ReplicationSource } from '../volsync/objects.ts'
import { listSources } from '../volsync/sources.io.ts'
import {
  controllerFinding,
  crdFinding,
  eventFindings,
  eventsUnread,
  failedMoverFindings,
  imageFinding,
  imageUnchecked,
  pullFailure,
  moversUnread,
  fluxFinding,
  fluxNamespaces,
  grantsToAsk,
  noEventsFinding,
  rbacFindings,
  serverFinding,
  skewFinding,
  snapshotCopy,
  sourceFindings,
  sourceReady,
  sourcesUnread,
  type DeploymentImage,
  type Finding,
  type GrantAnswer,
  type ImageProbe,
  type KubeEvent,
  type MoverPod,
  type Read,
  type SnapshotClass,
  type SourceFacts,
  type Version,
} from './findings.ts'

/** How many kubectl calls run at once (the machine, and the API server, are shared). */
const CONCURRENCY = 4

export interface DoctorRun {
  kubectl: Kubectl
  hints: HintTarget
  cluster: string
  namespace?: string
  lookbackMs: number
  now: Date
  /**
   * CLUSTER=all: an API server that does not answer throws (the fleet reports
   * the cluster NOT READ with kubectl's reason) instead of being a finding
   */
  unreachableThrows?: boolean
  /**
   * The run's frame (this cluster's kubectl, the clean-up stack, Ctrl-C): with
   * it, the restic image is pulled and run in a one-shot pod (imageProbe)
   */
  ctx?: Context
}

/** How long the `restic version` pod may take to pull and run. */
const IMAGE_PROBE_MS = 5 * 60_000

/**
 * The restic image of this tool's pods, pulled and run (`restic version`) in a
 * one-shot pod built by lib/snapshots like every restic pod of the tool (the
 * mover's settings and placement of `rs`); the pod is deleted on every path
 * (runOnce: the clean-up stack, also on Ctrl-C).
 */
async function imageProbe(ctx: Context, rs: ReplicationSource): Promise<ImageProbe> {
  const probeCtx: Context = { ...ctx, opts: { ...ctx.opts, timeoutMs: Math.min(ctx.opts.timeoutMs, IMAGE_PROBE_MS) } }
  try {
    const { mover, placement } = await moverPod(probeCtx, rs)
    const app = rs.metadata.name.replace(/-backup$/, '').slice(0, 40).replace(/-+$/, '')
    const { phase, log } = await runOnce(
      probeCtx,
      { prefix: `volsync-doctor-${app}`, namespace: rs.metadata.namespace!, app, component: 'doctor', mover, placement, image: resticImage(process.env), command: { run: ['version'] } },
      'doctor',
      `pulling the restic image in ${rs.metadata.namespace}`,
    )
    return phase === 'Succeeded' ? { kind: 'ran', log } : { kind: 'failed', error: `restic version failed; its log ends: ${log.trim().split('\n').slice(-3).join(' / ')}` }
  } catch (err) {
    if (err instanceof InterruptedError) throw err
    if (isForbidden(err)) return { kind: 'forbidden', error: errorText(err) }
    const pull = pullFailure(errorText(err))
    return pull ? { kind: 'not-pullable', reason: pull } : { kind: 'failed', error: errorText(err) }
  }
}

const isForbidden = (err: unknown) => err instanceof KubectlError && err.failure === 'forbidden'
const isMissing = (err: unknown) => err instanceof KubectlError && (err.failure === 'not-found' || err.failure === 'no-resource-type')

async function read<T>(f: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await f() }
  } catch (err) {
    return { ok: false, forbidden: isForbidden(err), error: errorText(err) }
  }
}

/** The resources an API group version serves (its discovery document); null when it is not served. */
async function groupResources(kubectl: Kubectl, path: string): Promise<string[] | null> {
  try {
    const doc = await kubectl.getRaw<{ resources?: { name: string }[] }>(path)
    return (doc.resources ?? []).map((r) => r.name)
  } catch (err) {
    if (isMissing(err)) return null
    throw err
  }
}

/** Every object of a collection (paged raw reads). */
async function all<T>(kubectl: Kubectl, resource: ApiResource, scope: Scope, field?: string): Promise<T[]> {
  const items: T[] = []
  for await (const page of kubectl.pages<T>(resource, scope, { selectors: { field } })) items.push(...page)
  return items
}

/** `f` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await f(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/**
 * What every source of `namespace` is judged against, one list call each: the
 * names of its PVCs and which carry volsync.backube/use-copy-trigger (the raw
 * list, as JSON) when a source there names one, and of its Secrets when a
 * source there names a repository: by name only
 * (`kubectl get secrets -o name`), no Secret value is ever read.
 */
async function namespaceFacts(kubectl: Kubectl, namespace: string, sources: readonly ReplicationSource[]): Promise<Pick<SourceFacts, 'pvcs' | 'secrets' | 'copyTriggers'>> {
  const here = sources.filter((rs) => (rs.metadata.namespace ?? '') === namespace)
  const facts: Pick<SourceFacts, 'pvcs' | 'secrets' | 'copyTriggers'> = {}
  if (here.some((rs) => rs.spec?.sourcePVC)) {
    const pvcs = await read(() =>
      all<{ metadata: { name: string; annotations?: Record<string, string> } }>(kubectl, { group: '', version: 'v1', plural: 'persistentvolumeclaims' }, { namespace }),
    )
    facts.pvcs = pvcs.ok ? { ok: true, value: pvcs.value.map((pvc) => pvc.metadata.name) } : pvcs
    if (pvcs.ok) {
      facts.copyTriggers = Object.fromEntries(
        pvcs.value.flatMap((pvc) => {
          const value = pvc.metadata.annotations?.[USE_COPY_TRIGGER]
          return value === undefined ? [] : [[pvc.metadata.name, value] as const]
        }),
      )
    }
  }
  if (here.some((rs) => rs.spec?.restic?.repository)) facts.secrets = await read(() => kubectl.names('secrets', namespace))
  return facts
}

/** Every check, in priority order; the findings in the order they were made. */
export async function diagnose(run: DoctorRun): Promise<Finding[]> {
  const { kubectl, hints, cluster, namespace, lookbackMs, now } = run
  const findings: Finding[] = []

  // 1. the API server, and kubectl's version against it
  let server: Read<Version>
  try {
    server = { ok: true, value: await kubectl.getRaw<Version>('/version') }
  } catch (err) {
    if (run.unreachableThrows) throw err
    server = { ok: false, forbidden: isForbidden(err), error: errorText(err) }
  }
  findings.push(serverFinding(server, hints, cluster))
  if (!server.ok) return findings
  findings.push(skewFinding(await read(() => kubectl.clientVersion()), server.value))

  // 2. VolSync's CRDs and controller; Flux
  const crds = await read(() => groupResources(kubectl, '/apis/volsync.backube/v1alpha1'))
  findings.push(crdFinding(crds, hints))
  const deployments = await read(async () =>
    (await all<Deployment>(kubectl, { group: 'apps', version: 'v1', plural: 'deployments' }, { allNamespaces: true })).flatMap((d) =>
      (d.spec?.template?.spec?.containers ?? []).map(
        (c): DeploymentImage => ({ namespace: d.metadata.namespace ?? '', name: d.metadata.name, image: c.image ?? '', readyReplicas: d.status?.readyReplicas ?? 0 }),
      ),
    ),
  )
  findings.push(controllerFinding(deployments, hints))
  const flux = await read(async () => {
    const [k, h] = await Promise.all([
      groupResources(kubectl, '/apis/kustomize.toolkit.fluxcd.io'),
      groupResources(kubectl, '/apis/helm.toolkit.fluxcd.io'),
    ])
    return k !== null || h !== null
  })
  findings.push(fluxFinding(flux))

  // 3. each ReplicationSource
  const scope: Scope = namespace ? { namespace } : { allNamespaces: true }
  const where = namespace ? `namespace ${namespace}` : 'the cluster'
  let sources: ReplicationSource[] = []
  if (crds.ok && crds.value !== null) {
    const listed = await read(() => listSources(kubectl, scope))
    if (listed.ok) sources = listed.value
    else findings.push(sourcesUnread(listed.error, listed.forbidden, where))
  }
  let classes: Read<SnapshotClass[] | null> | undefined
  if (sources.some(snapshotCopy)) {
    classes = await read(async () => {
      try {
        const list = await all<SnapshotClassObject>(kubectl, { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshotclasses' }, { allNamespaces: true })
        return list.map((c) => ({ name: c.metadata.name, isDefault: c.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true' }))
      } catch (err) {
        if (isMissing(err)) return null
        throw err
      }
    })
  }
  // one PVC list and one Secret name list per namespace that has sources, whatever their number
  const sourceNamespaces = [...new Set(sources.map((rs) => rs.metadata.namespace ?? ''))].sort()
  const byNamespace = new Map(
    await mapLimit(sourceNamespaces, CONCURRENCY, async (ns) => [ns, await namespaceFacts(kubectl, ns, sources)] as const),
  )
  const perSource = sources.map((rs) => {
    const facts: SourceFacts = { ...byNamespace.get(rs.metadata.namespace ?? ''), snapshotClasses: snapshotCopy(rs) ? classes : undefined }
    return { rs, facts, findings: sourceFindings(rs, facts, now, hints) }
  })
  findings.push(...perSource.flatMap((p) => p.findings))

  // the restic image, pulled and run where the first source whose PVC and Secret exist backs up
  const probeSource = perSource.find((p) => sourceReady(p.rs, p.facts))?.rs
  if (run.ctx && probeSource) {
    const probe = await imageProbe({ ...run.ctx, kubectl, hints }, probeSource)
    findings.push(imageFinding(resticImage(process.env), ref(probeSource), probeSource.metadata.namespace ?? '', probe, hints))
  } else if (run.ctx && sources.length > 0) {
    findings.push(imageUnchecked(resticImage(process.env)))
  }
  if (crds.ok && crds.value !== null && sources.length === 0 && !findings.some((f) => f.check === 'sources')) {
    findings.push({ severity: 'ok', check: 'sources', subject: null, reason: `no ReplicationSources in ${where}`, fix: null })
  }

  // movers that failed within the lookback (pods of VolSync's mover Jobs)
  if (crds.ok && crds.value !== null) {
    const pods = await read(async () => {
      const items: MoverPod[] = []
      const selectors = { label: 'app.kubernetes.io/created-by=volsync', field: 'status.phase=Failed' }
      for await (const page of kubectl.pages<MoverPod>({ group: '', version: 'v1', plural: 'pods' }, scope, { selectors })) items.push(...page)
      return items
    })
    if (!pods.ok) findings.push(moversUnread(pods.error, pods.forbidden))
    else findings.push(...failedMoverFindings(pods.value, now, lookbackMs, hints))
  }

  // 4. RBAC: in NAMESPACE, or in each namespace that has sources
  const namespaces = namespace ? [namespace] : sourceNamespaces
  const grants = grantsToAsk(flux.ok && flux.value)
  const questions: { grant: (typeof grants)[number]; namespace: string | null }[] = [
    ...(namespace ? [] : grants.filter((g) => g.cluster).map((grant) => ({ grant, namespace: null }))),
    ...namespaces.flatMap((ns) => grants.filter((g) => !g.cluster && !g.flux).map((grant) => ({ grant, namespace: ns }))),
    ...grants.flatMap((grant) => (grant.flux ? fluxNamespaces(sources, grant.flux).map((ns) => ({ grant, namespace: ns })) : [])),
  ]
  const answers = await mapLimit(questions, CONCURRENCY, async (q): Promise<GrantAnswer> => {
    try {
      const allowed = await kubectl.canI(q.grant.verb, q.grant.resource, q.namespace === null ? { allNamespaces: true } : { namespace: q.namespace }, q.grant.subresource)
      return { ...q, allowed }
    } catch (err) {
      return { ...q, allowed: { error: errorText(err) } }
    }
  })
  findings.push(...rbacFindings(answers, hints))

  // 5. recent Warning events of VolSync's objects
  const events = await read(async () => {
    const [rs, rd] = await Promise.all(
      ['ReplicationSource', 'ReplicationDestination'].map((kind) =>
        all<KubeEvent>(kubectl, { group: '', version: 'v1', plural: 'events' }, scope, `type=Warning,involvedObject.kind=${kind}`),
      ),
    )
    return [...rs!, ...rd!]
  })
  if (!events.ok) findings.push(eventsUnread(events.error, events.forbidden))
  else {
    const recent = eventFindings(events.value, now, lookbackMs, hints)
    findings.push(...(recent.length ? recent : [noEventsFinding(lookbackMs)]))
  }
  return findings
}

interface Deployment {
  metadata: { name: string; namespace?: string }
  spec?: { template?: { spec?: { containers?: { name: string; image?: string }[] } } }
  status?: { readyReplicas?: number }
}

interface SnapshotClassObject {
  metadata: { name: string; annotations?: Record<string, string> }
}
