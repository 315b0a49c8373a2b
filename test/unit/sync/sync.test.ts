import { describe, expect, it } from 'vitest'
import {
  SyncFailedError,
  completion,
  failureMemo,
  noteMover,
  removeTriggerPatch,
  syncCheck,
  syncProgress,
  tookText,
  type FailureKind,
  type Syncable,
} from '../../../lib/sync/machine.ts'
import type { MoverStatus, SyncStatus } from '../../../lib/volsync/objects.ts'

const LOCKED: MoverStatus = { result: 'Failed', logs: 'unable to create lock in backend: repository is already locked by PID 27' }
const LOCKED_AGAIN: MoverStatus = { result: 'Failed', logs: 'unable to create lock in backend: repository is already locked by PID 31' }
const OK: MoverStatus = { result: 'Successful', logs: 'processed 3 files, 1 KiB in 0:01\nsnapshot 1a2b3c4d saved' }

function source(status: SyncStatus = {}, manual = 'tok'): Syncable {
  return {
    metadata: { name: 'odoo-backup', namespace: 'business', resourceVersion: '1' },
    spec: { trigger: { schedule: '0 */8 * * *', manual } },
    status,
  }
}

describe('noteMover: a new failure or the one that was there', () => {
  const cases: { name: string; baseline?: MoverStatus; seen: (MoverStatus | undefined)[]; expected: FailureKind[] }[] = [
    { name: 'no status before: any Failed is new', seen: [undefined, LOCKED], expected: ['none', 'fresh'] },
    { name: 'Successful before: a Failed is new', baseline: OK, seen: [OK, LOCKED], expected: ['none', 'fresh'] },
    {
      name: 'Failed before, the same Failed again: not news (stale)',
      baseline: LOCKED,
      seen: [LOCKED, LOCKED, LOCKED],
      expected: ['stale', 'stale', 'stale'],
    },
    {
      name: 'Failed before, then a Failed with another log: a later Job failed',
      baseline: LOCKED,
      seen: [LOCKED, LOCKED_AGAIN],
      expected: ['stale', 'fresh'],
    },
    {
      name: 'Failed before, a success in between, then the very same Failed: new',
      baseline: LOCKED,
      seen: [LOCKED, OK, LOCKED],
      expected: ['stale', 'none', 'fresh'],
    },
    {
      name: 'Failed before, the status not written yet (no mover status seen): still a success in between',
      baseline: LOCKED,
      seen: [undefined, LOCKED],
      expected: ['none', 'fresh'],
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      let memo = failureMemo(c.baseline)
      const got = c.seen.map((m) => {
        const r = noteMover(memo, m)
        memo = r.memo
        return r.failure
      })
      expect(got).toEqual(c.expected)
    })
  }
})

describe('completion', () => {
  it('is undefined until lastManualSync carries the token', () => {
    expect(completion(source({ lastManualSync: 'older' }), 'tok')).toBeUndefined()
    expect(completion(source({}), 'tok')).toBeUndefined()
  })

  it('reads result, logs, the snapshot id and the duration once it does', () => {
    const done = completion(
      source({ lastManualSync: 'tok', lastSyncTime: '2026-11-26T04:00:00Z', lastSyncDuration: '1m3.5s', latestMoverStatus: OK }),
      'tok',
    )
    expect(done).toMatchObject({ result: 'Successful', lastSyncTime: '2026-11-26T04:00:00Z', durationMs: 63_500 })
    expect(done?.facts.savedSnapshot).toBe('1a2b3c4d')
  })

  it('has null fields when VolSync wrote none', () => {
    expect(completion(source({ lastManualSync: 'tok' }), 'tok')).toMatchObject({
      result: null,
      logs: '',
      lastSyncTime: null,
      durationMs: null,
    })
  })
})

describe('syncCheck (ReplicationDestinations use it through waitForSync)', () => {
  type Step = { status: SyncStatus; expect: 'wait' | 'done' | 'throw' }
  const cases: { name: string; baseline?: MoverStatus; steps: Step[] }[] = [
    {
      name: 'waits while syncing, done when lastManualSync shows the token',
      steps: [
        { status: { lastSyncStartTime: '2026-11-26T04:00:00Z' }, expect: 'wait' },
        { status: { lastManualSync: 'tok', latestMoverStatus: OK }, expect: 'done' },
      ],
    },
    {
      name: 'a mover failure during our sync ends the wait',
      baseline: OK,
      steps: [
        { status: { lastSyncStartTime: 'x', latestMoverStatus: OK }, expect: 'wait' },
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED }, expect: 'throw' },
      ],
    },
    {
      name: 'a stale Failed from an earlier sync does not, and the sync can still succeed',
      baseline: LOCKED,
      steps: [
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED }, expect: 'wait' },
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED }, expect: 'wait' },
        { status: { lastManualSync: 'tok', latestMoverStatus: OK }, expect: 'done' },
      ],
    },
    {
      name: 'a stale Failed that changes its log is a new failure',
      baseline: LOCKED,
      steps: [
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED }, expect: 'wait' },
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED_AGAIN }, expect: 'throw' },
      ],
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const check = syncCheck('tok', c.baseline)
      for (const step of c.steps) {
        if (step.expect === 'throw') {
          expect(() => check(source(step.status))).toThrow(SyncFailedError)
        } else {
          expect(check(source(step.status)).done).toBe(step.expect === 'done')
        }
      }
    })
  }

  it('puts the mover log under the failure message', () => {
    const check = syncCheck('tok', undefined)
    try {
      check(source({ lastSyncStartTime: 'x', latestMoverStatus: LOCKED }))
      expect.unreachable()
    } catch (err) {
      expect((err as SyncFailedError).message).toBe(
        'the mover of business/odoo-backup failed (VolSync keeps retrying it; stopped waiting). Its log:',
      )
      expect((err as SyncFailedError).details).toBe(LOCKED.logs)
    }
  })
})

describe('syncProgress and tookText', () => {
  it('names the condition when no sync runs', () => {
    const o = source({ conditions: [{ type: 'Synchronizing', status: 'False', reason: 'WaitingForManual', message: 'Waiting for manual trigger' }] })
    expect(syncProgress(o)).toBe('WaitingForManual: Waiting for manual trigger')
    expect(syncProgress(source({}))).toBe('waiting for VolSync')
  })

  it('says how long a sync took, or nothing', () => {
    expect(tookText({ result: 'Successful', logs: '', facts: {} as never, lastSyncTime: null, durationMs: 73_000 })).toBe('took 1m13s')
    expect(tookText({ result: 'Successful', logs: '', facts: {} as never, lastSyncTime: null, durationMs: null })).toBe('')
  })
})

describe('removeTriggerPatch', () => {
  it('removes spec.trigger.manual only while it holds our token', () => {
    expect(removeTriggerPatch('tok')).toEqual([
      { op: 'test', path: '/spec/trigger/manual', value: 'tok' },
      { op: 'remove', path: '/spec/trigger/manual' },
    ])
  })

  it('with a schedule, also only while that schedule is still set (else VolSync would sync continuously)', () => {
    expect(removeTriggerPatch('tok', '0 */8 * * *')).toEqual([
      { op: 'test', path: '/spec/trigger/manual', value: 'tok' },
      { op: 'test', path: '/spec/trigger/schedule', value: '0 */8 * * *' },
      { op: 'remove', path: '/spec/trigger/manual' },
    ])
  })
})
