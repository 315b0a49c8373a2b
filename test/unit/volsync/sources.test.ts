import { describe, expect, it } from 'vitest'
import { OperationError, UsageError } from '../../../lib/errors.ts'
import type { ReplicationSource } from '../../../lib/volsync/objects.ts'
import { pickSource, volsyncMissing } from '../../../lib/volsync/sources.ts'

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

describe('pickSource', () => {
  const all = [named('media', 'plex-backup'), named('business'), named('tools', 'git-backup')]

  it.each<[string, ReplicationSource[], string | undefined, string]>([
    ['the only match', [named('business')], undefined, 'business'],
    ['the match in NAMESPACE among several', [named('business'), named('lab')], 'lab', 'lab'],
    ['ignores other names in the list', [named('media', 'plex-backup'), named('business')], undefined, 'business'],
  ])('picks %s', (_name, found, namespace, expected) => {
    expect(pickSource(found, 'odoo-backup', { cluster: 'apps', namespace }, all).metadata.namespace).toBe(expected)
  })

  it('a name in two namespaces is a usage error listing both and asking for NAMESPACE', () => {
    const call = () => pickSource([named('business'), named('lab')], 'odoo-backup', { cluster: 'apps' }, all)
    expect(call).toThrow(UsageError)
    expect(call).toThrow(
      'ReplicationSource odoo-backup exists in 2 namespaces on cluster apps: business, lab. ' +
        'Say which with NAMESPACE=<ns> (--namespace).',
    )
  })

  it('not found lists the sources that exist, sorted', () => {
    let error: unknown
    try {
      pickSource([], 'wiki-backup', { cluster: 'apps' }, all)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(OperationError)
    expect(error).not.toBeInstanceOf(UsageError)
    expect((error as OperationError).message).toBe('ReplicationSource wiki-backup not found in cluster apps.')
    expect((error as OperationError).details).toBe(
      'ReplicationSources that exist:\n  business/odoo-backup\n  media/plex-backup\n  tools/git-backup',
    )
  })

  it.each<[string, ReplicationSource[] | undefined, string, string]>([
    ['no sources at all', [], 'lab', 'There are no ReplicationSources on cluster apps.'],
    ['the cluster-wide list could not be read', undefined, 'lab', 'There are no ReplicationSources on cluster apps.'],
  ])('not found with %s', (_name, list, namespace, details) => {
    let error: unknown
    try {
      pickSource([], 'odoo-backup', { cluster: 'apps', namespace }, list)
    } catch (err) {
      error = err
    }
    expect((error as OperationError).message).toBe('ReplicationSource odoo-backup not found in namespace lab of cluster apps.')
    expect((error as OperationError).details).toBe(details)
  })

  it('a match in another namespace than NAMESPACE is not found', () => {
    expect(() => pickSource([named('business')], 'odoo-backup', { cluster: 'apps', namespace: 'lab' }, all)).toThrow(
      /not found in namespace lab/,
    )
  })
})

describe('volsyncMissing', () => {
  it('says VolSync is not installed on the cluster', () => {
    const err = volsyncMissing('apps')
    expect(err.exitCode).toBe(1)
    expect(err.message).toBe(
      'VolSync is not installed on cluster apps: the API server has no replicationsources.volsync.backube resource.',
    )
    expect(err.details).toMatch(/CLUSTER \/ KUBECONFIG/)
  })
})
