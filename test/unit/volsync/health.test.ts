import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { OVERDUE_GRACE_MS, attentionReasons, backedUpNothing, summarizeSource } from '../../../lib/volsync/health.ts'
import { ref, type ReplicationSource } from '../../../lib/volsync/objects.ts'

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

describe('attentionReasons', () => {
  it('none for a healthy source', () => {
    expect(attentionReasons(source(), NOW)).toEqual([])
  })

  it("names the unlock command for this run's cluster and kubeconfig, quoted for sh", () => {
    const locked = source({ status: { ...source().status!, latestMoverStatus: { result: 'Failed', logs: 'unable to create lock in backend: repository is already locked by PID 27' } } })
    expect(attentionReasons(locked, NOW, undefined, { cluster: 'apps', kubeconfig: '/k/my apps.yaml' })).toContain(
      "the repository is locked: run task volsync:unlock APP=odoo NAMESPACE=business CLUSTER=apps KUBECONFIG='/k/my apps.yaml'",
    )
  })

  const healthy = source().status!
  it.each<[string, ReturnType<typeof source>, string[]]>([
    ['paused', source({ spec: { paused: true } }), ['paused: no backups run until spec.paused is removed']],
    [
      'a failed mover run, with its last error line',
      source({ status: { ...healthy, latestMoverStatus: { result: 'Failed', logs: 'Fatal: wrong password\nERROR: failure connecting to repository, incorrect password' } } }),
      ['last mover run failed: ERROR: failure connecting to repository, incorrect password'],
    ],
    [
      'a locked repository: restic\'s lock line, not the mover\'s generic last line; and the unlock hint',
      source({
        status: {
          ...healthy,
          latestMoverStatus: {
            result: 'Failed',
            logs: 'unable to create lock in backend: repository is already locked exclusively by PID 27 on mover-x by  (UID 1000, GID 1000)\nERROR: failure locking repository',
          },
        },
      }),
      [
        'last mover run failed: unable to create lock in backend: repository is already locked exclusively by PID 27 on mover-x by  (UID 1000, GID 1000)',
        'the repository is locked: run task volsync:unlock APP=odoo NAMESPACE=business',
      ],
    ],
    [
      'a failed mover run without logs',
      source({ status: { ...healthy, latestMoverStatus: { result: 'Failed' } } }),
      ['last mover run failed'],
    ],
    [
      'an Error condition, with its message',
      source({ status: { ...healthy, conditions: [{ type: 'Synchronizing', status: 'False', reason: 'Error', message: 'unable to get volume snapshot class' }] } }),
      ['error: unable to get volume snapshot class'],
    ],
    [
      'an Error condition without a message',
      source({ status: { ...healthy, conditions: [{ type: 'Synchronizing', status: 'False', reason: 'Error' }] } }),
      ['error: no message'],
    ],
    [
      'a manual trigger left set beside a schedule',
      source({ spec: { trigger: { schedule: '0 */8 * * *', manual: 'snapshot-1' } } }),
      ['manual trigger left set ("snapshot-1"): the schedule 0 */8 * * * is ignored'],
    ],
    [
      'an empty manual trigger still overrides the schedule',
      source({ spec: { trigger: { schedule: '0 */8 * * *', manual: '' } } }),
      ['manual trigger left set (""): the schedule 0 */8 * * * is ignored'],
    ],
    [
      'no schedule, synced by hand',
      source({ spec: { trigger: { manual: 'once' } } }),
      ['no schedule: backups run only when spec.trigger.manual changes (now "once")'],
    ],
    [
      'no trigger at all: VolSync syncs continuously, nobody is waited for',
      source({ spec: { trigger: undefined } }),
      ['no schedule and no manual trigger: VolSync syncs continuously, one backup right after the other'],
    ],
    [
      'an empty trigger is no trigger either',
      source({ spec: { trigger: {} } }),
      ['no schedule and no manual trigger: VolSync syncs continuously, one backup right after the other'],
    ],
    [
      'overdue: next sync more than the grace period ago',
      source({ status: { ...healthy, nextSyncTime: ago(OVERDUE_GRACE_MS + 1000) } }),
      [`overdue: the next sync was due at ${ago(OVERDUE_GRACE_MS + 1000)}`],
    ],
    [
      'overdue with a sync still running',
      source({ status: { ...healthy, nextSyncTime: ago(16 * H), lastSyncStartTime: ago(16 * H) } }),
      [`overdue: the sync that started ${ago(16 * H)} is still running`],
    ],
    ['never synced', source({ status: {} }), ['has never synced']],
    [
      'a locked repository',
      source({ status: { ...healthy, latestMoverStatus: { result: 'Successful', logs: 'unable to create lock in backend: repository is already locked by PID 27' } } }),
      ['the repository is locked: run task volsync:unlock APP=odoo NAMESPACE=business'],
    ],
  ])('%s', (_name, rs, reasons) => {
    expect(attentionReasons(rs, NOW)).toEqual(reasons)
  })

  it.each<[string, ReturnType<typeof source>]>([
    ['late within the grace period', source({ status: { ...healthy, nextSyncTime: ago(OVERDUE_GRACE_MS - 1000) } })],
    ['a first sync running now', source({ status: { lastSyncStartTime: ago(60_000), nextSyncTime: ago(60_000) } })],
    ['an unreadable nextSyncTime', source({ status: { ...healthy, nextSyncTime: 'soon' } })],
  ])('not flagged: %s', (_name, rs) => {
    expect(attentionReasons(rs, NOW)).toEqual([])
  })

  it('lists every reason that applies, in a fixed order', () => {
    const rs = source({
      spec: { paused: true, trigger: { schedule: '@hourly', manual: 'x' } },
      status: {
        nextSyncTime: ago(2 * H),
        conditions: [{ type: 'Synchronizing', status: 'False', reason: 'Error', message: 'boom' }],
        latestMoverStatus: { result: 'Failed', logs: 'unable to create lock in backend: repository is already locked' },
      },
    })
    expect(attentionReasons(rs, NOW)).toEqual([
      'paused: no backups run until spec.paused is removed',
      'last mover run failed: unable to create lock in backend: repository is already locked',
      'error: boom',
      'manual trigger left set ("x"): the schedule @hourly is ignored',
      `overdue: the next sync was due at ${ago(2 * H)}`,
      'has never synced',
      'the repository is locked: run task volsync:unlock APP=odoo NAMESPACE=business',
    ])
  })
})

