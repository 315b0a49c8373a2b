// volsync:doctor, pure: what each fact read from the cluster means, as
// findings {severity, check, subject, reason, fix}. doctor.io.ts reads the
// facts; nothing here runs anything. A fact that could not be read (RBAC,
// an error) is a warning that says what was not checked and which grant is
// missing: an "ok" only ever stands for something that was read.
import { kubectlHint, taskHint, type HintTarget } from '../hints.ts'
import { formatAge, type Paint } from '../output.ts'
import { readMoverLogs } from '../volsync/mover-log.ts'
import { RD, RS, USE_COPY_TRIGGER, ref, syncCondition, type ReplicationSource } from '../volsync/objects.ts'
import { RESTORE_COPY_TRIGGER, restoreAttention, restoreMark, restoreMarkText, resumeCommand, type RestoreMark } from '../volsync/health.ts'
import { nextRun, parseSchedule } from '../volsync/schedule.ts'

export type Severity = 'error' | 'warning' | 'ok'

export interface Finding {
  /** error: would stop a backup or a restore; warning: worth a look, or could not be checked */
  severity: Severity
  /** which check: api-server, kubectl-version, crds, controller, flux, sources, source-pvc, ... */
  check: string
  /** what it is about (namespace/name of a source, a grant), or null for the cluster */
  subject: string | null
  reason: string
  /** what to do; the exact command where there is one */
  fix: string | null
}

const finding = (severity: Severity, check: string, subject: string | null, reason: string, fix: string | null = null): Finding => ({
  severity,
  check,
  subject,
  reason,
  fix,
})

/** The default LOOKBACK: how far back failed syncs and Warning events count. */
export const DEFAULT_LOOKBACK_MS = 24 * 3_600_000

/** A last sync older than this counts as stale when the schedule says nothing better. */
export const STALE_SYNC_MS = 48 * 3_600_000

/** A sync running longer than this is worth a look (VolSync records no event while its copy or cache PVC never binds). */
export const LONG_SYNC_MS = 3_600_000

/** A fact read from the cluster: the value, or why it could not be read. */
export type Read<T> = { ok: true; value: T } | { ok: false; forbidden: boolean; error: string }

// ------------------------------------------------------------ API server

export interface Version {
  major?: string
  minor?: string
  gitVersion?: string
}

/** The minor version as a number ("35+" from some providers counts as 35). */
export function minorOf(v: Version): number | undefined {
  const m = /^(\d+)/.exec(v.minor ?? '') ?? /^v?\d+\.(\d+)/.exec(v.gitVersion ?? '')
  return m ? Number(m[1]) : undefined
}

/** The API server: reachable (with its version), or not (then nothing else can be checked). */
export function serverFinding(server: Read<Version>, hints: HintTarget, cluster: string): Finding {
  if (server.ok) return finding('ok', 'api-server', null, `reachable, Kubernetes ${server.value.gitVersion ?? '(version not given)'}`)
  return finding(
    'error',
    'api-server',
    null,
    `the API server of cluster ${cluster} did not answer: ${server.error}. Nothing else could be checked`,
    `check CLUSTER/KUBECONFIG and the network, then: ${kubectlHint(hints.kubectl, ['get', '--raw', '/version'])}`,
  )
}

/** kubectl supports one minor version of skew either way with the API server. */
export function skewFinding(client: Read<Version>, server: Version): Finding {
  if (!client.ok) return finding('warning', 'kubectl-version', null, `the kubectl client's version could not be read: ${client.error}`)
  const [c, s] = [minorOf(client.value), minorOf(server)]
  const text = `kubectl ${client.value.gitVersion ?? '?'}, server ${server.gitVersion ?? '?'}`
  if (c === undefined || s === undefined) return finding('warning', 'kubectl-version', null, `${text}: the skew could not be worked out`)
  if (Math.abs(c - s) > 1) {
    return finding(
      'warning',
      'kubectl-version',
      null,
      `${text}: ${Math.abs(c - s)} minor versions apart (kubectl supports one either way)`,
      `use a kubectl of 1.${s - 1} to 1.${s + 1}`,
    )
  }
  return finding('ok', 'kubectl-version', null, `${text}: within one minor version`)
}

// ------------------------------------------------------------ VolSync itself

/** The resources the API group volsync.backube/v1alpha1 serves (its discovery document), or why not read. */
export function crdFinding(resources: Read<string[] | null>, hints: HintTarget): Finding {
  const fix = `install the VolSync operator and its CRDs (helm chart backube/volsync); check: ${kubectlHint(hints.kubectl, [
    'api-resources',
    '--api-group=volsync.backube',
  ])}`
  if (!resources.ok) return finding('warning', 'crds', null, `VolSync's API group could not be read: ${resources.error}`)
  const have = new Set(resources.value ?? [])
  const missing = ['replicationsources', 'replicationdestinations'].filter((r) => !have.has(r))
  if (missing.length === 0) return finding('ok', 'crds', null, `${RS} and ${RD} are served`)
  return finding('error', 'crds', null, `the API server does not serve ${missing.map((m) => `${m}.volsync.backube`).join(' or ')}: VolSync is not installed`, fix)
}

/** A container of a Deployment, as doctor.io.ts reads them. */
export interface DeploymentImage {
  namespace: string
  name: string
  image: string
  readyReplicas: number
}

/** Is `image` VolSync's (quay.io/backube/volsync:0.16.0, .../volsync@sha256:...)? */
export const isVolsyncImage = (image: string) => /(^|\/)volsync(:[^/]*|@[^/]*)?$/.test(image)

