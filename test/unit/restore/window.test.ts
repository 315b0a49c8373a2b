// The restore window: backups held (backups.ts), the snapshot pinned
// (pin.ts), the mover's progress and other pods on the PVC (progress.ts).
import { describe, expect, it } from 'vitest'
import { OperationError, UsageError } from '../../../lib/errors.ts'
import {
  copyTriggerKeys,
  holdCopyPatch,
  releaseCopyPatch,
  runningSyncRefusal,
  sourceCopy,
  windowCheck,
} from '../../../lib/restore/backups.ts'
import { pinPoint } from '../../../lib/restore/pin.ts'
import {
  crc32,
  intruder,
  isStalled,
  moverJobName,
  percentOf,
  seeLogLine,
  seePod,
  stallAfterMs,
  stalledText,
  startProgress,
} from '../../../lib/restore/progress.ts'
import type { Pod } from '../../../lib/pods.ts'
import { resolveRestorePoint, withOffsets, type ResticSnapshot } from '../../../lib/snapshots/restic.ts'
import type { ReplicationSource } from '../../../lib/volsync/objects.ts'

const source = (over: { paused?: boolean; copyMethod?: string; status?: ReplicationSource['status'] } = {}): ReplicationSource => ({
  metadata: { name: 'odoo-backup', namespace: 'business' },
  spec: { sourcePVC: 'odoo-data', paused: over.paused, restic: { repository: 'r', copyMethod: over.copyMethod ?? 'Direct' } },
  status: over.status,
})

describe('holding VolSync copies of the PVC', () => {
  it('needs nothing for Direct, the copy trigger for Snapshot/Clone, and leaves a PVC using the trigger already alone', () => {
    expect(copyTriggerKeys({}, 'Direct')).toEqual([])
    expect(copyTriggerKeys({}, 'Clone')).toEqual([
      'volsync.backube/use-copy-trigger',
      'volsync.backube/latest-copy-status',
      'volsync.backube/latest-copy-trigger-waiting-since',
    ])
    expect(copyTriggerKeys({ 'volsync.backube/latest-copy-status': 'Completed' }, 'Snapshot')).toEqual([
      'volsync.backube/use-copy-trigger',
      'volsync.backube/latest-copy-trigger-waiting-since',
    ])
    expect(copyTriggerKeys({ 'volsync.backube/use-copy-trigger': 'true' }, 'Snapshot')).toEqual([])
  })
  it('removes only what is there, only while the trigger is still the restore’s', () => {
    expect(holdCopyPatch).toEqual({ metadata: { annotations: { 'volsync.backube/use-copy-trigger': 'held-by-volsync-ops-restore' } } })
    const keys = copyTriggerKeys({}, 'Snapshot')
    expect(releaseCopyPatch(keys, { 'volsync.backube/use-copy-trigger': 'held-by-volsync-ops-restore', 'volsync.backube/latest-copy-status': 'WaitingForTrigger', other: 'x' })).toEqual([
      { op: 'test', path: '/metadata/annotations/volsync.backube~1use-copy-trigger', value: 'held-by-volsync-ops-restore' },
      { op: 'remove', path: '/metadata/annotations/volsync.backube~1use-copy-trigger' },
      { op: 'remove', path: '/metadata/annotations/volsync.backube~1latest-copy-status' },
    ])
  })
  it('names the copy a sync freezes', () => {
    expect(sourceCopy('odoo-backup', 'Snapshot')).toEqual({ resource: 'volumesnapshots.snapshot.storage.k8s.io', name: 'volsync-odoo-backup-src' })
    expect(sourceCopy('odoo-backup', 'Clone')).toEqual({ resource: 'persistentvolumeclaims', name: 'volsync-odoo-backup-src' })
    expect(sourceCopy('odoo-backup', 'Direct')).toBeUndefined()
  })
})

describe('runningSyncRefusal: a sync running when the restore starts', () => {
  const running = { lastSyncStartTime: '2026-11-26T04:00:00Z' }
  it('is no matter when none runs', () => {
    expect(runningSyncRefusal(source(), false, 'x')).toBeUndefined()
  })
  it('refuses an unpaused one: wait for it', () => {
    expect(runningSyncRefusal(source({ status: running }), false, 'task volsync:status')?.message).toMatch(
      /^a backup of business\/odoo-backup is running \(since 2026-11-26T04:00:00Z\).*Nothing was changed\. Wait until it ends.*\n  task volsync:status$/s,
    )
  })
  it('refuses a paused one that froze a copy (it would upload pre-restore data), and lets one without a copy through', () => {
    expect(runningSyncRefusal(source({ paused: true, copyMethod: 'Snapshot', status: running }), true, 'x')?.message).toMatch(
      /paused with a sync in progress .* frozen a copy .*volsync-odoo-backup-src.* BEFORE the restore/,
    )
    expect(runningSyncRefusal(source({ paused: true, copyMethod: 'Snapshot', status: running }), false, 'x')).toBeUndefined()
    expect(runningSyncRefusal(source({ paused: true, status: running }), false, 'x')).toBeUndefined()
  })
})

