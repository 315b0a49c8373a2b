import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { OperationError, UsageError } from '../../lib/cli.ts'
import {
  OVERDUE_GRACE_MS,
  RD,
  RS,
  attentionReasons,
  pausePatch,
  unpausePatch,
  backupName,
  pickSource,
  readMoverLogs,
  ref,
  summarizeSource,
  syncCondition,
  volsyncMissing,
  type ReplicationSource,
} from '../../lib/volsync.ts'

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

describe('readMoverLogs', () => {
  const none = {
    savedSnapshot: undefined,
    restoredSnapshot: undefined,
    nothingToRestore: false,
    emptySource: false,
    initializedRepository: false,
    lockError: false,
    errorLines: [],
    errorSummary: undefined,
  }
  it.each<[string, string | undefined, Partial<ReturnType<typeof readMoverLogs>>]>([
    ['no logs', undefined, {}],
    ['empty logs', '', {}],
    ['a backup that saved a snapshot', SAVED_LOG, { savedSnapshot: '7c2d9e41' }],
    ['the last saved snapshot when several are logged', 'snapshot 11111111 saved\nsnapshot 22222222 saved', { savedSnapshot: '22222222' }],
    ['a full-length snapshot id', `snapshot ${'ab'.repeat(32)} saved`, { savedSnapshot: 'ab'.repeat(32) }],
    ['an indented saved line', '  snapshot 7c2d9e41 saved', { savedSnapshot: '7c2d9e41' }],
    ['not an id', 'snapshot XYZ saved', {}],
    [
      'a restic 0.18 restore',
      'Selected restic snapshot with id: 7c2d9e41\nrestoring snapshot 7c2d9e41 of [/data] at 2026-11-25 20:00:05.998877665 +0000 UTC by root@volsync to .\nSummary: Restored 1540 files/dirs (812.331 MiB) in 0:05',
      { restoredSnapshot: '7c2d9e41' },
    ],
    [
      'an older restic restore',
      'restoring <Snapshot 9a8b7c6d of [/data] at 2026-11-25 04:00:09.481736155 +0000 UTC by root@volsync> to .',
      { restoredSnapshot: '9a8b7c6d' },
    ],
    ['a restore that selected nothing', 'No eligible snapshots found\n=== No data will be restored ===', { nothingToRestore: true }],
    ['only the second line kept', '=== No data will be restored ===', { nothingToRestore: true }],
    ['an empty source directory', '=== Directory is empty skipping backup ===', { emptySource: true }],
    ['a new repository', '=== Initialize Dir ===\ncreated restic repository 1234abcd at s3:...', { initializedRepository: true }],
    [
      'a locked repository',
      'unable to create lock in backend: repository is already locked by PID 27 on volsync-src-wiki-backup-xk2lp by  (UID 1000, GID 1000)',
      {
        lockError: true,
        errorLines: [
          'unable to create lock in backend: repository is already locked by PID 27 on volsync-src-wiki-backup-xk2lp by  (UID 1000, GID 1000)',
        ],
        errorSummary:
          'unable to create lock in backend: repository is already locked by PID 27 on volsync-src-wiki-backup-xk2lp by  (UID 1000, GID 1000)',
      },
    ],
    [
      // as VolSync v0.16.0 reports it (recorded by the e2e tier): the mover's
      // own ERROR line comes last and says less than restic's lock line
      'a locked repository, as the mover logs it',
      'Testing mandatory env variables\n== Checking directory for content ===\n=== Check for dir initialized ===\n' +
        'unable to create lock in backend: repository is already locked exclusively by PID 27 on volsync-src-odoo-backup-x2k8p by  (UID 1000, GID 1000)\n' +
        'lock was created at 2026-11-26 01:58:11 (2h1m3.412s ago)\nstorage ID 5f1c2b3a\n' +
        'the `unlock` command can be used to remove stale locks\nERROR: failure locking repository',
      {
        lockError: true,
        errorLines: [
          'unable to create lock in backend: repository is already locked exclusively by PID 27 on volsync-src-odoo-backup-x2k8p by  (UID 1000, GID 1000)',
          'ERROR: failure locking repository',
        ],
        errorSummary:
          'unable to create lock in backend: repository is already locked exclusively by PID 27 on volsync-src-odoo-backup-x2k8p by  (UID 1000, GID 1000)',
      },
    ],
    [
      'a lock failure while running',
      'Fatal: failure locking repository',
      { lockError: true, errorLines: ['Fatal: failure locking repository'], errorSummary: 'Fatal: failure locking repository' },
    ],
    [
      'ERROR and Fatal lines, trimmed, in order; the last one sums up',
      'Testing mandatory env variables\nFatal: wrong password or no key found\n  ERROR: failure connecting to repository, incorrect password\nnot an ERROR line',
      {
        errorLines: ['Fatal: wrong password or no key found', 'ERROR: failure connecting to repository, incorrect password'],
        errorSummary: 'ERROR: failure connecting to repository, incorrect password',
      },
    ],
  ])('%s', (_name, logs, expected) => {
    expect(readMoverLogs(logs)).toEqual({ ...none, ...expected })
  })
})

describe('attentionReasons', () => {
  it('none for a healthy source', () => {
    expect(attentionReasons(source(), NOW)).toEqual([])
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
        'the repository is locked: run task volsync:unlock',
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
    ['no schedule', source({ spec: { trigger: { manual: 'once' } } }), ['no schedule: backups run only when triggered by hand']],
    ['no trigger at all', source({ spec: { trigger: undefined } }), ['no schedule: backups run only when triggered by hand']],
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
      ['the repository is locked: run task volsync:unlock'],
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
      'the repository is locked: run task volsync:unlock',
    ])
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
      attention: ['no schedule: backups run only when triggered by hand', 'has never synced'],
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
    const text = readFileSync(new URL('../fixtures/rs-mixed.json', import.meta.url), 'utf8').replace(
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

describe('pausePatch / unpausePatch', () => {
  it('pauses with a merge patch', () => {
    expect(pausePatch).toEqual({ spec: { paused: true } })
  })
  it.each([
    [false, { op: 'remove', path: '/spec/paused' }],
    [true, { op: 'replace', path: '/spec/paused', value: false }],
  ])('unpauses only while paused; pausedWasSet=%s puts back what was there', (wasSet, second) => {
    expect(unpausePatch(wasSet)).toEqual([{ op: 'test', path: '/spec/paused', value: true }, second])
  })
})