/** The version an image tag names: "0.16.0" of "quay.io/backube/volsync:0.16.0"; undefined for a digest or no tag. */
export function imageVersion(image: string): string | undefined {
  const m = /:([^/@:]+)$/.exec(image.split('@')[0]!)
  return m ? m[1] : undefined
}

/** The VolSync controller among the Deployments read (every namespace), or why they could not be read. */
export function controllerFinding(deployments: Read<DeploymentImage[]>, hints: HintTarget): Finding {
  if (!deployments.ok) {
    const grant = 'list deployments.apps in all namespaces'
    return finding(
      'warning',
      'controller',
      null,
      deployments.forbidden
        ? `the VolSync controller could not be looked for: your RBAC does not grant ${grant}`
        : `the VolSync controller could not be looked for: ${deployments.error}`,
      deployments.forbidden ? `check: ${kubectlHint(hints.kubectl, ['auth', 'can-i', 'list', 'deployments.apps', '--all-namespaces'])}` : null,
    )
  }
  const found = deployments.value.filter((d) => isVolsyncImage(d.image))
  if (found.length === 0) {
    return finding(
      'warning',
      'controller',
      null,
      'no Deployment runs a volsync image: the controller may run outside the cluster or under another image name; ' +
        'without it nothing is backed up or restored',
      kubectlHint(hints.kubectl, ['get', 'deployments', '--all-namespaces', '-o', 'wide']),
    )
  }
  const d = found[0]!
  const version = imageVersion(d.image) ?? 'unknown (no tag)'
  if (d.readyReplicas < 1) {
    return finding(
      'error',
      'controller',
      `${d.namespace}/${d.name}`,
      `the VolSync controller (${d.image}) has no ready replica: no backup or restore runs`,
      kubectlHint(hints.kubectl, ['describe', 'deployment', d.name, '-n', d.namespace]),
    )
  }
  return finding('ok', 'controller', `${d.namespace}/${d.name}`, `VolSync ${version} (${d.image}) is running`)
}

/** Flux: its API groups served or not (the restore suspends Flux's objects when it is there). */
export function fluxFinding(flux: Read<boolean>): Finding {
  if (!flux.ok) return finding('warning', 'flux', null, `whether Flux is installed could not be read: ${flux.error}`)
  return finding('ok', 'flux', null, flux.value ? 'Flux is installed (restore suspends its Kustomizations and HelmReleases)' : 'Flux is not installed')
}

// ------------------------------------------------------------ each source

/** Exists, does not, or could not be checked. */
export type Presence = 'yes' | 'no' | 'forbidden'

export interface SnapshotClass {
  name: string
  isDefault: boolean
}

/**
 * The names of one kind of object in a namespace, read with one list call per
 * namespace (doctor.io.ts: the PVCs as JSON, the Secrets by name only), or
 * why they could not be listed.
 */
export type NamesInNamespace = Read<readonly string[]>

/** What was read about one source besides the source itself. */
export interface SourceFacts {
  /** the names of the PVCs of the source's namespace */
  pvcs?: NamesInNamespace
  /** the names of the Secrets of the source's namespace (names only: no value is ever read) */
  secrets?: NamesInNamespace
  /** the PVCs of the source's namespace that carry volsync.backube/use-copy-trigger: name -> its value */
  copyTriggers?: Readonly<Record<string, string>>
  /** the VolumeSnapshotClasses, read when copyMethod is Snapshot; null: the API is not served */
  snapshotClasses?: Read<SnapshotClass[] | null>
}

/** Whether `name` is among the names listed: yes, no, forbidden, the list's error; undefined: not listed. */
export function presenceIn(names: NamesInNamespace | undefined, name: string): Presence | { error: string } | undefined {
  if (!names) return undefined
  if (!names.ok) return names.forbidden ? 'forbidden' : { error: names.error }
  return names.value.includes(name) ? 'yes' : 'no'
}

/** Both the source's PVC and its repository Secret were found: a pod placed as its mover can start (the restic image check). */
export const sourceReady = (rs: ReplicationSource, facts: SourceFacts): boolean =>
  !!rs.spec?.sourcePVC &&
  !!rs.spec?.restic?.repository &&
  presenceIn(facts.pvcs, rs.spec.sourcePVC) === 'yes' &&
  presenceIn(facts.secrets, rs.spec.restic.repository) === 'yes'

export const snapshotCopy = (rs: ReplicationSource) => rs.spec?.restic?.copyMethod === 'Snapshot'

/**
 * How old a last sync may be before it counts as stale: two schedule
 * periods when the schedule can be modelled, else 48h.
 */
export function staleAfter(rs: ReplicationSource, now: Date): number {
  const spec = rs.spec?.trigger?.schedule
  if (!spec) return STALE_SYNC_MS
  const schedule = parseSchedule(spec)
  if ('error' in schedule) return STALE_SYNC_MS
  const first = nextRun(schedule, now.getTime())
  const period = nextRun(schedule, first) - first
  return Number.isFinite(period) && period > 0 ? 2 * period : STALE_SYNC_MS
}

const presenceError = (p: Presence | { error: string } | undefined): string | undefined =>
  typeof p === 'object' ? p.error : undefined

/**
 * A source PVC carrying volsync.backube/use-copy-trigger while no restore of
 * this tool holds the source: with copyMethod Snapshot or Clone every backup
 * waits for a new copy-trigger and fails after 10 minutes without one. Left by
 * a restore of this tool (its value) it is an error; set by something else
 * (a database hook that drives the copy trigger, perhaps) a warning.
 */