describe('windowCheck: right before the ReplicationDestination, with backups held', () => {
  const before = { lastSyncTime: '2026-11-26T03:00:00Z' }
  it('is ok when no backup ran since the listing', () => {
    expect(windowCheck(before, source({ status: before }), false)).toBe('ok')
  })
  it('lists again when a backup finished or started since (a paused one cannot run now)', () => {
    expect(windowCheck(before, source({ status: { lastSyncTime: '2026-11-26T04:00:10Z' } }), false)).toBe('relist')
    expect(windowCheck(before, source({ status: { ...before, lastSyncStartTime: '2026-11-26T04:00:00Z' } }), false)).toBe('relist')
  })
  it('refuses a backup that froze a copy of the data before the hold', () => {
    const started = { ...before, lastSyncStartTime: '2026-11-26T04:00:00Z' }
    expect(windowCheck(before, source({ copyMethod: 'Clone', status: started }), true)).toBeInstanceOf(OperationError)
    expect(windowCheck(before, source({ copyMethod: 'Clone', status: started }), false)).toBe('relist')
  })
})

// ---------------------------------------------------------------- pinning

const snap = (id: string, time: string, paths = ['/data']): ResticSnapshot => ({ id: id.padEnd(64, '0'), short_id: id, time, paths, hostname: 'volsync' })
const A = snap('aaaaaaaa', '2026-11-25T04:00:09.1Z')
const B = snap('bbbbbbbb', '2026-11-25T12:00:07.2Z')
const C = snap('cccccccc', '2026-11-25T20:00:05.3Z')

describe('pinPoint: restore exactly the planned snapshot', () => {
  const listed = withOffsets([A, B, C])
  it.each([
    ['the latest', { kind: 'latest' as const }, 'cccccccc', '2026-11-25T20:00:05Z'],
    ['an offset', { kind: 'offset' as const, previous: 1 }, 'bbbbbbbb', '2026-11-25T12:00:07Z'],
    ['an id', { kind: 'id' as const, id: 'aaaaaaaa' }, 'aaaaaaaa', '2026-11-25T04:00:09Z'],
    ['a time (the snapshot’s own second, not the time given)', { kind: 'time' as const, time: new Date('2026-11-25T13:00:00Z'), text: 'x' }, 'bbbbbbbb', '2026-11-25T12:00:07Z'],
  ])('pins %s to restoreAsOf at its second, previous 0', (_name, selector, id, asOf) => {
    const pinned = pinPoint(resolveRestorePoint(listed, selector), listed)
    expect(pinned).toMatchObject({ previous: 0, restoreAsOf: asOf, snapshot: { short_id: id } })
  })
  it('stays exact when newer snapshots arrive (an offset would shift)', () => {
    const planned = pinPoint(resolveRestorePoint(listed, { kind: 'offset', previous: 1 }), listed)
    const later = withOffsets([A, B, C, snap('dddddddd', '2026-11-26T04:00:00Z')])
    expect(pinPoint(planned, later, true)).toMatchObject({ restoreAsOf: '2026-11-25T12:00:07Z', snapshot: { short_id: 'bbbbbbbb' } })
  })
  it('refuses a snapshot with a twin in the same second (the mover may take either)', () => {
    const twins = withOffsets([A, B, snap('b2b2b2b2', '2026-11-25T12:00:07.9Z')])
    const planned = { previous: 0, snapshot: twins.find((s) => s.short_id === 'bbbbbbbb')! }
    expect(() => pinPoint(planned, twins)).toThrow(/cannot be restored exactly: b2b2b2b2 was taken in the same second .* Nothing was changed\./)
  })
  it('refuses, after the second listing, a planned snapshot that is gone', () => {
    const planned = pinPoint(resolveRestorePoint(listed, { kind: 'latest' }), listed)
    expect(() => pinPoint(planned, withOffsets([A, B]), true)).toThrow(/snapshot cccccccc is no longer in the repository .*Everything is put back; nothing was restored\./)
  })
  it('refuses when a newer multi-path snapshot makes the mover’s list unreadable', () => {
    const odd = withOffsets([A, B, snap('eeeeeeee', '2026-11-26T00:00:00Z', ['/data', '/data2'])])
    const planned = { previous: 2, snapshot: odd.find((s) => s.short_id === 'aaaaaaaa')! }
    expect(() => pinPoint(planned, odd)).toThrow(/several paths/)
  })
})

// ---------------------------------------------------------------- progress

const pod = (name: string, phase: string, over: Partial<Pod['metadata']> = {}, claim = 'odoo-data'): Pod => ({
  metadata: { name, labels: { 'job-name': 'volsync-dst-odoo-restore-20261126040000' }, ...over },
  spec: { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] },
  status: { phase: phase as 'Running', containerStatuses: [{ name: 'restic', state: { running: {} } }] },
})

