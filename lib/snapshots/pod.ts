// The one builder of every restic pod this tool runs (list, files, download,
// verify, the restore preview): built as an object from what the VolSync
// mover gets from the ReplicationSource, so the pod reaches the repository
// exactly as the backup does. Read in VolSync v0.16.0
// internal/controller/mover/restic/mover.go (ensureJob) and
// internal/controller/utils (UpdatePodTemplateSpecFromMoverConfig,
// UpdatePodTemplateSpecWithMoverVolumes, AffinityFromVolume):
// - the repository Secret's variables as environment (this tool never reads them);
// - spec.restic.customCA, mounted as a file and handed to restic
//   (entry.sh passes `--cacert`; RESTIC_CACERT is restic's variable for it,
//   so it also reaches every restic command run in the pod);
// - GOOGLE_APPLICATION_CREDENTIALS, which users put in the Secret as the
//   file's content, mounted as a file and pointed at;
// - moverPodLabels (NetworkPolicies written for the mover let the pod out),
//   moverAffinity, moverResources, moverServiceAccount, moverVolumes;
// - with copyMethod Direct, the node selection and tolerations of the app's
//   pod (placement.ts), where the mover runs;
// - moverSecurityContext, made to pass the restricted Pod Security profile.
// Pure.
import { OperationError, UsageError } from '../errors.ts'
import type { KubeObject } from '../kubectl.ts'
import { managedLabels } from '../names.ts'
import { ref, type PodSecurityContext, type ReplicationSource } from '../volsync/objects.ts'

/** restic inside the VolSync v0.16.0 mover is 0.18.1; our pods use the same. */
export const DEFAULT_RESTIC_IMAGE = 'restic/restic:0.18.1'

const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\/:@-]{0,254}$/

/** RESTIC_IMAGE override, validated like every other input. */
export function resticImage(env: NodeJS.ProcessEnv): string {
  return imageFrom(env, 'RESTIC_IMAGE', DEFAULT_RESTIC_IMAGE)
}

/** An image named by an environment variable (default when unset or empty), validated. */
export function imageFrom(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const image = env[variable] || fallback
  if (!IMAGE.test(image)) {
    throw new UsageError(`${variable} ${JSON.stringify(image)} is not an image reference such as ${DEFAULT_RESTIC_IMAGE}`)
  }
  return image
}

/** Nobody: restic only talks to the repository over the network. */
const NON_ROOT_UID = 65534

/**
 * The mover's pod securityContext, made to pass the "restricted" Pod
 * Security Standard: non-root (uid 65534 when the mover does not name a
 * non-root uid) and the RuntimeDefault seccomp profile unless a Localhost
 * one is set.
 */
export function restrictedPodSecurity(mover: PodSecurityContext | undefined): PodSecurityContext {
  const ctx: PodSecurityContext = { ...(mover ?? {}) }
  if (!ctx.runAsUser) ctx.runAsUser = NON_ROOT_UID
  if (!ctx.runAsGroup) ctx.runAsGroup = ctx.runAsUser
  ctx.runAsNonRoot = true
  // restricted allows RuntimeDefault or Localhost, never Unconfined
  const seccomp = ctx.seccompProfile?.type
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') ctx.seccompProfile = { type: 'RuntimeDefault' }
  return ctx
}

type Obj = Record<string, unknown>

/** spec.restic.customCA (VolSync CustomCASpec): a Secret or a ConfigMap, and the key holding the CA. */
export interface CustomCA {
  secretName?: string
  configMapName?: string
  key: string
}

/** spec.restic.moverVolumes[]: mounted by the mover at /mnt/<mountPath>. */
export interface MoverVolume {
  mountPath: string
  volumeSource: Obj
}

/** What the mover pod gets from the ReplicationSource's spec.restic. */
export interface MoverSettings {
  /** the repository Secret (spec.restic.repository) */
  repository: string
  securityContext?: PodSecurityContext
  podLabels: Record<string, string>
  affinity?: Obj
  resources?: Obj
  serviceAccount?: string
  customCA?: CustomCA
  volumes: MoverVolume[]
  /** spec.restic.copyMethod: with Direct (or None) the mover runs next to the app's pod */
  copyMethod?: string
}

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The mover settings of a restic ReplicationSource (exit 1 for a source that is not one). */
export function moverSettings(rs: ReplicationSource): MoverSettings {
  const restic = rs.spec.restic ?? {}
  const repository = restic.repository
  if (!repository) {
    throw new OperationError(`ReplicationSource ${ref(rs)} has no spec.restic.repository: it is not a restic source`)
  }
  const ca = isObject(restic.customCA) ? (restic.customCA as Partial<CustomCA>) : undefined
  const labels = isObject(restic.moverPodLabels) ? (restic.moverPodLabels as Record<string, string>) : {}
  const volumes = Array.isArray(restic.moverVolumes)
    ? (restic.moverVolumes as unknown[]).filter(
        (v): v is MoverVolume => isObject(v) && typeof v.mountPath === 'string' && isObject(v.volumeSource),
      )
    : []
  return {
    repository,
    securityContext: restic.moverSecurityContext,
    podLabels: { ...labels },
    affinity: isObject(restic.moverAffinity) && Object.keys(restic.moverAffinity).length ? restic.moverAffinity : undefined,
    resources: isObject(restic.moverResources) && Object.keys(restic.moverResources).length ? restic.moverResources : undefined,
    serviceAccount: typeof restic.moverServiceAccount === 'string' && restic.moverServiceAccount ? restic.moverServiceAccount : undefined,
    // VolSync uses a custom CA only when a key and a Secret or ConfigMap are named
    customCA:
      ca?.key && (ca.secretName || ca.configMapName)
        ? { key: ca.key, ...(ca.secretName ? { secretName: ca.secretName } : { configMapName: ca.configMapName }) }
        : undefined,
    volumes,
    copyMethod: typeof restic.copyMethod === 'string' ? restic.copyMethod : undefined,
  }
}