function copyTriggerFinding(rs: ReplicationSource, pvc: string, facts: SourceFacts, hints: HintTarget): Finding | undefined {
  const value = facts.copyTriggers?.[pvc]
  const copy = rs.spec?.restic?.copyMethod
  if (value === undefined || (copy !== 'Snapshot' && copy !== 'Clone')) return undefined
  const ns = rs.metadata.namespace ?? ''
  const remove = kubectlHint(hints.kubectl, ['annotate', 'pvc', pvc, '-n', ns, `${USE_COPY_TRIGGER}-`])
  const waits =
    `VolSync makes the ${copy === 'Snapshot' ? 'VolumeSnapshot' : 'clone'} of each backup only after volsync.backube/copy-trigger ` +
    'changes, and fails the backup after waiting 10 minutes'
  if (value === RESTORE_COPY_TRIGGER) {
    return finding(
      'error',
      'copy-trigger',
      ref(rs),
      `PVC ${pvc} still carries ${USE_COPY_TRIGGER} of a restore of volsync-ops, but no restore holds the source (no record): ${waits}`,
      `remove it: ${remove}`,
    )
  }
  return finding(
    'warning',
    'copy-trigger',
    ref(rs),
    `PVC ${pvc} carries ${USE_COPY_TRIGGER} (${JSON.stringify(value)}): ${waits}`,
    `if nothing sets a new copy-trigger before each backup (a database hook, for example), remove it: ${remove}`,
  )
}

/** The findings of one ReplicationSource: its PVC, Secret, snapshot class, last sync, state and mover. */
export function sourceFindings(rs: ReplicationSource, facts: SourceFacts, now: Date, hints: HintTarget): Finding[] {
  const out: Finding[] = []
  const subject = ref(rs)
  const ns = rs.metadata.namespace ?? ''
  const k = (args: string[]) => kubectlHint(hints.kubectl, args)
  const okParts: string[] = []

  const pvc = rs.spec?.sourcePVC
  const pvcFound = pvc ? presenceIn(facts.pvcs, pvc) : undefined
  if (!pvc) out.push(finding('error', 'source-pvc', subject, 'spec.sourcePVC is not set: there is nothing to back up'))
  else if (pvcFound === 'no') {
    out.push(
      finding(
        'error',
        'source-pvc',
        subject,
        `its PVC ${pvc} does not exist in namespace ${ns}: no backup can run`,
        `recreate the app's PVC, or pause the source (spec.paused: true) if the app is gone; check: ${k(['get', 'pvc', pvc, '-n', ns, '-o', 'name'])}`,
      ),
    )
  } else if (pvcFound === 'forbidden') {
    out.push(
      finding('warning', 'source-pvc', subject, `PVC ${pvc} not checked: your RBAC does not grant list persistentvolumeclaims in namespace ${ns}`, k(['auth', 'can-i', 'list', 'persistentvolumeclaims', '-n', ns])),
    )
  } else if (presenceError(pvcFound)) {
    out.push(finding('warning', 'source-pvc', subject, `PVC ${pvc} not checked: ${presenceError(pvcFound)}`))
  } else if (pvcFound === 'yes') okParts.push(`PVC ${pvc}`)

  const secret = rs.spec?.restic?.repository
  const secretFound = secret ? presenceIn(facts.secrets, secret) : undefined
  if (!secret) out.push(finding('error', 'repository-secret', subject, 'spec.restic.repository names no Secret: the mover has no repository'))
  else if (secretFound === 'no') {
    out.push(
      finding(
        'error',
        'repository-secret',
        subject,
        `its repository Secret ${secret} does not exist in namespace ${ns}: no backup or restore can run`,
        `recreate Secret ${ns}/${secret} (RESTIC_REPOSITORY, RESTIC_PASSWORD and the storage credentials) from where your secrets are kept; check: ${k(['get', 'secret', secret, '-n', ns, '-o', 'name'])}`,
      ),
    )
  } else if (secretFound === 'forbidden') {
    out.push(
      finding('warning', 'repository-secret', subject, `Secret ${secret} not checked: your RBAC does not grant list secrets in namespace ${ns}`, k(['auth', 'can-i', 'list', 'secrets', '-n', ns])),
    )
  } else if (presenceError(secretFound)) {
    out.push(finding('warning', 'repository-secret', subject, `Secret ${secret} not checked: ${presenceError(secretFound)}`))
  } else if (secretFound === 'yes') okParts.push(`Secret ${secret}`)

  if (snapshotCopy(rs)) {
    const f = snapshotClassFinding(rs, facts.snapshotClasses, hints)
    if (f.severity === 'ok') okParts.push(f.reason)
    else out.push(f)
  }

  const cond = syncCondition(rs)
  if (cond?.reason === 'Error') {
    out.push(
      finding('error', 'sync-error', subject, `VolSync reports an error: ${cond.message ?? 'no message'}`, k(['describe', 'replicationsources.volsync.backube', rs.metadata.name, '-n', ns])),
    )
  }
  const mover = rs.status?.latestMoverStatus
  if (mover?.result === 'Failed') {
    const facts = readMoverLogs(mover.logs)
    const why = facts.errorSummary
    const held = facts.copyTriggerTimeout
    out.push(
      finding(
        'error',
        'mover',
        subject,
        `its last mover run failed${why ? `: ${why}` : ''}`,
        held
          ? `VolSync makes no copy of PVC ${held} while volsync.backube/use-copy-trigger is set and volsync.backube/copy-trigger ` +
              `does not change. A restore of volsync-ops sets it while it runs; if none runs, whoever set it must set a new ` +
              `copy-trigger, or remove it: ${k(['annotate', 'pvc', held, '-n', ns, 'volsync.backube/use-copy-trigger-'])}`
          : taskHint('status', { NAMESPACE: ns }, hints.task),
      ),
    )
  }

  const long = longSyncFinding(rs, now, hints)
  if (long) out.push(long)

  // a restore's record: it paused the source (backups held) and stopped the app
  const mark = restoreMark(rs)
  if (mark) out.push(restoreFinding(rs, mark, hints))
  else if (rs.spec?.paused) out.push(finding('warning', 'last-sync', subject, 'paused (spec.paused): no backups run'))
  // a copy trigger no restore of this tool holds: every backup waits for it (the timeout itself is the mover finding)
  const trigger = !mark && pvc && !(mover?.result === 'Failed' && readMoverLogs(mover.logs).copyTriggerTimeout) ? copyTriggerFinding(rs, pvc, facts, hints) : undefined
  if (trigger) out.push(trigger)
  const last = rs.status?.lastSyncTime ? Date.parse(rs.status.lastSyncTime) : NaN
  if (Number.isNaN(last)) {
    if (!rs.spec?.paused) out.push(finding('warning', 'last-sync', subject, 'has never synced: there is no backup to restore yet'))
  } else {
    const age = now.getTime() - last
    const limit = staleAfter(rs, now)
    if (age > limit) {
      out.push(
        finding(
          'warning',
          'last-sync',
          subject,
          `its last sync was ${formatAge(age)} ago, more than ${formatAge(limit)} (${rs.spec?.trigger?.schedule ? 'two schedule periods' : 'no schedule'})`,
          taskHint('snapshot', { APP: rs.metadata.name.replace(/-backup$/, ''), NAMESPACE: ns, SOURCE: rs.metadata.name }, hints.task),
        ),
      )
    } else okParts.push(`last sync ${formatAge(age)} ago`)
  }

  if (out.length === 0) out.push(finding('ok', 'source', subject, okParts.join(', ')))
  return out
}