describe('the mover’s progress', () => {
  it('names the Job as VolSync does: volsync-dst-<name>, the crc32 of the name past 63 characters', () => {
    expect(crc32('odoo-restore-20261126075500').toString(16)).toBe('be0b7168') // Go: crc32.ChecksumIEEE
    expect(moverJobName('odoo-restore-20261126075500')).toBe('volsync-dst-odoo-restore-20261126075500')
    expect(moverJobName('a-very-long-application-name-of-forty-c-restore-20261126075500')).toBe('volsync-dst-1828a810')
  })
  it('counts restic status lines only when more is written (the elapsed time aside), and any other line', () => {
    let p = startProgress(0)
    p = seeLogLine(p, '[0:10] 10.00%  3 files/dirs 1.000 MiB, total 30 files/dirs 10.000 MiB', 10_000)
    expect(p.at).toBe(10_000)
    p = seeLogLine(p, '[0:20] 10.00%  3 files/dirs 1.000 MiB, total 30 files/dirs 10.000 MiB', 20_000)
    expect(p.at).toBe(10_000) // the same numbers: nothing was written
    expect(percentOf(p)).toBe('10.00%')
    p = seeLogLine(p, '[0:30] 20.00%  6 files/dirs 2.000 MiB, total 30 files/dirs 10.000 MiB', 30_000)
    expect(p.at).toBe(30_000)
    p = seeLogLine(p, 'Summary: Restored 30 files/dirs (10.000 MiB) in 0:40', 40_000)
    expect(p.at).toBe(40_000)
  })
  it.each([
    ['a retry warning (the repository is gone)', 'Load(<data/8f3c2a1b>, 0, 0) returned error, retrying after 1.382s: dial tcp 127.0.0.1:9000: connect: connection refused', false],
    ['another, a longer wait', 'List(lock) returned error, retrying after 41.2s: Get "http://s3/": EOF', false],
    ['a retry that worked', 'Load(<data/8f3c2a1b>, 0, 0) operation successful after 3 retries', true],
    ['a status line with new numbers', '[0:50] 20.00%  6 files/dirs 2.000 MiB, total 30 files/dirs 10.000 MiB', true],
  ])('%s: progress %s', (_, line, progress) => {
    const before = seeLogLine(startProgress(0), '[0:40] 10.00%  3 files/dirs 1.000 MiB, total 30 files/dirs 10.000 MiB', 0)
    const after = seeLogLine(before, line, 5_000)
    expect(after.at === 5_000).toBe(progress)
    expect(after.lastLine).toBe(line)
  })
  it('counts a new mover pod and a change of its state', () => {
    let p = startProgress(0)
    p = seePod(p, pod('m-1', 'Pending'), 5)
    expect(p.at).toBe(5)
    p = seePod(p, pod('m-1', 'Pending'), 9)
    expect(p.at).toBe(5)
    p = seePod(p, pod('m-1', 'Running'), 12)
    expect(p.at).toBe(12)
    p = seePod(p, pod('m-1', 'Running'), 20, true)
    expect(p.at).toBe(20)
  })
  it('is stalled after the window without a sign, and says what it saw', () => {
    let p = seePod(startProgress(0), pod('m-1', 'Running'), 0)
    p = seeLogLine(p, '[1:00] 50.00%  1 files/dirs 5 MiB, total 2 files/dirs 10 MiB', 0)
    expect(isStalled(p, 59_999, 60_000)).toBe(false)
    expect(isStalled(p, 60_000, 60_000)).toBe(true)
    expect(stalledText(p, 60_000)).toBe(
      'the restore mover made no progress for 1m (its pods: m-1 (Running, restic running); the last log line: ' +
        '[1:00] 50.00%  1 files/dirs 5 MiB, total 2 files/dirs 10 MiB)',
    )
    expect(stalledText(startProgress(0), 1_800_000)).toMatch(/no progress for 30m \(no mover pod has appeared/)
  })
  it('takes the stall window from VOLSYNC_OPS_STALL_AFTER (30m by default)', () => {
    expect(stallAfterMs({})).toBe(30 * 60_000)
    expect(stallAfterMs({ VOLSYNC_OPS_STALL_AFTER: '90s' })).toBe(90_000)
    expect(() => stallAfterMs({ VOLSYNC_OPS_STALL_AFTER: 'soon' })).toThrow(UsageError)
  })
  it('tells another pod on the PVC from the mover', () => {
    const job = 'volsync-dst-odoo-restore-20261126040000'
    expect(intruder(pod('m-1', 'Running'), 'odoo-data', job)).toBe(false)
    expect(intruder(pod('debug', 'Running', { labels: {} }), 'odoo-data', job)).toBe(true)
    expect(intruder(pod('debug', 'Succeeded', { labels: {} }), 'odoo-data', job)).toBe(false)
    expect(intruder(pod('other', 'Running', { labels: {} }, 'x-data'), 'odoo-data', job)).toBe(false)
  })
})
