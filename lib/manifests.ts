// Pure builders for what this tool creates in a cluster. Manifests are
// objects, serialised as JSON on kubectl's stdin, never templated text.
import { UsageError } from './cli.ts'
import type { KubeObject } from './kubectl.ts'
import type { PodSecurityContext } from './volsync.ts'

/** restic inside the VolSync v0.16.0 mover is 0.18.1; listing uses the same. */
export const DEFAULT_RESTIC_IMAGE = 'restic/restic:0.18.1'

const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\/:@-]{0,254}$/

/** RESTIC_IMAGE override, validated like every other input. */
export function resticImage(env: NodeJS.ProcessEnv): string {
  const image = env.RESTIC_IMAGE || DEFAULT_RESTIC_IMAGE
  if (!IMAGE.test(image)) {
    throw new UsageError(
      `RESTIC_IMAGE ${JSON.stringify(image)} is not an image reference such as ${DEFAULT_RESTIC_IMAGE}`,
    )
  }
  return image
}

/** Labels on everything this tool creates, so a leftover is easy to find. */
export const managedLabels = (component: string, app: string) => ({
  'app.kubernetes.io/managed-by': 'volsync-ops',
  'app.kubernetes.io/component': component,
  'volsync-ops/app': app,
})

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

export interface ListPodInput {
  name: string
  namespace: string
  app: string
  /** the Secret named by the ReplicationSource's spec.restic.repository */
  repositorySecret: string
  moverSecurityContext?: PodSecurityContext
  image: string
  /** the pod stops itself after this long, even if this tool dies */
  deadlineSeconds: number
}

/**
 * A one-shot pod running `restic snapshots --json --no-lock`. The repository
 * credentials reach restic as environment variables from the Secret; this
 * tool never reads them. --no-lock lists even while a backup holds the lock;
 * --no-cache because the container has no writable home.
 */
export function listPod(input: ListPodInput): KubeObject & Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: managedLabels('snapshot-list', input.app),
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: input.deadlineSeconds,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: restrictedPodSecurity(input.moverSecurityContext),
      containers: [
        {
          name: 'restic',
          image: input.image,
          command: ['restic', 'snapshots', '--json', '--no-lock', '--no-cache'],
          envFrom: [{ secretRef: { name: input.repositorySecret } }],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          resources: {
            requests: { cpu: '50m', memory: '64Mi' },
            limits: { memory: '512Mi' },
          },
        },
      ],
    },
  }
}

/** A short random suffix for generated names ([a-z0-9]{5}). */
export function nameSuffix(random: () => number = Math.random): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return Array.from({ length: 5 }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
}

/** `<app>-restore-<UTC YYYYMMDDHHMMSS>`: at most 40 + 9 + 14 = 63 characters (APP_MAX_LENGTH). */
export function restoreName(app: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  return `${app}-restore-${stamp}`
}

/**
 * Fields of the ReplicationSource's spec.restic a restore takes over as they
 * are, so the mover runs as the backup's did: its uid/gid (file ownership in
 * the PVC), service account and resources, the CA to reach the repository,
 * and its cache settings.
 */
export const INHERITED_RESTIC_FIELDS = [
  'moverSecurityContext',
  'moverServiceAccount',
  'moverResources',
  'customCA',
  'cacheCapacity',
  'cacheStorageClassName',
  'cacheAccessModes',
] as const

export interface RestoreInput {
  name: string
  namespace: string
  app: string
  /** spec.trigger.manual: the sync runs once, and status.lastManualSync says when it is done */
  token: string
  /** the Secret named by the ReplicationSource */
  repository: string
  /** the ReplicationSource's sourcePVC */
  destinationPVC: string
  previous: number
  restoreAsOf?: string
  /** the ReplicationSource's spec.restic (INHERITED_RESTIC_FIELDS are copied from it) */
  sourceRestic?: Record<string, unknown>
}

/**
 * The ReplicationDestination that restores one snapshot into the existing PVC
 * (copyMethod Direct). enableFileDeletion makes the PVC equal to the snapshot
 * (`restic restore --delete`); cleanupCachePVC drops the restic cache after.
 * Field names: VolSync v0.16.0 api/v1alpha1/replicationdestination_types.go.
 */
export function restoreDestination(input: RestoreInput): KubeObject & {
  spec: { trigger: { manual: string }; restic: Record<string, unknown> }
} {
  const inherited: Record<string, unknown> = {}
  for (const field of INHERITED_RESTIC_FIELDS) {
    const value = input.sourceRestic?.[field]
    if (value !== undefined && value !== null && !isEmptyObject(value)) inherited[field] = value
  }
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationDestination',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: managedLabels('restore', input.app),
    },
    spec: {
      trigger: { manual: input.token },
      restic: {
        repository: input.repository,
        destinationPVC: input.destinationPVC,
        copyMethod: 'Direct',
        previous: input.previous,
        ...(input.restoreAsOf === undefined ? {} : { restoreAsOf: input.restoreAsOf }),
        enableFileDeletion: true,
        cleanupCachePVC: true,
        ...inherited,
      },
    },
  }
}

const isEmptyObject = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0