describe('backedUpNothing', () => {
  const healthy = source().status!
  const EMPTY_LOG = readFileSync(new URL('../../fixtures/mover-backup-empty.log', import.meta.url), 'utf8')
  const EMPTY_REASON =
    'last sync backed up nothing: the mover found PVC odoo-data empty ("Directory is empty skipping backup") and made no snapshot'
  it.each<[string, ReturnType<typeof source>, string | undefined]>([
    ['a backup that saved a snapshot', source(), undefined],
    ['an empty source directory (the recorded mover log)', source({ status: { ...healthy, latestMoverStatus: { result: 'Successful', logs: EMPTY_LOG } } }), EMPTY_REASON],
    [
      'an empty source directory, no sourcePVC in the spec',
      source({ spec: { sourcePVC: undefined }, status: { ...healthy, latestMoverStatus: { result: 'Successful', logs: EMPTY_LOG } } }),
      'last sync backed up nothing: the mover found the source PVC empty ("Directory is empty skipping backup") and made no snapshot',
    ],
    [
      'a finished mover run without a saved snapshot',
      source({ status: { ...healthy, latestMoverStatus: { result: 'Successful', logs: 'processed 0 files, 0 B in 0:00\nRestic completed in 2s' } } }),
      'last sync backed up nothing: the mover finished without a "snapshot <id> saved" line',
    ],
    ['a successful run without logs (nothing to judge by)', source({ status: { ...healthy, latestMoverStatus: { result: 'Successful' } } }), undefined],
    ['a failed run (its own reason covers it)', source({ status: { ...healthy, latestMoverStatus: { result: 'Failed', logs: EMPTY_LOG } } }), undefined],
    ['never synced', source({ status: {} }), undefined],
  ])('%s', (_name, rs, reason) => {
    expect(backedUpNothing(rs)).toBe(reason)
  })

  it('makes the source need attention, after a failed-run reason would come', () => {
    const rs = source({ status: { ...healthy, latestMoverStatus: { result: 'Successful', logs: EMPTY_LOG } } })
    expect(attentionReasons(rs, NOW)).toEqual([EMPTY_REASON])
    expect(summarizeSource(rs, NOW)).toMatchObject({ healthy: false, latestSnapshot: null, result: 'Successful' })
  })
})

