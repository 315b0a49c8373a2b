import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../lib/errors.ts'
import { hintTarget } from '../../../lib/hints.ts'
import {
  checkFilesystem,
  checkToPvcFlags,
  copyClaim,
  copySize,
  missingText,
  mountHint,
  quantityBytes,
  toPvcReport,
  type Claim,
  type ToPvcPlan,
} from '../../../lib/recover/to-pvc.ts'
import { withOffsets } from '../../../lib/snapshots/restic.ts'

const [SNAP] = withOffsets([{ id: '7c2d9e41' + 'a'.repeat(56), time: '2026-11-25T20:00:05Z', paths: ['/data'], hostname: 'volsync' }])
const source = (spec: Claim['spec'], capacity?: string): Claim => ({
  metadata: { name: 'odoo-data', namespace: 'business' },
  spec,
  status: capacity ? { phase: 'Bound', capacity: { storage: capacity } } : { phase: 'Bound' },
})

describe('quantityBytes and copySize', () => {
  it.each<[string, number | undefined]>([
    ['10Gi', 10 * 2 ** 30],
    ['1.5G', 1.5e9],
    ['500M', 5e8],
    ['1024', 1024],
    ['20GB', undefined],
    ['', undefined],
  ])('%s -> %s', (q, bytes) => {
    expect(quantityBytes(q)).toBe(bytes)
  })

  it.each<[string, Claim, string]>([
    ['the capacity when larger than the request (a class rounds up)', source({ resources: { requests: { storage: '10G' } } }, '10Gi'), '10Gi'],
    ['the request when larger (an expansion not done yet)', source({ resources: { requests: { storage: '20Gi' } } }, '10Gi'), '20Gi'],
    ['the request alone (Pending)', source({ resources: { requests: { storage: '5Gi' } } }), '5Gi'],
  ])('%s', (_name, claim, size) => {
    expect(copySize(claim)).toBe(size)
  })
})

describe('copyClaim', () => {
  it("takes the source PVC's class, access modes, volume mode and size; marks where it comes from", () => {
    const claim = copyClaim(
      source({ accessModes: ['ReadWriteOnce'], storageClassName: 'ceph-block', volumeMode: 'Filesystem', resources: { requests: { storage: '10Gi' } } }, '10Gi'),
      { name: 'odoo-copy', namespace: 'forensics', app: 'odoo', source: 'business/odoo-backup', snapshot: SNAP! },
    )
    expect(claim).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'odoo-copy',
        namespace: 'forensics',
        labels: { 'app.kubernetes.io/managed-by': 'volsync-ops', 'app.kubernetes.io/component': 'restore-copy', 'volsync-ops/app': 'odoo' },
        annotations: {
          'volsync-ops/restored-from': 'business/odoo-backup (PVC business/odoo-data)',
          'volsync-ops/snapshot': `${SNAP!.id} 2026-11-25T20:00:05Z`,
        },
      },
      spec: { accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem', storageClassName: 'ceph-block', resources: { requests: { storage: '10Gi' } } },
    })
  })

  it('no class on the source: none on the copy (the default class); no access mode: ReadWriteOnce', () => {
    const claim = copyClaim(source({ resources: { requests: { storage: '1Gi' } } }), { name: 'c', namespace: 'n', app: 'a', source: 'n/a-backup', snapshot: SNAP! })
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } })
  })

  it('a Block volume is refused: restic restores files', () => {
    expect(() => checkFilesystem(source({ volumeMode: 'Block' }))).toThrow('is a Block volume')
  })
})

describe('checkToPvcFlags', () => {
  it.each<[Parameters<typeof checkToPvcFlags>[0], string | null]>([
    [{ toPvc: 'c', toNamespace: 'x', keep: false }, null],
    [{ toPvc: undefined, toNamespace: undefined, keep: true }, null],
    [{ toPvc: undefined, toNamespace: 'x', keep: false }, 'TO_NAMESPACE (--to-namespace) needs TO_PVC (--to-pvc)'],
    [{ toPvc: 'c', toNamespace: undefined, keep: true }, 'KEEP (--keep) applies to an in-place restore'],
  ])('%j', (opts, error) => {
    if (error === null) expect(() => checkToPvcFlags(opts)).not.toThrow()
    else {
      expect(() => checkToPvcFlags(opts)).toThrow(UsageError)
      expect(() => checkToPvcFlags(opts)).toThrow(error)
    }
  })
})

describe('texts', () => {
  it('names what is missing, and never offers to copy it', () => {
    expect(missingText('forensics', ['Secret volsync-r2-secret', 'ConfigMap ca (customCA)'], 'business/odoo-backup')).toBe(
      'namespace forensics lacks what the restore mover needs: Secret volsync-r2-secret, ConfigMap ca (customCA). ' +
        'Create them there (the same as in the namespace of business/odoo-backup; this tool never reads nor copies credentials), ' +
        'then run the restore again. Nothing was changed.',
    )
  })

  it("the mount hint is a kubectl run of this run's cluster, POSIX-quoted, with the PVC at /data", () => {
    const target = hintTarget({ name: 'apps', how: 'x', kubeconfig: '/home/me/kube config' }, undefined)
    const hint = mountHint(target, 'forensics', 'odoo-copy', 'restic/restic:0.18.1')
    expect(hint).toMatch(/^kubectl --kubeconfig '\/home\/me\/kube config' run odoo-copy-shell -n forensics --rm -it --restart=Never --image=restic\/restic:0.18.1 '--overrides=\{/)
    const overrides = JSON.parse(/'--overrides=(.*)'$/.exec(hint)![1]!)
    expect(overrides.spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'odoo-copy' } }])
    expect(overrides.spec.containers[0]).toMatchObject({ name: 'odoo-copy-shell', command: ['sh'], workingDir: '/data', volumeMounts: [{ name: 'data', mountPath: '/data' }] })
  })
})

describe('toPvcReport', () => {
  const claim = copyClaim(source({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }), {
    name: 'c', namespace: 'n', app: 'a', source: 'n/a-backup', snapshot: SNAP!,
  })
  const plan: ToPvcPlan = {
    cluster: 'apps', clusterHow: 'x', source: 'n/a-backup', sourceClaim: source({}), claim,
    point: { previous: 0, snapshot: SNAP! }, destination: 'a-restore-1', repository: 's', required: ['Secret s'], dryRun: false,
  }
  it('a restore that stopped is not ok and offers no commands', () => {
    expect(toPvcReport(plan, { kind: 'stopped', message: 'interrupted' })).toMatchObject({ ok: false, restored: false, mount: null, delete: null, message: 'interrupted', size: '1Gi' })
  })
  it('a finished one carries the verdict, the duration and the commands', () => {
    expect(
      toPvcReport(plan, { kind: 'done', verdict: { ok: true, kind: 'restored', message: 'Restored' }, restoredSnapshot: '7c2d9e41', durationMs: 41_600, mount: 'm', delete: 'd' }),
    ).toMatchObject({ ok: true, restored: true, restoredSnapshot: '7c2d9e41', durationSeconds: 42, mount: 'm', delete: 'd', snapshot: { shortId: '7c2d9e41' } })
  })
})
