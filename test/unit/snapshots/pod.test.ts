import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../lib/errors.ts'
import { managedLabels, nameSuffix } from '../../../lib/names.ts'
import { DEFAULT_RESTIC_IMAGE, listPod, resticImage, restrictedPodSecurity } from '../../../lib/snapshots/pod.ts'
import type { PodSecurityContext } from '../../../lib/volsync/objects.ts'

describe('resticImage', () => {
  it('pins restic 0.18.1, the one inside the VolSync v0.16.0 mover', () => {
    expect(DEFAULT_RESTIC_IMAGE).toBe('restic/restic:0.18.1')
  })

  it.each<[NodeJS.ProcessEnv, string]>([
    [{}, 'restic/restic:0.18.1'],
    [{ RESTIC_IMAGE: '' }, 'restic/restic:0.18.1'],
    [{ RESTIC_IMAGE: 'registry.example.com:5000/mirror/restic:0.18.1' }, 'registry.example.com:5000/mirror/restic:0.18.1'],
    [
      { RESTIC_IMAGE: 'restic/restic@sha256:' + 'a'.repeat(64) },
      'restic/restic@sha256:' + 'a'.repeat(64),
    ],
    [{ RESTIC_IMAGE: 'restic' }, 'restic'],
  ])('%j -> %s', (env, image) => {
    expect(resticImage(env)).toBe(image)
  })

  it.each([
    'restic/restic:0.18.1 --privileged',
    'restic/restic:$(id)',
    'restic;rm',
    '-restic',
    '/restic',
    'a'.repeat(256),
    'restic\n',
    'restic/restic:"x"',
  ])('rejects %j with exit 2, saying what is expected', (image) => {
    expect(() => resticImage({ RESTIC_IMAGE: image })).toThrow(UsageError)
    expect(() => resticImage({ RESTIC_IMAGE: image })).toThrow(
      `RESTIC_IMAGE ${JSON.stringify(image)} is not an image reference such as restic/restic:0.18.1`,
    )
  })
})

describe('managedLabels', () => {
  it('marks what this tool creates', () => {
    expect(managedLabels('snapshot-list', 'odoo')).toEqual({
      'app.kubernetes.io/managed-by': 'volsync-ops',
      'app.kubernetes.io/component': 'snapshot-list',
      'volsync-ops/app': 'odoo',
    })
  })
})

describe('restrictedPodSecurity', () => {
  it.each<[string, PodSecurityContext | undefined, PodSecurityContext]>([
    ['nothing from the mover: nobody', undefined, { runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }],
    [
      "the mover's uid, gid and fsGroup",
      { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
      { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    ],
    ['a uid without a gid: the gid follows the uid', { runAsUser: 1000 }, { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }],
    ['root is replaced: restricted pods never run as root', { runAsUser: 0, runAsGroup: 0 }, { runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }],
    ['runAsNonRoot false is overruled', { runAsUser: 1000, runAsNonRoot: false }, { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }],
    [
      'a Localhost seccomp profile is kept',
      { runAsUser: 1000, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } },
      { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } },
    ],
    [
      'an Unconfined seccomp profile is not allowed by restricted: RuntimeDefault',
      { runAsUser: 1000, seccompProfile: { type: 'Unconfined' } },
      { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    ],
    [
      'supplemental groups are kept',
      { runAsUser: 1000, supplementalGroups: [5, 6] },
      { runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [5, 6], runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    ],
  ])('%s', (_name, mover, expected) => {
    expect(restrictedPodSecurity(mover)).toEqual(expected)
  })

  it('does not change the ReplicationSource object it reads', () => {
    const mover: PodSecurityContext = { runAsUser: 0 }
    restrictedPodSecurity(mover)
    expect(mover).toEqual({ runAsUser: 0 })
  })
})

describe('listPod', () => {
  const pod = listPod({
    name: 'volsync-list-odoo-abc12',
    namespace: 'business',
    app: 'odoo',
    repositorySecret: 'volsync-r2-secret',
    moverSecurityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
    image: 'restic/restic:0.18.1',
    deadlineSeconds: 360,
  })

  it('is a one-shot restic pod with the repository credentials from the Secret as environment', () => {
    expect(pod).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'volsync-list-odoo-abc12',
        namespace: 'business',
        labels: {
          'app.kubernetes.io/managed-by': 'volsync-ops',
          'app.kubernetes.io/component': 'snapshot-list',
          'volsync-ops/app': 'odoo',
        },
      },
      spec: {
        restartPolicy: 'Never',
        activeDeadlineSeconds: 360,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'restic',
            image: 'restic/restic:0.18.1',
            command: ['restic', 'snapshots', '--json', '--no-lock', '--no-cache'],
            envFrom: [{ secretRef: { name: 'volsync-r2-secret' } }],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
          },
        ],
      },
    })
  })

  it('needs no TTY and no stdin', () => {
    const [container] = (pod.spec as { containers: Record<string, unknown>[] }).containers
    expect(container).not.toHaveProperty('tty')
    expect(container).not.toHaveProperty('stdin')
  })
})

describe('nameSuffix', () => {
  it.each<[number, string]>([
    [0, 'aaaaa'],
    [0.999999, '99999'],
    [0.5, 'sssss'],
  ])('random %d -> %s', (r, suffix) => {
    expect(nameSuffix(() => r)).toBe(suffix)
  })

  it('is 5 characters of [a-z0-9] with the default random source', () => {
    for (let i = 0; i < 50; i++) expect(nameSuffix()).toMatch(/^[a-z0-9]{5}$/)
  })
})
