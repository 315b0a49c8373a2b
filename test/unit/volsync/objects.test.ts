import { describe, expect, it } from 'vitest'
import { RD, RS, backupName, ref, syncCondition, type ReplicationSource } from '../../../lib/volsync/objects.ts'

const NOW = new Date('2026-11-26T12:00:00Z')
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString().replace(/\.000Z$/, 'Z')
const H = 3_600_000

const SAVED_LOG = [
  'repository 9f3a2b1c opened (version 2, compression level auto)',
  'using parent snapshot 4b1e6f2a',
  'Added to the repository: 1.234 MiB (402.118 KiB stored)',
  'processed 1532 files, 812.331 MiB in 0:04',
  'snapshot 7c2d9e41 saved',
  'Restic completed in 7s',
].join('\n')

/** A healthy source: scheduled, synced 2h ago, next sync in 6h. */
function source(overrides: { spec?: Partial<ReplicationSource['spec']>; status?: ReplicationSource['status'] } = {}): ReplicationSource {
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationSource',
    metadata: { name: 'odoo-backup', namespace: 'business' },
    spec: {
      sourcePVC: 'odoo-data',
      trigger: { schedule: '0 */8 * * *' },
      restic: { repository: 'volsync-r2-secret' },
      ...overrides.spec,
    },
    status: overrides.status ?? {
      lastSyncTime: ago(2 * H),
      lastSyncDuration: '1m3.202331847s',
      nextSyncTime: new Date(NOW.getTime() + 6 * H).toISOString(),
      conditions: [
        { type: 'Synchronizing', status: 'False', reason: 'WaitingForSchedule', message: 'Waiting for next scheduled synchronization' },
      ],
      latestMoverStatus: { result: 'Successful', logs: SAVED_LOG },
    },
  }
}

const named = (namespace: string, name = 'odoo-backup'): ReplicationSource => ({
  ...source(),
  metadata: { name, namespace },
})

describe('names', () => {
  it('uses the full resource names (VolSync has no short names; rs means ReplicaSets)', () => {
    expect([RS, RD]).toEqual(['replicationsources.volsync.backube', 'replicationdestinations.volsync.backube'])
  })
  it('an app backs up through <app>-backup', () => {
    expect(backupName('odoo')).toBe('odoo-backup')
    expect(ref(named('business'))).toBe('business/odoo-backup')
  })
})

describe('syncCondition', () => {
  it('finds the Synchronizing condition among others', () => {
    const cond = { type: 'Synchronizing', status: 'True', reason: 'SyncInProgress' }
    expect(syncCondition({ status: { conditions: [{ type: 'Other', status: 'True' }, cond] } })).toBe(cond)
    expect(syncCondition({ status: {} })).toBeUndefined()
    expect(syncCondition({})).toBeUndefined()
  })
})