/**
 * A sync that has run for more than LONG_SYNC_MS: a large backup, or VolSync
 * waiting for what it makes first (internal/controller/mover/restic/mover.go,
 * volumehandler.go): with copyMethod Snapshot its VolumeSnapshot
 * volsync-<source>-src ready, with Clone the PVC volsync-<source>-src bound,
 * always its cache PVC volsync-src-<source>-cache bound, then its mover pod
 * running. VolSync's warnings for a VolumeSnapshot or PVC that does not bind
 * carry no action, and the API server refuses them (test/e2e/README.md): no
 * event says so.
 */
function longSyncFinding(rs: ReplicationSource, now: Date, hints: HintTarget): Finding | undefined {
  const started = rs.status?.lastSyncStartTime ? Date.parse(rs.status.lastSyncStartTime) : NaN
  if (Number.isNaN(started) || now.getTime() - started <= LONG_SYNC_MS) return undefined
  const name = rs.metadata.name
  const copy = rs.spec?.restic?.copyMethod
  const first =
    copy === 'Snapshot' ? `its VolumeSnapshot volsync-${name}-src to be ready, ` : copy === 'Clone' ? `its clone PVC volsync-${name}-src to bind, ` : ''
  const kinds = `${copy === 'Snapshot' ? 'volumesnapshots.snapshot.storage.k8s.io,' : ''}persistentvolumeclaims,jobs,pods`
  return finding(
    'warning',
    'sync-running',
    ref(rs),
    `a sync has been running for ${formatAge(now.getTime() - started)}: a large backup can take this long; else VolSync is waiting for ` +
      `${first}its cache PVC volsync-src-${name}-cache to bind or its mover to run (it records no event when a VolumeSnapshot or PVC does not bind)`,
    kubectlHint(hints.kubectl, ['get', kinds, '-n', rs.metadata.namespace ?? '', '-l', 'app.kubernetes.io/created-by=volsync']),
  )
}

/**
 * A restore record on a source (lib/volsync/health.ts): HELD (the restore
 * stopped half way) is an error: no backup runs and the app stays stopped until
 * someone acts; running is a warning (it ends by itself, unless its process
 * was killed); a record that is not ours, a warning.
 */
function restoreFinding(rs: ReplicationSource, mark: RestoreMark | 'unreadable', hints: HintTarget): Finding {
  const subject = ref(rs)
  if (mark === 'unreadable') return finding('warning', 'restore', subject, restoreAttention(mark, ''))
  const resume = resumeCommand(rs, hints.task)
  if (mark.state === 'held') {
    return finding(
      'error',
      'restore',
      subject,
      `HELD by an unfinished restore: ${restoreMarkText(mark)} stopped${mark.reason ? ` (${mark.reason})` : ''}; ` +
        `${mark.pvc} may be partially restored, the app is stopped and no backup runs`,
      `restore again, or give the app back as it is: ${resume}`,
    )
  }
  return finding(
    'warning',
    'restore',
    subject,
    `a restore is running: ${restoreMarkText(mark)}; the app is stopped and no backup runs until it ends`,
    `if that run was killed, give the app back: ${resume}`,
  )
}

