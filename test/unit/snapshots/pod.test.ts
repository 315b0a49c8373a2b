import { describe, expect, it } from 'vitest'
import { OperationError, UsageError } from '../../../lib/errors.ts'
import { managedLabels, nameSuffix } from '../../../lib/names.ts'
import { DEFAULT_RESTIC_IMAGE, moverSettings, requiredObjectRefs, requiredObjects, resticImage, resticPod, restrictedPodSecurity } from '../../../lib/snapshots/pod.ts'
import type { PodSecurityContext, ReplicationSource } from '../../../lib/volsync/objects.ts'

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

const RS = (restic: Record<string, unknown>): ReplicationSource => ({
  metadata: { name: 'odoo-backup', namespace: 'business' },
  spec: { sourcePVC: 'odoo-data', restic: { repository: 'volsync-r2-secret', ...restic } },
})

describe('moverSettings', () => {
  it('reads what the mover gets from spec.restic', () => {
    const settings = moverSettings(
      RS({
        copyMethod: 'Direct',
        moverSecurityContext: { runAsUser: 1000 },
        moverPodLabels: { 'network/egress': 'r2' },
        moverAffinity: { podAntiAffinity: { x: 1 } },
        moverResources: { limits: { memory: '1Gi' } },
        moverServiceAccount: 'restic-wi',
        customCA: { configMapName: 'corp-ca', key: 'ca.pem' },
        moverVolumes: [{ mountPath: 'ssh', volumeSource: { secret: { secretName: 'ssh-key' } } }, { mountPath: 7 }],
      }),
    )
    expect(settings).toEqual({
      repository: 'volsync-r2-secret',
      securityContext: { runAsUser: 1000 },
      podLabels: { 'network/egress': 'r2' },
      affinity: { podAntiAffinity: { x: 1 } },
      resources: { limits: { memory: '1Gi' } },
      serviceAccount: 'restic-wi',
      customCA: { configMapName: 'corp-ca', key: 'ca.pem' },
      volumes: [{ mountPath: 'ssh', volumeSource: { secret: { secretName: 'ssh-key' } } }],
      copyMethod: 'Direct',
    })
  })

  it.each<[string, Record<string, unknown>, unknown]>([
    ['no key: VolSync uses no custom CA', { customCA: { secretName: 'ca' } }, undefined],
    ['a key without a Secret or ConfigMap: none either', { customCA: { key: 'ca.crt' } }, undefined],
    ['a Secret wins over a ConfigMap', { customCA: { secretName: 's', configMapName: 'c', key: 'k' } }, { secretName: 's', key: 'k' }],
    ['empty', { customCA: {} }, undefined],
  ])('customCA: %s', (_name, restic, expected) => {
    expect(moverSettings(RS(restic)).customCA).toEqual(expected)
  })

  it('refuses a source without a repository (exit 1)', () => {
    const rs = RS({})
    delete rs.spec.restic!.repository
    expect(() => moverSettings(rs)).toThrow(OperationError)
    expect(() => moverSettings(rs)).toThrow('ReplicationSource business/odoo-backup has no spec.restic.repository: it is not a restic source')
  })

  it('does not share the labels object with the ReplicationSource', () => {
    const rs = RS({ moverPodLabels: { a: 'b' } })
    moverSettings(rs).podLabels.c = 'd'
    expect(rs.spec.restic!.moverPodLabels).toEqual({ a: 'b' })
  })
})