describe('summarizeSource', () => {
  it('summarises a healthy source', () => {
    expect(summarizeSource(source(), NOW)).toEqual({
      namespace: 'business',
      name: 'odoo-backup',
      sourcePVC: 'odoo-data',
      schedule: '0 */8 * * *',
      manual: null,
      lastSyncTime: ago(2 * H),
      lastSyncDurationSeconds: 63,
      nextSyncTime: new Date(NOW.getTime() + 6 * H).toISOString(),
      syncing: false,
      result: 'Successful',
      latestSnapshot: '7c2d9e41',
      state: 'WaitingForSchedule',
      stateMessage: 'Waiting for next scheduled synchronization',
      healthy: true,
      attention: [],
      lastVerified: null,
      verification: null,
    })
  })

  it('summarises a source that never ran with nulls, and marks it unhealthy', () => {
    const rs = source({ spec: { sourcePVC: undefined }, status: undefined })
    rs.status = undefined
    expect(summarizeSource(rs, NOW)).toMatchObject({
      sourcePVC: null,
      lastSyncTime: null,
      lastSyncDurationSeconds: null,
      nextSyncTime: null,
      syncing: false,
      result: null,
      latestSnapshot: null,
      state: null,
      stateMessage: null,
      healthy: false,
      attention: ['has never synced'],
    })
  })

  it('copes with an object without spec or status (spec is not required by the CRD)', () => {
    const bare = { apiVersion: 'volsync.backube/v1alpha1', kind: 'ReplicationSource', metadata: { name: 'x', namespace: 'y' } }
    expect(summarizeSource(bare as unknown as ReplicationSource, NOW)).toMatchObject({
      sourcePVC: null,
      schedule: null,
      healthy: false,
      attention: ['no schedule and no manual trigger: VolSync syncs continuously, one backup right after the other', 'has never synced'],
    })
  })

  it('reads a running sync, a manual token and an unreadable duration', () => {
    const rs = source({
      spec: { trigger: { manual: 'tok' } },
      status: { lastSyncStartTime: ago(60_000), lastSyncTime: ago(H), lastSyncDuration: 'weird' },
    })
    expect(summarizeSource(rs, NOW)).toMatchObject({ syncing: true, manual: 'tok', schedule: null, lastSyncDurationSeconds: null })
  })

  it('summarises every source of the recorded mixed fixture as status shows them', () => {
    const text = readFileSync(new URL('../../fixtures/rs-mixed.json', import.meta.url), 'utf8').replace(
      /@NOW([+-]\d+[smhd])?@/g,
      (_m, delta: string | undefined) => {
        if (!delta) return NOW.toISOString()
        const n = Number(delta.slice(0, -1))
        const unit = { s: 1000, m: 60_000, h: H, d: 24 * H }[delta.at(-1) as 's' | 'm' | 'h' | 'd']
        return new Date(NOW.getTime() + n * unit).toISOString()
      },
    )
    const items = (JSON.parse(text) as { items: ReplicationSource[] }).items
    expect(items.map((rs) => [ref(rs), summarizeSource(rs, NOW).attention.length])).toEqual([
      ['business/odoo-backup', 0],
      ['media/plex-backup', 2],
      ['media/jellyfin-backup', 1],
      ['tools/wiki-backup', 3],
      ['tools/git-backup', 2],
    ])
  })
})