function snapshotClassFinding(rs: ReplicationSource, classes: Read<SnapshotClass[] | null> | undefined, hints: HintTarget): Finding {
  const subject = ref(rs)
  const wanted = typeof rs.spec?.restic?.volumeSnapshotClassName === 'string' ? (rs.spec.restic.volumeSnapshotClassName as string) : undefined
  const what = wanted ? `VolumeSnapshotClass ${wanted}` : 'a default VolumeSnapshotClass'
  const check = kubectlHint(hints.kubectl, ['get', 'volumesnapshotclasses.snapshot.storage.k8s.io'])
  if (!classes) return finding('warning', 'snapshot-class', subject, `copyMethod Snapshot: ${what} not checked`)
  if (!classes.ok) {
    return finding(
      'warning',
      'snapshot-class',
      subject,
      classes.forbidden
        ? `copyMethod Snapshot: ${what} not checked: your RBAC does not grant list volumesnapshotclasses.snapshot.storage.k8s.io`
        : `copyMethod Snapshot: ${what} not checked: ${classes.error}`,
    )
  }
  if (classes.value === null) {
    return finding('error', 'snapshot-class', subject, 'copyMethod Snapshot, but the API server does not serve VolumeSnapshotClasses (no snapshot CRDs)', 'install the external-snapshotter CRDs and a CSI driver with snapshots, or use copyMethod Clone or Direct')
  }
  const list = classes.value
  const ok = wanted ? list.some((c) => c.name === wanted) : list.some((c) => c.isDefault)
  if (ok) return finding('ok', 'snapshot-class', subject, `${what} exists`)
  return finding(
    'error',
    'snapshot-class',
    subject,
    `copyMethod Snapshot, but ${what} does not exist${list.length ? ` (there are: ${list.map((c) => c.name).join(', ')})` : ''}: no backup can run`,
    wanted ? `create it, or set spec.restic.volumeSnapshotClassName to one that exists; check: ${check}` : `mark one default (annotation snapshot.storage.kubernetes.io/is-default-class: "true") or set spec.restic.volumeSnapshotClassName; check: ${check}`,
  )
}

/** The sources could not be listed: nothing about them was checked. */
export function sourcesUnread(error: string, forbidden: boolean, where: string): Finding {
  return finding(
    'warning',
    'sources',
    null,
    forbidden
      ? `the ReplicationSources of ${where} were not checked: your RBAC does not grant list ${RS}`
      : `the ReplicationSources of ${where} were not checked: ${error}`,
  )
}

// ------------------------------------------------------------ restic image

/** How the one-shot `restic version` pod went. */
export type ImageProbe =
  | { kind: 'ran'; log: string }
  /** the container waited in ErrImagePull, ImagePullBackOff or InvalidImageName */
  | { kind: 'not-pullable'; reason: string }
  | { kind: 'forbidden'; error: string }
  /** anything else: the pod failed, could not start for another reason, timed out */
  | { kind: 'failed'; error: string }

/** Waiting reasons of a container whose image cannot be pulled. */
export const PULL_FAILURES = ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']

/** The image pull reason in a pod's "cannot start: <reason>: <message>" error, if it is one. */
export function pullFailure(error: string): string | undefined {
  const m = /cannot start: (\w+)(?:: (.*))?/s.exec(error)
  return m && PULL_FAILURES.includes(m[1]!) ? `${m[1]}${m[2] ? `: ${m[2].trim()}` : ''}` : undefined
}

/**
 * The restic image of the tool's pods (RESTIC_IMAGE), pulled and run (`restic
 * version`) in a one-shot pod placed as the mover of `subject` would be.
 */
export function imageFinding(image: string, subject: string, namespace: string, probe: ImageProbe, hints: HintTarget): Finding {
  const check = 'restic-image'
  if (probe.kind === 'ran') {
    const version = probe.log.split('\n').find((l) => l.startsWith('restic '))?.trim()
    return finding('ok', check, image, `pulled and ran in namespace ${namespace}, placed as the mover of ${subject}${version ? `: ${version}` : ''}`)
  }
  if (probe.kind === 'not-pullable') {
    return finding(
      'error',
      check,
      image,
      `the restic image cannot be pulled in namespace ${namespace} (${probe.reason}): list, files, download, verify, stats, check and restore's checks cannot run their restic pods`,
      `set RESTIC_IMAGE to an image your nodes can pull (a mirror of restic/restic), or let them reach its registry (imagePullSecrets); try it: ${kubectlHint(hints.kubectl, [
        'run',
        'restic-pull-test',
        '-n',
        namespace,
        '--rm',
        '-i',
        '--restart=Never',
        `--image=${image}`,
        '--',
        'version',
      ])}`,
    )
  }
  if (probe.kind === 'forbidden') {
    return finding(
      'warning',
      check,
      image,
      `whether the restic image can be pulled was not checked: your RBAC does not grant create pods in namespace ${namespace}`,
      `check: ${kubectlHint(hints.kubectl, ['auth', 'can-i', 'create', 'pods', '-n', namespace])}`,
    )
  }
  return finding('warning', check, image, `whether the restic image can be pulled was not checked: its pod in namespace ${namespace} did not run: ${probe.error}`)
}

/** No source had both its PVC and its Secret found: the image was not tried (a warning, never ok). */
export function imageUnchecked(image: string): Finding {
  return finding('warning', 'restic-image', image, 'whether the restic image can be pulled was not checked: no source has both its PVC and its repository Secret found (its pod needs them)')
}

// ------------------------------------------------------------ RBAC

/** A permission the commands use. `stops`: a backup or restore fails without it (else a command degrades). */
export interface Grant {
  verb: string
  resource: string
  subresource?: string
  usedBy: string
  stops: boolean
  /** asked only when Flux is installed, in the namespaces of that kind's objects (fluxNamespaces) */
  flux?: 'kustomization' | 'helmrelease'
  /** cluster-wide (--all-namespaces), not per namespace */
  cluster?: boolean
}