/** Where the mover would run: next to the app's pod (copyMethod Direct on a volume that is not RWX). */
export interface Placement {
  nodeName: string
  tolerations?: unknown[]
  /** the pod whose node and tolerations these are, "business/odoo-7d9f-x" */
  from: string
}

/** Where VolSync mounts the custom CA, and the file name it gives it (mover.go resticCAMountPath, resticCAFilename). */
export const CUSTOM_CA_DIR = '/customCA'
export const CUSTOM_CA_FILE = 'ca.crt'
/** Where VolSync mounts GOOGLE_APPLICATION_CREDENTIALS (mover.go credentialDir, gcsCredentialFile). */
export const CREDENTIALS_DIR = '/credentials'
export const GCS_CREDENTIALS_FILE = 'gcs.json'

/** A volume of one of our pods besides the mover's: the PVC read, a scratch space. */
export interface PodVolume {
  name: string
  mountPath: string
  readOnly?: boolean
  source: { persistentVolumeClaim: { claimName: string; readOnly?: boolean } } | { emptyDir: Obj }
}

/** A second container, e.g. the app-level check of verify (it runs `sh -c` in its own image). */
export interface SideContainer {
  name: string
  image: string
  /** default: it idles until the deadline, for `kubectl exec` */
  command?: string[]
  /** names of volumes of this pod, with where and how it sees them */
  mounts: { name: string; mountPath: string; readOnly: boolean }[]
  workingDir?: string
}

export interface ResticPodInput {
  name: string
  namespace: string
  app: string
  /** app.kubernetes.io/component: snapshot-list, snapshot-files, verify, ... */
  component: string
  mover: MoverSettings
  placement?: Placement
  image: string
  /** the pod stops itself after this long, even if this tool dies */
  deadlineSeconds: number
  /**
   * The command of the restic container: restic's arguments (`run`), or
   * `idle`: it sleeps until the deadline and this tool runs commands in it
   * with `kubectl exec` (a transport that is binary-safe, unlike pod logs).
   */
  command: { run: string[] } | { idle: true }
  volumes?: PodVolume[]
  sidecars?: SideContainer[]
}

export type PodManifest = KubeObject & { spec: Obj & { containers: Obj[]; volumes?: Obj[] } }

const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
}

const DEFAULT_RESOURCES = { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } }

/** The node affinity that keeps the pod on `nodeName`, merged into the mover's affinity (every term must also match the node). */
export function affinityFor(moverAffinity: Obj | undefined, placement: Placement | undefined): Obj | undefined {
  if (!placement) return moverAffinity
  const pin = { key: 'metadata.name', operator: 'In', values: [placement.nodeName] }
  const nodeAffinity = isObject(moverAffinity?.nodeAffinity) ? moverAffinity!.nodeAffinity : {}
  const required = isObject(nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution)
    ? nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
    : {}
  const terms = Array.isArray(required.nodeSelectorTerms) && required.nodeSelectorTerms.length
    ? (required.nodeSelectorTerms as Obj[])
    : [{}]
  const pinned = terms.map((t) => ({ ...t, matchFields: [...(Array.isArray(t.matchFields) ? t.matchFields : []), pin] }))
  return {
    ...(moverAffinity ?? {}),
    nodeAffinity: {
      ...nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: { ...required, nodeSelectorTerms: pinned },
    },
  }
}

