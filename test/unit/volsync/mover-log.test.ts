import { describe, expect, it } from 'vitest'
import { readMoverLogs } from '../../../lib/volsync/mover-log.ts'

const SAVED_LOG = [
  'repository 9f3a2b1c opened (version 2, compression level auto)',
  'using parent snapshot 4b1e6f2a',
  'Added to the repository: 1.234 MiB (402.118 KiB stored)',
  'processed 1532 files, 812.331 MiB in 0:04',
  'snapshot 7c2d9e41 saved',
  'Restic completed in 7s',
].join('\n')

/** A healthy source: scheduled, synced 2h ago, next sync in 6h. */
describe('readMoverLogs', () => {
  const none = {
    savedSnapshot: undefined,
    restoredSnapshot: undefined,
    nothingToRestore: false,
    emptySource: false,
    initializedRepository: false,
    lockError: false,
    copyTriggerTimeout: undefined,
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
    [
      // as VolSync v0.16.0 writes it in place of a log (recorded by the e2e tier: doctor.bats)
      "VolSync's copy-trigger timeout",
      'Timed out waiting for copy-trigger to be modified for pvc web-data',
      {
        copyTriggerTimeout: 'web-data',
        errorLines: ['Timed out waiting for copy-trigger to be modified for pvc web-data'],
        errorSummary: 'Timed out waiting for copy-trigger to be modified for pvc web-data',
      },
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