export const GRANTS: readonly Grant[] = [
  { verb: 'list', resource: RS, usedBy: 'status, snapshot-all, finding the source of every command', stops: true },
  { verb: 'get', resource: RS, usedBy: 'every command on one app', stops: true },
  { verb: 'watch', resource: RS, usedBy: 'snapshot, unlock, restore (following a sync)', stops: true },
  { verb: 'patch', resource: RS, usedBy: 'snapshot, unlock (the manual trigger), restore (holding backups)', stops: true },
  { verb: 'create', resource: RD, usedBy: 'restore', stops: true },
  { verb: 'delete', resource: RD, usedBy: 'restore (its clean-up)', stops: true },
  { verb: 'watch', resource: RD, usedBy: 'restore (following it)', stops: true },
  { verb: 'create', resource: 'pods', usedBy: 'list, files, download, verify, restore (one-shot restic pods)', stops: true },
  { verb: 'delete', resource: 'pods', usedBy: 'the clean-up of those pods', stops: true },
  { verb: 'create', resource: 'pods', subresource: 'exec', usedBy: 'files, download', stops: false },
  { verb: 'get', resource: 'pods', subresource: 'log', usedBy: 'list, restore (reading restic in its pod)', stops: true },
  { verb: 'patch', resource: 'deployments.apps', subresource: 'scale', usedBy: 'restore (stopping the app)', stops: true },
  { verb: 'patch', resource: 'statefulsets.apps', subresource: 'scale', usedBy: 'restore (stopping the app)', stops: true },
  { verb: 'watch', resource: 'jobs.batch', usedBy: "following VolSync's mover Jobs (else only the status is followed)", stops: false },
  { verb: 'patch', resource: 'kustomizations.kustomize.toolkit.fluxcd.io', usedBy: 'restore (suspending Flux)', stops: true, flux: 'kustomization' },
  { verb: 'patch', resource: 'helmreleases.helm.toolkit.fluxcd.io', usedBy: 'restore (suspending Flux)', stops: true, flux: 'helmrelease' },
  { verb: 'list', resource: RS, usedBy: 'status and doctor without NAMESPACE', stops: false, cluster: true },
]

/** "patch deployments.apps/scale" */
export const grantText = (g: Pick<Grant, 'verb' | 'resource' | 'subresource'>) => `${g.verb} ${g.resource}${g.subresource ? `/${g.subresource}` : ''}`

/**
 * Where the Flux objects that manage these sources' apps live, as restore
 * finds them (lib/restore/flux.ts: the labels Flux puts on what it applies):
 * the namespaces the sources' <kind>.toolkit.fluxcd.io/namespace labels name,
 * plus flux-system for Kustomizations and the sources' own namespaces for
 * HelmReleases (where they usually are). Sorted, distinct.
 */
export function fluxNamespaces(sources: readonly Pick<ReplicationSource, 'metadata'>[], kind: 'kustomization' | 'helmrelease'): string[] {
  const label = kind === 'kustomization' ? 'kustomize.toolkit.fluxcd.io/namespace' : 'helm.toolkit.fluxcd.io/namespace'
  const found = sources.flatMap((rs) => [rs.metadata.labels?.[label] ?? [], kind === 'helmrelease' ? (rs.metadata.namespace ?? []) : []].flat())
  return [...new Set([...found, ...(kind === 'kustomization' ? ['flux-system'] : [])])].sort()
}

/** One `kubectl auth can-i` answer: true, false, or the error of the question. */
export interface GrantAnswer {
  grant: Grant
  /** the namespace asked about; null: cluster-wide */
  namespace: string | null
  allowed: boolean | { error: string }
}

/** The grants asked about, given whether Flux is installed. */
export const grantsToAsk = (flux: boolean) => GRANTS.filter((g) => !g.flux || flux)

/**
 * One finding per grant that is missing (naming the namespaces) or could not
 * be asked about; one ok finding when every grant asked about is there.
 */
export function rbacFindings(answers: readonly GrantAnswer[], hints: HintTarget): Finding[] {
  const out: Finding[] = []
  const byGrant = new Map<Grant, GrantAnswer[]>()
  for (const a of answers) byGrant.set(a.grant, [...(byGrant.get(a.grant) ?? []), a])
  for (const [grant, list] of byGrant) {
    const denied = list.filter((a) => a.allowed === false)
    const failed = list.filter((a) => typeof a.allowed === 'object')
    const where = (l: GrantAnswer[]) =>
      l.some((a) => a.namespace === null) ? 'in all namespaces' : `in namespace${l.length > 1 ? 's' : ''} ${l.map((a) => a.namespace).join(', ')}`
    const ask = (a: GrantAnswer) =>
      kubectlHint(hints.kubectl, [
        'auth',
        'can-i',
        grant.verb,
        grant.resource,
        ...(grant.subresource ? [`--subresource=${grant.subresource}`] : []),
        ...(a.namespace === null ? ['--all-namespaces'] : ['-n', a.namespace]),
      ])
    if (denied.length) {
      out.push(
        finding(
          grant.stops ? 'error' : 'warning',
          'rbac',
          grantText(grant),
          `your RBAC does not grant ${grantText(grant)} ${where(denied)}: needed by ${grant.usedBy}`,
          `a cluster admin grants it (a Role or ClusterRole bound to you); check: ${ask(denied[0]!)}`,
        ),
      )
    }
    if (failed.length) {
      out.push(
        finding('warning', 'rbac', grantText(grant), `whether you may ${grantText(grant)} ${where(failed)} could not be checked: ${(failed[0]!.allowed as { error: string }).error}`, ask(failed[0]!)),
      )
    }
  }
  const granted = answers.filter((a) => a.allowed === true).length
  if (out.length === 0 && answers.length > 0) {
    const namespaces = [...new Set(answers.flatMap((a) => (a.namespace === null ? [] : [a.namespace])))]
    out.push(finding('ok', 'rbac', null, `all ${granted} permissions the commands use are granted${namespaces.length ? ` (namespace${namespaces.length > 1 ? 's' : ''} ${namespaces.join(', ')})` : ''}`))
  }
  return out
}