describe('resticPod', () => {
  const base = {
    name: 'volsync-list-odoo-abc12',
    namespace: 'business',
    app: 'odoo',
    component: 'snapshot-list',
    image: 'restic/restic:0.18.1',
    deadlineSeconds: 360,
    command: { run: ['snapshots', '--json', '--no-lock', '--no-cache'] },
  }
  const plain = moverSettings(RS({ moverSecurityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 } }))

  it('is a one-shot restic pod with the repository credentials from the Secret as environment', () => {
    expect(resticPod({ ...base, mover: plain })).toEqual({
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
            env: [{ name: 'GOOGLE_APPLICATION_CREDENTIALS', value: '/credentials/gcs.json' }],
            volumeMounts: [
              { name: 'tmp', mountPath: '/tmp' },
              { name: 'gcs-credentials', mountPath: '/credentials', readOnly: true },
            ],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
          },
        ],
        volumes: [
          { name: 'tmp', emptyDir: {} },
          {
            name: 'gcs-credentials',
            secret: { secretName: 'volsync-r2-secret', optional: true, items: [{ key: 'GOOGLE_APPLICATION_CREDENTIALS', path: 'gcs.json' }] },
          },
        ],
      },
    })
  })

  it('needs no TTY and no stdin', () => {
    const [container] = resticPod({ ...base, mover: plain }).spec.containers
    expect(container).not.toHaveProperty('tty')
    expect(container).not.toHaveProperty('stdin')
  })

  it('gets the custom CA as the mover does: the key mounted as /customCA/ca.crt, handed to restic (RESTIC_CACERT = --cacert)', () => {
    for (const [ca, source] of [
      [{ secretName: 'corp-ca', key: 'tls.crt' }, { secret: { secretName: 'corp-ca', items: [{ key: 'tls.crt', path: 'ca.crt' }] } }],
      [{ configMapName: 'corp-ca', key: 'ca.pem' }, { configMap: { name: 'corp-ca', items: [{ key: 'ca.pem', path: 'ca.crt' }] } }],
    ] as const) {
      const pod = resticPod({ ...base, mover: moverSettings(RS({ customCA: ca })) })
      expect(pod.spec.volumes).toContainEqual({ name: 'custom-ca', ...source })
      const [c] = pod.spec.containers as { env: unknown[]; volumeMounts: unknown[] }[]
      expect(c!.volumeMounts).toContainEqual({ name: 'custom-ca', mountPath: '/customCA', readOnly: true })
      expect(c!.env).toContainEqual({ name: 'RESTIC_CACERT', value: '/customCA/ca.crt' })
    }
  })

  it("carries moverPodLabels (ours win on a clash), moverAffinity, moverResources, moverServiceAccount (with its token) and moverVolumes", () => {
    const mover = moverSettings(
      RS({
        moverPodLabels: { 'network/egress': 'r2', 'app.kubernetes.io/component': 'theirs' },
        moverAffinity: { podAffinity: { p: 1 } },
        moverResources: { limits: { memory: '2Gi' } },
        moverServiceAccount: 'restic-wi',
        moverVolumes: [{ mountPath: 'keys/ssh', volumeSource: { secret: { secretName: 'ssh-key' } } }],
      }),
    )
    const pod = resticPod({ ...base, mover })
    expect(pod.metadata.labels).toEqual({
      'network/egress': 'r2',
      'app.kubernetes.io/managed-by': 'volsync-ops',
      'app.kubernetes.io/component': 'snapshot-list',
      'volsync-ops/app': 'odoo',
    })
    expect(pod.spec.affinity).toEqual({ podAffinity: { p: 1 } })
    expect(pod.spec.serviceAccountName).toBe('restic-wi')
    expect(pod.spec).not.toHaveProperty('automountServiceAccountToken')
    const [c] = pod.spec.containers as { resources: unknown; volumeMounts: unknown[] }[]
    expect(c!.resources).toEqual({ limits: { memory: '2Gi' } })
    expect(pod.spec.volumes).toContainEqual({ name: 'u-keys-ssh', secret: { secretName: 'ssh-key' } })
    expect(c!.volumeMounts).toContainEqual({ name: 'u-keys-ssh', mountPath: '/mnt/keys/ssh' })
  })

  it("goes where the mover goes: the app pod's node (merged into moverAffinity) and tolerations", () => {
    const placement = { nodeName: 'node-3', tolerations: [{ key: 'dedicated', operator: 'Exists' }], from: 'business/odoo-x' }
    const mover = moverSettings(
      RS({
        moverAffinity: {
          podAffinity: { p: 1 },
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchFields: [{ key: 'x', operator: 'Exists' }] }],
            },
          },
        },
      }),
    )
    const pod = resticPod({ ...base, mover, placement })
    const pin = { key: 'metadata.name', operator: 'In', values: ['node-3'] }
    expect(pod.spec.affinity).toEqual({
      podAffinity: { p: 1 },
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }], matchFields: [pin] },
            { matchFields: [{ key: 'x', operator: 'Exists' }, pin] },
          ],
        },
      },
    })
    expect(pod.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Exists' }])
    expect(resticPod({ ...base, mover: plain, placement: { nodeName: 'n', from: 'x' } }).spec.affinity).toEqual({
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n'] }] }] } },
    })
  })

  it('an idle pod sleeps until its deadline (commands run in it with kubectl exec), with the volumes asked for and a sidecar', () => {
    const pod = resticPod({
      ...base,
      mover: plain,
      command: { idle: true },
      volumes: [
        { name: 'live', mountPath: '/data', readOnly: true, source: { persistentVolumeClaim: { claimName: 'odoo-data', readOnly: true } } },
        { name: 'scratch', mountPath: '/restore', source: { emptyDir: {} } },
      ],
      sidecars: [{ name: 'check', image: 'alpine:3', command: ['sleep', '360'], mounts: [{ name: 'scratch', mountPath: '/data', readOnly: true }], workingDir: '/data' }],
    })
    const [restic, check] = pod.spec.containers as Record<string, unknown>[]
    expect(restic!.command).toEqual(['sleep', '360'])
    expect(pod.spec.terminationGracePeriodSeconds).toBe(0)
    expect(restic!.volumeMounts).toContainEqual({ name: 'live', mountPath: '/data', readOnly: true })
    expect(restic!.volumeMounts).toContainEqual({ name: 'scratch', mountPath: '/restore' })
    expect(pod.spec.volumes).toContainEqual({ name: 'live', persistentVolumeClaim: { claimName: 'odoo-data', readOnly: true } })
    expect(check).toEqual({
      name: 'check',
      image: 'alpine:3',
      command: ['sleep', '360'],
      workingDir: '/data',
      volumeMounts: [{ name: 'scratch', mountPath: '/data', readOnly: true }],
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
    })
  })
})

describe('requiredObjects', () => {
  it('names what must exist in the namespace', () => {
    expect(requiredObjects(moverSettings(RS({ customCA: { configMapName: 'ca', key: 'k' }, moverServiceAccount: 'sa' })))).toEqual([
      'Secret volsync-r2-secret',
      'ConfigMap ca (customCA)',
      'ServiceAccount sa (moverServiceAccount)',
    ])
  })

  it("names the Secrets and PVCs of moverVolumes, with kubectl's kind for each", () => {
    const mover = moverSettings(
      RS({
        moverVolumes: [
          { mountPath: 'creds', volumeSource: { secret: { secretName: 'gcs' } } },
          { mountPath: 'extra', volumeSource: { persistentVolumeClaim: { claimName: 'shared', readOnly: true } } },
        ],
      }),
    )
    expect(requiredObjectRefs(mover)).toEqual([
      { kind: 'secret', name: 'volsync-r2-secret', label: 'Secret volsync-r2-secret' },
      { kind: 'secret', name: 'gcs', label: 'Secret gcs (moverVolumes)' },
      { kind: 'persistentvolumeclaim', name: 'shared', label: 'PersistentVolumeClaim shared (moverVolumes)' },
    ])
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
