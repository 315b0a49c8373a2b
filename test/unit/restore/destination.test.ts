// The ReplicationDestination a restore creates, from the snapshot selector to
// the manifest (lib/snapshots/restic.ts resolveRestorePoint + lib/snapshots/pod.ts).
import { describe, expect, it } from 'vitest'
import { parseSnapshotSelector } from '../../../lib/cli.ts'
import { restoreDestination, restoreName } from '../../../lib/restore/destination.ts'
import { resolveRestorePoint, withOffsets, type ResticSnapshot } from '../../../lib/snapshots/restic.ts'

const snap = (id: string, time: string): ResticSnapshot => ({ id: id.padEnd(64, '0'), short_id: id, time, paths: ['/data'], hostname: 'volsync' })
const listed = withOffsets([
  snap('9a8b7c6d', '2026-11-25T04:00:09.481736155Z'),
  snap('4b1e6f2a', '2026-11-25T12:00:07.112233445Z'),
  snap('7c2d9e41', '2026-11-25T20:00:05.998877665Z'),
])

const base = {
  name: 'odoo-restore-20261126101500',
  namespace: 'business',
  app: 'odoo',
  token: 'volsync-ops-restore-20261126T101500Z-ab12c',
  repository: 'volsync-r2-secret',
  destinationPVC: 'odoo-data',
}

describe('SNAPSHOT -> ReplicationDestination spec.restic', () => {
  it.each([
    ['empty: the latest, previous 0', '', { previous: 0 }, '7c2d9e41'],
    ['0: the latest', '0', { previous: 0 }, '7c2d9e41'],
    ['an offset: previous N', '2', { previous: 2 }, '9a8b7c6d'],
    ['a short id: restoreAsOf its second, previous 0', '4b1e6f2a', { previous: 0, restoreAsOf: '2026-11-25T12:00:07Z' }, '4b1e6f2a'],
    ['a full id', '4b1e6f2a'.padEnd(64, '0'), { previous: 0, restoreAsOf: '2026-11-25T12:00:07Z' }, '4b1e6f2a'],
    ['a time: restoreAsOf that second in UTC', '2026-11-25T21:30:00+01:00', { previous: 0, restoreAsOf: '2026-11-25T20:30:00Z' }, '7c2d9e41'],
    ['a time between snapshots: the one before', '2026-11-25T12:00:06Z', { previous: 0, restoreAsOf: '2026-11-25T12:00:06Z' }, '9a8b7c6d'],
  ])('%s', (_what, selector, fields, expectedSnapshot) => {
    const point = resolveRestorePoint(listed, parseSnapshotSelector(selector))
    expect(point.snapshot.short_id).toBe(expectedSnapshot)
    const manifest = restoreDestination({ ...base, previous: point.previous, restoreAsOf: point.restoreAsOf })
    expect(manifest.spec.restic).toEqual({
      repository: 'volsync-r2-secret',
      destinationPVC: 'odoo-data',
      copyMethod: 'Direct',
      enableFileDeletion: true,
      cleanupCachePVC: true,
      ...fields,
    })
  })
})

describe('restoreDestination', () => {
  it('is a manually triggered ReplicationDestination labelled as made by this tool', () => {
    const manifest = restoreDestination({ ...base, previous: 0 })
    expect(manifest).toMatchObject({
      apiVersion: 'volsync.backube/v1alpha1',
      kind: 'ReplicationDestination',
      metadata: {
        name: 'odoo-restore-20261126101500',
        namespace: 'business',
        labels: { 'app.kubernetes.io/managed-by': 'volsync-ops', 'app.kubernetes.io/component': 'restore', 'volsync-ops/app': 'odoo' },
      },
      spec: { trigger: { manual: 'volsync-ops-restore-20261126T101500Z-ab12c' } },
    })
    expect(Object.keys(manifest.spec.trigger)).toEqual(['manual'])
  })

  it('takes the mover settings of the ReplicationSource, and nothing that belongs to backups', () => {
    const sourceRestic = {
      repository: 'volsync-r2-secret',
      copyMethod: 'Snapshot',
      pruneIntervalDays: 7,
      retain: { daily: 7, hourly: 24 },
      storageClassName: 'ceph-block',
      volumeSnapshotClassName: 'csi-ceph-blockpool',
      unlock: 'x',
      moverSecurityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
      moverServiceAccount: 'volsync-mover',
      moverResources: { limits: { memory: '2Gi' } },
      customCA: { configMapName: 'ca', key: 'ca.crt' },
      cacheCapacity: '4Gi',
      cacheStorageClassName: 'local-path',
      cacheAccessModes: ['ReadWriteOnce'],
      moverPodLabels: { 'egress/r2': 'allow' },
      moverAffinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } },
      moverVolumes: [{ mountPath: 'creds', volumeSource: { secret: { secretName: 'gcs' } } }],
    }
    const restic = restoreDestination({ ...base, previous: 0, sourceRestic }).spec.restic
    expect(restic).toEqual({
      repository: 'volsync-r2-secret',
      destinationPVC: 'odoo-data',
      copyMethod: 'Direct',
      previous: 0,
      enableFileDeletion: true,
      cleanupCachePVC: true,
      moverSecurityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
      moverServiceAccount: 'volsync-mover',
      moverResources: { limits: { memory: '2Gi' } },
      customCA: { configMapName: 'ca', key: 'ca.crt' },
      cacheCapacity: '4Gi',
      cacheStorageClassName: 'local-path',
      cacheAccessModes: ['ReadWriteOnce'],
      moverPodLabels: { 'egress/r2': 'allow' },
      moverAffinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } },
      moverVolumes: [{ mountPath: 'creds', volumeSource: { secret: { secretName: 'gcs' } } }],
    })
  })

  it('leaves out mover settings the source does not have, and an empty customCA', () => {
    const restic = restoreDestination({ ...base, previous: 1, sourceRestic: { customCA: {}, moverSecurityContext: undefined } }).spec.restic
    expect(Object.keys(restic).sort()).toEqual(
      ['cleanupCachePVC', 'copyMethod', 'destinationPVC', 'enableFileDeletion', 'previous', 'repository'].sort(),
    )
  })
})

describe('restoreName', () => {
  it.each([
    ['2026-11-26T10:15:00.123Z', 'odoo', 'odoo-restore-20261126101500'],
    ['2026-01-02T03:04:05Z', 'a', 'a-restore-20260102030405'],
  ])('%s, %s -> %s', (iso, app, expected) => {
    expect(restoreName(app, new Date(iso))).toBe(expected)
  })
  it('stays a valid name for the longest APP (40 characters)', () => {
    const name = restoreName('a'.repeat(40), new Date())
    expect(name.length).toBe(63)
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  })
})