// ------------------------------------------------------------ events

export interface KubeEvent {
  type?: string
  reason?: string
  message?: string
  count?: number
  involvedObject?: { kind?: string; name?: string; namespace?: string }
  lastTimestamp?: string | null
  eventTime?: string | null
  firstTimestamp?: string | null
  series?: { lastObservedTime?: string; count?: number }
  metadata?: { creationTimestamp?: string; namespace?: string }
}

/** When an event was last seen (the newest of the times it carries). */
export function eventTime(e: KubeEvent): number {
  const t = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp
  return t ? Date.parse(t) : NaN
}

/**
 * Warning events of ReplicationSources and ReplicationDestinations seen
 * within the lookback: one finding per object and reason, the newest message.
 */
export function eventFindings(events: readonly KubeEvent[], now: Date, lookbackMs: number, hints: HintTarget): Finding[] {
  const groups = new Map<string, { e: KubeEvent; at: number; count: number }>()
  for (const e of events) {
    if (e.type !== 'Warning') continue
    const kind = e.involvedObject?.kind
    if (kind !== 'ReplicationSource' && kind !== 'ReplicationDestination') continue
    const at = eventTime(e)
    if (Number.isNaN(at) || now.getTime() - at > lookbackMs) continue
    const key = `${kind} ${e.involvedObject?.namespace}/${e.involvedObject?.name} ${e.reason}`
    const count = e.series?.count ?? e.count ?? 1
    const g = groups.get(key)
    if (!g) groups.set(key, { e, at, count })
    else groups.set(key, { e: at > g.at ? e : g.e, at: Math.max(at, g.at), count: g.count + count })
  }
  return [...groups.values()]
    .sort((a, b) => b.at - a.at)
    .map(({ e, at, count }) => {
      const o = e.involvedObject!
      return finding(
        'warning',
        'events',
        `${o.kind} ${o.namespace}/${o.name}`,
        `${e.reason ?? 'Warning'}${count > 1 ? ` (${count} times)` : ''}, ${formatAge(now.getTime() - at)} ago: ${(e.message ?? '').trim()}`,
        kubectlHint(hints.kubectl, ['get', 'events', '-n', o.namespace ?? '', '--field-selector', `involvedObject.name=${o.name}`]),
      )
    })
}

/** No Warning event was found: an ok finding (only when the events were read). */
export function noEventsFinding(lookbackMs: number): Finding {
  return finding('ok', 'events', null, `no Warning events of ReplicationSources or ReplicationDestinations in the last ${formatAge(lookbackMs)}`)
}

export function eventsUnread(error: string, forbidden: boolean): Finding {
  return finding(
    'warning',
    'events',
    null,
    forbidden ? 'Warning events were not checked: your RBAC does not grant list events' : `Warning events were not checked: ${error}`,
  )
}

// ------------------------------------------------------------ failed movers

/** A mover pod as doctor.io.ts reads it: VolSync labels its movers' pods app.kubernetes.io/created-by=volsync. */
export interface MoverPod {
  metadata: { name: string; namespace?: string; ownerReferences?: { kind: string; name: string }[] }
  status?: {
    phase?: string
    containerStatuses?: { name: string; state?: { terminated?: { exitCode?: number; finishedAt?: string; reason?: string } } }[]
  }
}

/** The object a mover Job works for: volsync-src-<name> is a ReplicationSource's, volsync-dst-<name> a ReplicationDestination's. */
export function moverOwner(job: string): string {
  const m = /^volsync-(src|dst)-(.+)$/.exec(job)
  if (!m) return `Job ${job}`
  return `${m[1] === 'src' ? 'ReplicationSource' : 'ReplicationDestination'} ${m[2]}`
}

/**
 * Mover pods that failed within the lookback, one warning per mover Job
 * (VolSync's Job retries up to 8 times; the source's own Failed result,
 * once it gives up, is an error of its own: sourceFindings).
 */
