// The one-shot restic pod (restic snapshots --json), built as an object:
// credentials from the repository Secret as environment variables (never
// read by this tool), the mover's uid/gid under the restricted Pod Security
// profile. Pure; list.io.ts runs it.
import { UsageError } from '../errors.ts'
import type { KubeObject } from '../kubectl.ts'
import { managedLabels } from '../names.ts'
import type { PodSecurityContext } from '../volsync/objects.ts'

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