/** The restic pod (see the header): one container `restic`, and the sidecars asked for. */
export function resticPod(input: ResticPodInput): PodManifest {
  const { mover } = input
  const volumes: Obj[] = []
  const mounts: Obj[] = []
  const env: Obj[] = []
  // restic writes its temporary files here; the root filesystem is read-only
  volumes.push({ name: 'tmp', emptyDir: {} })
  mounts.push({ name: 'tmp', mountPath: '/tmp' })
  if (mover.customCA) {
    const item = [{ key: mover.customCA.key, path: CUSTOM_CA_FILE }]
    volumes.push({
      name: 'custom-ca',
      ...(mover.customCA.secretName
        ? { secret: { secretName: mover.customCA.secretName, items: item } }
        : { configMap: { name: mover.customCA.configMapName, items: item } }),
    })
    mounts.push({ name: 'custom-ca', mountPath: CUSTOM_CA_DIR, readOnly: true })
    env.push({ name: 'RESTIC_CACERT', value: `${CUSTOM_CA_DIR}/${CUSTOM_CA_FILE}` })
  }
  // The mover mounts this key only when the Secret has it. This tool never
  // reads the Secret, so the key is mounted as optional: absent, the file is
  // absent too, and only restic's GCS backend would look for it.
  volumes.push({
    name: 'gcs-credentials',
    secret: {
      secretName: mover.repository,
      optional: true,
      items: [{ key: 'GOOGLE_APPLICATION_CREDENTIALS', path: GCS_CREDENTIALS_FILE }],
    },
  })
  mounts.push({ name: 'gcs-credentials', mountPath: CREDENTIALS_DIR, readOnly: true })
  env.push({ name: 'GOOGLE_APPLICATION_CREDENTIALS', value: `${CREDENTIALS_DIR}/${GCS_CREDENTIALS_FILE}` })
  for (const v of input.volumes ?? []) {
    volumes.push({ name: v.name, ...v.source })
    mounts.push({ name: v.name, mountPath: v.mountPath, ...(v.readOnly ? { readOnly: true } : {}) })
  }
  for (const mv of mover.volumes) {
    const name = `u-${mv.mountPath.replaceAll('/', '-')}`
    volumes.push({ name, ...mv.volumeSource })
    mounts.push({ name, mountPath: `/mnt/${mv.mountPath}` })
  }
  const command =
    'run' in input.command ? ['restic', ...input.command.run] : ['sleep', String(input.deadlineSeconds)]
  const resources = mover.resources ?? DEFAULT_RESOURCES
  const affinity = affinityFor(mover.affinity, input.placement)
  const tolerations = input.placement?.tolerations
  const sidecars = (input.sidecars ?? []).map((s) => ({
    name: s.name,
    image: s.image,
    command: s.command ?? ['sleep', String(input.deadlineSeconds)],
    ...(s.workingDir ? { workingDir: s.workingDir } : {}),
    volumeMounts: s.mounts.map((m) => ({ name: m.name, mountPath: m.mountPath, ...(m.readOnly ? { readOnly: true } : {}) })),
    securityContext: CONTAINER_SECURITY,
    resources,
  }))
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      // ours last: the clean-up finds our pods by them
      labels: { ...mover.podLabels, ...managedLabels(input.component, input.app) },
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: input.deadlineSeconds,
      // a workload identity (moverServiceAccount) needs its token; otherwise none is mounted
      ...(mover.serviceAccount ? { serviceAccountName: mover.serviceAccount } : { automountServiceAccountToken: false }),
      enableServiceLinks: false,
      securityContext: restrictedPodSecurity(mover.securityContext),
      ...(affinity ? { affinity } : {}),
      ...(tolerations?.length ? { tolerations } : {}),
      // the idle pod is deleted by this tool: no need to wait for `sleep` to die
      ...('idle' in input.command ? { terminationGracePeriodSeconds: 0 } : {}),
      containers: [
        {
          name: 'restic',
          image: input.image,
          command,
          envFrom: [{ secretRef: { name: mover.repository } }],
          env,
          volumeMounts: mounts,
          securityContext: CONTAINER_SECURITY,
          resources,
        },
        ...sidecars,
      ],
      volumes,
    },
  }
}

/** An object the mover needs in its namespace: its kind for kubectl, its name, and how messages name it. */
export interface RequiredObject {
  kind: 'secret' | 'configmap' | 'serviceaccount' | 'persistentvolumeclaim'
  name: string
  label: string
}

/** Objects the pod (and a restore's mover) needs in its namespace: the repository Secret first. */
export function requiredObjectRefs(mover: MoverSettings): RequiredObject[] {
  const needed: RequiredObject[] = [{ kind: 'secret', name: mover.repository, label: `Secret ${mover.repository}` }]
  const ca = mover.customCA
  if (ca?.secretName) needed.push({ kind: 'secret', name: ca.secretName, label: `Secret ${ca.secretName} (customCA)` })
  if (ca?.configMapName) needed.push({ kind: 'configmap', name: ca.configMapName, label: `ConfigMap ${ca.configMapName} (customCA)` })
  if (mover.serviceAccount) {
    needed.push({ kind: 'serviceaccount', name: mover.serviceAccount, label: `ServiceAccount ${mover.serviceAccount} (moverServiceAccount)` })
  }
  for (const volume of mover.volumes) {
    const secret = (volume.volumeSource.secret as { secretName?: unknown } | undefined)?.secretName
    const claim = (volume.volumeSource.persistentVolumeClaim as { claimName?: unknown } | undefined)?.claimName
    if (typeof secret === 'string' && secret) needed.push({ kind: 'secret', name: secret, label: `Secret ${secret} (moverVolumes)` })
    if (typeof claim === 'string' && claim) {
      needed.push({ kind: 'persistentvolumeclaim', name: claim, label: `PersistentVolumeClaim ${claim} (moverVolumes)` })
    }
  }
  return needed
}

/** The names of requiredObjectRefs, for the messages when one is missing. */
export const requiredObjects = (mover: MoverSettings): string[] => requiredObjectRefs(mover).map((o) => o.label)