export function failedMoverFindings(pods: readonly MoverPod[], now: Date, lookbackMs: number, hints: HintTarget): Finding[] {
  const jobs = new Map<string, { ns: string; job: string; count: number; at: number; exit?: number; pod: string }>()
  for (const pod of pods) {
    if (pod.status?.phase !== 'Failed') continue
    const terminated = pod.status.containerStatuses?.map((c) => c.state?.terminated).find((t) => t?.finishedAt)
    const at = terminated?.finishedAt ? Date.parse(terminated.finishedAt) : NaN
    if (Number.isNaN(at) || now.getTime() - at > lookbackMs) continue
    const job = pod.metadata.ownerReferences?.find((o) => o.kind === 'Job')?.name ?? pod.metadata.name
    const ns = pod.metadata.namespace ?? ''
    const key = `${ns}/${job}`
    const g = jobs.get(key)
    if (!g) jobs.set(key, { ns, job, count: 1, at, exit: terminated?.exitCode, pod: pod.metadata.name })
    else {
      g.count++
      if (at > g.at) Object.assign(g, { at, exit: terminated?.exitCode, pod: pod.metadata.name })
    }
  }
  return [...jobs.values()]
    .sort((a, b) => b.at - a.at)
    .map((g) =>
      finding(
        'warning',
        'mover',
        `${moverOwner(g.job).replace(' ', ` ${g.ns}/`)}`,
        `its mover failed ${g.count} time${g.count > 1 ? 's' : ''} in the last ${formatAge(lookbackMs)} (the latest ${formatAge(now.getTime() - g.at)} ago${g.exit === undefined ? '' : `, exit code ${g.exit}`})`,
        kubectlHint(hints.kubectl, ['logs', g.pod, '-n', g.ns]),
      ),
    )
}

export function moversUnread(error: string, forbidden: boolean): Finding {
  return finding(
    'warning',
    'mover',
    null,
    forbidden ? 'failed mover pods were not checked: your RBAC does not grant list pods' : `failed mover pods were not checked: ${error}`,
  )
}

// ------------------------------------------------------------ the report

const ORDER: Record<Severity, number> = { error: 0, warning: 1, ok: 2 }

/** Errors first, then warnings, then what is fine; otherwise in the order checked. */
export const sortFindings = (findings: readonly Finding[]) =>
  findings.map((f, i) => ({ f, i })).sort((a, b) => ORDER[a.f.severity] - ORDER[b.f.severity] || a.i - b.i).map((x) => x.f)

/** 1 when any finding would stop a backup or a restore, else 0. */
export const doctorExitCode = (findings: readonly Finding[]) => (findings.some((f) => f.severity === 'error') ? 1 : 0)

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const n = { error: 0, warning: 0, ok: 0 }
  for (const f of findings) n[f.severity]++
  return n
}

/** The report as text: one block per finding, then the summary line. */
export function doctorText(findings: readonly Finding[], where: string, paint: Paint): string {
  const label: Record<Severity, string> = { error: paint.red('ERROR  '), warning: paint.yellow('WARNING'), ok: paint.green('ok     ') }
  const lines: string[] = []
  for (const f of sortFindings(findings)) {
    lines.push(`${label[f.severity]}  ${f.check}${f.subject ? ` ${f.subject}` : ''}: ${f.reason}`)
    if (f.fix) lines.push(`         fix: ${f.fix}`)
  }
  lines.push('', summaryLine(findings, where))
  return lines.join('\n')
}

/** "1 error, 0 warnings, 7 ok (cluster apps): a backup or restore would fail"; without `where`, no parenthesis. */
export function summaryLine(findings: readonly Finding[], where?: string): string {
  const n = countBySeverity(findings)
  const verdict = n.error ? 'a backup or restore would fail' : n.warning ? 'nothing stops a backup or restore; see the warnings' : 'ready'
  return `${countsText(n)}${where ? ` (${where})` : ''}: ${verdict}`
}

const countsText = (n: Record<Severity, number>) =>
  `${n.error} error${n.error === 1 ? '' : 's'}, ${n.warning} warning${n.warning === 1 ? '' : 's'}, ${n.ok} ok`

// ------------------------------------------------------------ CLUSTER=all

/** The findings of one cluster of the fleet, or why it could not be read (lib/fleet.ts ClusterResult). */
export type ClusterFindings = { cluster: string; ok: true; value: readonly Finding[] } | { cluster: string; ok: false; error: string }

/**
 * CLUSTER=all's findings as one table with a CLUSTER column: every finding
 * of every cluster read, errors first, then warnings, then ok; within a
 * severity by cluster (in the fleet's order), then in the order checked.
 * Empty when no cluster was read. The summary lines follow it (lib/fleet.ts).
 */
export function fleetFindingsText(results: readonly ClusterFindings[], paint: Paint): string {
  const label: Record<Severity, string> = { error: paint.red('ERROR  '), warning: paint.yellow('WARNING'), ok: paint.green('ok     ') }
  const width = Math.max('CLUSTER'.length, ...results.map((r) => r.cluster.length))
  const rows = results.flatMap((r, c) => (r.ok ? r.value.map((f, i) => ({ cluster: r.cluster, f, c, i })) : []))
  rows.sort((a, b) => ORDER[a.f.severity] - ORDER[b.f.severity] || a.c - b.c || a.i - b.i)
  if (rows.length === 0) return ''
  const lines = [`SEVERITY  ${'CLUSTER'.padEnd(width)}  FINDING`]
  for (const { cluster, f } of rows) {
    lines.push(`${label[f.severity]}   ${cluster.padEnd(width)}  ${f.check}${f.subject ? ` ${f.subject}` : ''}: ${f.reason}`)
    if (f.fix) lines.push(`${' '.repeat(12 + width)}fix: ${f.fix}`)
  }
  return lines.join('\n')
}

/** The fleet's counts: "1 error, 3 warnings, 15 ok" over every cluster read. */
export const fleetCountsText = (results: readonly ClusterFindings[]) => countsText(countBySeverity(results.flatMap((r) => (r.ok ? r.value : []))))

/** CLUSTER=all: 1 when any cluster has an error, or could not be read. */
export const fleetDoctorExitCode = (results: readonly ClusterFindings[]) => (results.some((r) => !r.ok || doctorExitCode(r.value)) ? 1 : 0)
