import { describe, expect, it } from 'vitest'
import type { JobTrack } from '../../../lib/sync/jobs.ts'
import {
  MAX_TRIGGERS,
  afterTrigger,
  allSettled,
  completion,
  failureMemo,
  isSettled,
  liftFence,
  moverGaveUp,
  noteMover,
  observe,
  removeTriggerPatch,
  removedLocks,
  startRun,
  afterwardsOf,
  afterPutBack,
  cleanupPlan,
  errorDeadline,
  expireError,
  presumed,
  putBackDue,
  putBackPatch,
  putBackRefused,
  ERROR_GRACE_MS,
  type Afterwards,
  type CleanupPlan,
  triggerPatch,
  triggerRefused,
  whoseMover,
  type Failure,
  type FailureKind,
  type Phase,
  type Purpose,
  type SyncRun,
  type Syncable,
} from '../../../lib/sync/engine.ts'
import type { MoverStatus, ReplicationDestination, ReplicationSource, SyncStatus } from '../../../lib/volsync/objects.ts'

const LOCKED: MoverStatus = { result: 'Failed', logs: 'unable to create lock in backend: repository is already locked by PID 27' }
const BADPASS: MoverStatus = { result: 'Failed', logs: 'ERROR: failure connecting to repository, incorrect password' }
const LOCKED_AGAIN: MoverStatus = { result: 'Failed', logs: 'unable to create lock in backend: repository is already locked by PID 31' }
const OK: MoverStatus = { result: 'Successful', logs: 'snapshot 1a2b3c4d saved' }
const NOW = '2026-11-26T04:00:00Z'
const T0 = Date.parse(NOW)

/** A ReplicationSource as the API returns it; `s` overrides spec/status fields. */
function rs(
  s: {
    rv?: string
    manual?: string
    schedule?: string | null
    paused?: boolean
    running?: boolean
    lastManualSync?: string
    mover?: MoverStatus
    lastUnlocked?: string
    /** lastSyncStartTime (running: true sets NOW) */
    since?: string
    lastSyncTime?: string
    /** the Synchronizing condition: reason Error with this message */
    error?: string
  } = {},
): ReplicationSource {
  const trigger: { schedule?: string; manual?: string } = {}
  if (s.schedule !== null) trigger.schedule = s.schedule ?? '0 */8 * * *'
  if (s.manual !== undefined) trigger.manual = s.manual
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationSource',
    metadata: { name: 'odoo-backup', namespace: 'business', resourceVersion: s.rv ?? '100' },
    spec: { sourcePVC: 'odoo-data', trigger, ...(s.paused ? { paused: true } : {}), restic: { repository: 'volsync-r2-secret' } },
    status: {
      lastSyncTime: s.lastSyncTime ?? '2026-11-26T02:00:00Z',
      ...(s.running || s.since ? { lastSyncStartTime: s.since ?? NOW } : {}),
      ...(s.error ? { conditions: [{ type: 'Synchronizing', status: 'False', reason: 'Error', message: s.error }] } : {}),
      ...(s.lastManualSync ? { lastManualSync: s.lastManualSync } : {}),
      lastSyncDuration: '1m3s',
      latestMoverStatus: s.mover ?? OK,
      ...(s.lastUnlocked ? { restic: { lastUnlocked: s.lastUnlocked } } : {}),
    },
  }
}

/** The ReplicationDestination a restore created (its trigger set), with `status`. */
function rd(status: SyncStatus = {}): ReplicationDestination {
  return {
    apiVersion: 'volsync.backube/v1alpha1',
    kind: 'ReplicationDestination',
    metadata: { name: 'odoo-restore-20261126040000', namespace: 'business', uid: 'rd-uid', resourceVersion: '1' },
    spec: { trigger: { manual: 'restore-tok' }, restic: { repository: 'volsync-r2-secret', destinationPVC: 'odoo-data' } },
    status,
  }
}

/** Runs `purpose` from `start` through the patch (when ready) and the observed states. */
function play(purpose: Purpose, start: Syncable, response: Syncable | null, seen: Syncable[]) {
  let run = startRun(purpose, start)
  const phases: Phase['kind'][] = [run.phase.kind]
  if (run.phase.kind === 'ready' && response) {
    run = afterTrigger(run, 'tok1', response)
    phases.push(run.phase.kind)
  }
  run = liftFence(run)
  for (const o of seen) {
    run = observe(run, o, T0)
    phases.push(run.phase.kind)
  }
  return { run, phases }
}

describe('triggerPatch', () => {
  it('snapshot: sets only the manual trigger', () => {
    expect(triggerPatch('snapshot', 't')).toEqual({ spec: { trigger: { manual: 't' } } })
  })
  it('unlock: sets the unlock and the manual trigger in the same patch (the unlock only runs in a sync)', () => {
    expect(triggerPatch('unlock', 't')).toEqual({ spec: { trigger: { manual: 't' }, restic: { unlock: 't' } } })
  })
})

describe('startRun', () => {
  const cases: { name: string; purpose: Purpose; source: Syncable; phase: Phase['kind'] }[] = [
    { name: 'an idle source is triggered at once', purpose: 'snapshot', source: rs(), phase: 'ready' },
    { name: 'a running sync is waited for first', purpose: 'snapshot', source: rs({ running: true }), phase: 'busy' },
    {
      name: 'a running sync whose mover failed is waited for too (a retry may succeed)',
      purpose: 'snapshot',
      source: rs({ running: true, mover: LOCKED }),
      phase: 'busy',
    },
    { name: 'a paused source is skipped', purpose: 'snapshot', source: rs({ paused: true }), phase: 'skipped' },
    { name: 'unlock: an idle source is triggered at once', purpose: 'unlock', source: rs(), phase: 'ready' },
    { name: 'unlock: a healthy running sync is waited for', purpose: 'unlock', source: rs({ running: true }), phase: 'busy' },
    {
      name: 'unlock: a running sync whose mover failed gets the unlock at once',
      purpose: 'unlock',
      source: rs({ running: true, mover: LOCKED }),
      phase: 'ready',
    },
    { name: 'unlock: a paused source is skipped', purpose: 'unlock', source: rs({ paused: true }), phase: 'skipped' },
    { name: 'restore: a destination created with its trigger waits for that token at once', purpose: 'restore', source: rd(), phase: 'syncing' },
  ]
  for (const c of cases) {
    it(c.name, () => expect(startRun(c.purpose, c.source).phase.kind).toBe(c.phase))
  }

  it('records the schedule and a manual trigger that was already set', () => {
    const run = startRun('snapshot', rs({ manual: 'left-over' }))
    expect(run).toMatchObject({ ref: 'business/odoo-backup', schedule: '0 */8 * * *', manualBefore: 'left-over', triggers: 0 })
    expect(startRun('snapshot', rs({ schedule: null })).schedule).toBeNull()
  })

  it('a source that syncs continuously (no schedule, no manual trigger) is triggered at once, though a sync runs', () => {
    expect(startRun('snapshot', rs({ schedule: null, running: true })).phase.kind).toBe('ready')
    expect(startRun('unlock', rs({ schedule: null, running: true })).phase.kind).toBe('ready')
    // parked without a schedule: a running sync is one somebody asked for: waited for
    expect(startRun('snapshot', rs({ schedule: null, manual: 'theirs', running: true })).phase.kind).toBe('busy')
  })

  it('follows ReplicationSources for snapshot and unlock, ReplicationDestinations for restore', () => {
    expect(startRun('snapshot', rs()).resource).toBe('replicationsources.volsync.backube')
    expect(startRun('unlock', rs()).resource).toBe('replicationsources.volsync.backube')
    expect(startRun('restore', rd()).resource).toBe('replicationdestinations.volsync.backube')
  })

  it('restore: no trigger of ours to set or remove, no schedule; a destination without a trigger cannot report back', () => {
    const run = startRun('restore', rd())
    expect(run).toMatchObject({ ref: 'business/odoo-restore-20261126040000', schedule: null, triggers: 0 })
    expect(run.phase).toMatchObject({ kind: 'syncing', token: 'restore-tok', foreign: false })
    expect(run.afterwards).toEqual({ kind: 'none' })
    const bare = rd()
    delete bare.spec.trigger
    expect(startRun('restore', bare).phase).toEqual({ kind: 'failed', failure: { kind: 'trigger-removed' }, logs: '', triggered: false })
  })
})

describe('afterTrigger', () => {
  it('waits for the token, fenced at the resourceVersion of the patch response', () => {
    const run = afterTrigger(startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', rv: '101' }))
    expect(run.phase).toMatchObject({ kind: 'syncing', token: 'tok1', foreign: false })
    expect(run).toMatchObject({ fence: '101', triggers: 1 })
  })

  it('snapshot: a sync running in the response started before our patch: it is foreign', () => {
    const run = afterTrigger(startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', running: true }))
    expect(run.phase).toMatchObject({ kind: 'syncing', foreign: true })
  })

  it('unlock: a running sync in the response is fine (it runs the unlock before it can finish)', () => {
    const run = afterTrigger(startRun('unlock', rs()), 'tok1', rs({ manual: 'tok1', running: true }))
    expect(run.phase).toMatchObject({ kind: 'syncing', foreign: false })
  })

  it('a refused patch fails the run without a trigger', () => {
    expect(triggerRefused(startRun('snapshot', rs()), 'forbidden').phase).toEqual({
      kind: 'failed',
      failure: { kind: 'trigger-refused', error: 'forbidden' },
      logs: '',
      triggered: false,
    })
  })
})

describe('observe: snapshot', () => {
  const cases: {
    name: string
    start: ReplicationSource
    response?: ReplicationSource
    seen: ReplicationSource[]
    phases: Phase['kind'][]
    failure?: Failure
  }[] = [
    {
      name: 'our sync runs, then completes with our token',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ manual: 'tok1', running: true, rv: '102' }), rs({ manual: 'tok1', lastManualSync: 'tok1', rv: '103' })],
      phases: ['ready', 'syncing', 'syncing', 'succeeded'],
    },
    {
      name: 'a running sync ends, then the source is ready to trigger',
      start: rs({ running: true }),
      seen: [rs({ running: true, rv: '101' }), rs({ rv: '102' })],
      phases: ['busy', 'busy', 'ready'],
    },
    {
      name: 'the running sync fails anew while we wait for it: stop before triggering',
      start: rs({ running: true, mover: LOCKED }),
      seen: [rs({ running: true, mover: LOCKED, rv: '101' }), rs({ running: true, mover: BADPASS, rv: '102' })],
      phases: ['busy', 'busy', 'failed'],
      failure: { kind: 'running-failed' },
    },
    {
      name: 'our mover fails: stop',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ manual: 'tok1', running: true, mover: LOCKED, rv: '102' })],
      phases: ['ready', 'syncing', 'failed'],
      failure: { kind: 'mover-failed' },
    },
    {
      name: 'a Failed already there when we triggered is not ours',
      start: rs(),
      response: rs({ manual: 'tok1', mover: LOCKED, rv: '101' }),
      seen: [rs({ manual: 'tok1', running: true, mover: LOCKED, rv: '102' }), rs({ manual: 'tok1', lastManualSync: 'tok1', rv: '103' })],
      phases: ['ready', 'syncing', 'syncing', 'succeeded'],
    },
    {
      name: 'the sync that raced our patch completes with our token: trigger again',
      start: rs(),
      response: rs({ manual: 'tok1', running: true, rv: '101' }),
      seen: [rs({ manual: 'tok1', lastManualSync: 'tok1', rv: '102' })],
      phases: ['ready', 'syncing', 'ready'],
    },
    {
      name: 'our sync completes, but the mover reports Failed',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ manual: 'tok1', lastManualSync: 'tok1', mover: BADPASS, rv: '102' })],
      phases: ['ready', 'syncing', 'failed'],
      failure: { kind: 'completed-failed' },
    },
    {
      name: 'someone else sets another manual trigger while we wait',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ manual: 'theirs', running: true, rv: '102' })],
      phases: ['ready', 'syncing', 'failed'],
      failure: { kind: 'trigger-changed', manual: 'theirs' },
    },
    {
      name: 'someone else removes the manual trigger while we wait',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ running: true, rv: '102' })],
      phases: ['ready', 'syncing', 'failed'],
      failure: { kind: 'trigger-removed' },
    },
    {
      name: 'the source is paused while we wait',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ manual: 'tok1', running: true, paused: true, rv: '102' })],
      phases: ['ready', 'syncing', 'failed'],
      failure: { kind: 'paused' },
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const { run, phases } = play('snapshot', c.start, c.response ?? null, c.seen)
      expect(phases).toEqual(c.phases)
      if (c.failure) expect(run.phase).toMatchObject({ kind: 'failed', failure: c.failure })
    })
  }

  it('reports the outcome of the sync that carried our token', () => {
    const { run } = play('snapshot', rs(), rs({ manual: 'tok1' }), [rs({ manual: 'tok1', lastManualSync: 'tok1', rv: '7' })])
    expect(run.phase).toMatchObject({ kind: 'succeeded', token: 'tok1', outcome: { result: 'Successful', durationMs: 63_000 } })
  })

  it('keeps the mover log of a failure', () => {
    const { run } = play('snapshot', rs(), rs({ manual: 'tok1' }), [rs({ manual: 'tok1', running: true, mover: BADPASS, rv: '7' })])
    expect(run.phase).toMatchObject({ kind: 'failed', logs: BADPASS.logs, triggered: true })
  })

  it(`gives up after ${MAX_TRIGGERS} triggers that each raced a sync`, () => {
    let run = startRun('snapshot', rs())
    for (let i = 1; i <= MAX_TRIGGERS; i++) {
      expect(run.phase.kind).toBe('ready')
      run = liftFence(afterTrigger(run, `tok${i}`, rs({ manual: `tok${i}`, running: true })))
      run = observe(run, rs({ manual: `tok${i}`, lastManualSync: `tok${i}`, rv: `${i}` }), T0)
    }
    expect(run.phase).toMatchObject({ kind: 'failed', failure: { kind: 'raced' } })
    expect(run.triggers).toBe(MAX_TRIGGERS)
  })
})

describe('observe: the fence against events older than our patch', () => {
  it('ignores events until the one of our patch, then reads them', () => {
    let run = afterTrigger(startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', rv: '101' }))
    // queued before our patch: the old trigger; would read as "removed by someone else"
    run = observe(run, rs({ rv: '100' }), T0)
    expect(run.phase.kind).toBe('syncing')
    expect(run.fence).toBe('101')
    run = observe(run, rs({ manual: 'tok1', rv: '101' }), T0)
    expect(run.fence).toBeUndefined()
    run = observe(run, rs({ rv: '102' }), T0)
    expect(run.phase.kind).toBe('failed')
  })

  it('a new watch starts from the present: liftFence', () => {
    const run = afterTrigger(startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', rv: '101' }))
    expect(liftFence(run).fence).toBeUndefined()
    const lifted = liftFence(run)
    expect(liftFence(lifted)).toBe(lifted)
  })

  it('a deletion is never fenced off', () => {
    const run = afterTrigger(startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', rv: '101' }))
    expect(observe(run, rs({ rv: '109' }), T0, true).phase).toMatchObject({
      kind: 'failed',
      failure: { kind: 'deleted' },
      triggered: true,
    })
  })
})

describe('observe: unlock', () => {
  const done = (o: { lastUnlocked?: string }) =>
    rs({ manual: 'tok1', lastManualSync: 'tok1', rv: '103', ...o })
  it('succeeds when lastManualSync and lastUnlocked both show the token', () => {
    const { run, phases } = play('unlock', rs(), rs({ manual: 'tok1' }), [done({ lastUnlocked: 'tok1' })])
    expect(phases).toEqual(['ready', 'syncing', 'succeeded'])
    expect(run.phase).toMatchObject({ kind: 'succeeded', token: 'tok1' })
  })

  it('fails when the sync finished without recording the unlock', () => {
    const { run } = play('unlock', rs(), rs({ manual: 'tok1' }), [done({ lastUnlocked: 'older' })])
    expect(run.phase).toMatchObject({ kind: 'failed', failure: { kind: 'unlock-not-recorded', lastUnlocked: 'older' } })
  })

  it('joins a stuck sync: its old Failed is not news, a new one is', () => {
    const stuck = { running: true, mover: LOCKED }
    const a = play('unlock', rs(stuck), rs({ ...stuck, manual: 'tok1' }), [rs({ ...stuck, manual: 'tok1', rv: '5' }), done({ lastUnlocked: 'tok1' })])
    expect(a.phases).toEqual(['ready', 'syncing', 'syncing', 'succeeded'])
    const b = play('unlock', rs(stuck), rs({ ...stuck, manual: 'tok1' }), [rs({ running: true, mover: BADPASS, manual: 'tok1', rv: '5' })])
    expect(b.phases).toEqual(['ready', 'syncing', 'failed'])
  })

  it('a healthy running sync that then fails gets the unlock at once', () => {
    const { phases } = play('unlock', rs({ running: true }), null, [rs({ running: true, mover: LOCKED, rv: '5' })])
    expect(phases).toEqual(['busy', 'ready'])
  })
})

describe('observe: restore (a ReplicationDestination created with its trigger)', () => {
  type Step = { status: SyncStatus; phase: Phase['kind'] }
  const cases: { name: string; baseline?: MoverStatus; steps: Step[]; failure?: Failure }[] = [
    {
      name: 'waits while syncing, done when lastManualSync shows the token',
      steps: [
        { status: { lastSyncStartTime: '2026-11-26T04:00:00Z' }, phase: 'syncing' },
        { status: { lastManualSync: 'restore-tok', latestMoverStatus: OK }, phase: 'succeeded' },
      ],
    },
    {
      name: 'a mover failure during our sync ends the wait',
      baseline: OK,
      steps: [
        { status: { lastSyncStartTime: 'x', latestMoverStatus: OK }, phase: 'syncing' },
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED }, phase: 'failed' },
      ],
      failure: { kind: 'mover-failed' },
    },
    {
      name: 'a stale Failed from an earlier sync does not, and the sync can still succeed',
      baseline: LOCKED,
      steps: [
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED }, phase: 'syncing' },
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED }, phase: 'syncing' },
        { status: { lastManualSync: 'restore-tok', latestMoverStatus: OK }, phase: 'succeeded' },
      ],
    },
    {
      name: 'a stale Failed that changes its log is a new failure',
      baseline: LOCKED,
      steps: [
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED }, phase: 'syncing' },
        { status: { lastSyncStartTime: 'x', latestMoverStatus: LOCKED_AGAIN }, phase: 'failed' },
      ],
      failure: { kind: 'mover-failed' },
    },
    {
      name: 'a completed sync whose mover reports Failed is the restore verdict\'s to judge, not a wait failure',
      steps: [{ status: { lastManualSync: 'restore-tok', latestMoverStatus: BADPASS }, phase: 'succeeded' }],
    },
  ]
  it.each(cases)('$name', ({ baseline, steps, failure }) => {
    let run = startRun('restore', rd(baseline ? { latestMoverStatus: baseline } : {}))
    for (const step of steps) {
      run = observe(run, rd(step.status), T0)
      expect(run.phase.kind).toBe(step.phase)
    }
    if (failure) expect(run.phase).toMatchObject({ failure, logs: run.seen.status?.latestMoverStatus?.logs, triggered: true })
  })

  it('the destination deleted while waiting ends the wait', () => {
    expect(observe(startRun('restore', rd()), rd(), T0, true).phase).toMatchObject({ kind: 'failed', failure: { kind: 'deleted' } })
  })
})

describe('moverGaveUp: the mover Job of the awaited sync reached its backoffLimit', () => {
  const JOB: JobTrack = {
    uid: 'b7e1c9a2-3f4d-4e5a-8b6c-7d8e9f0a1b2c',
    name: 'volsync-src-odoo-backup',
    namespace: 'business',
    owner: '7f0c2d4e-5b1a-4c3e-9d8f-0a1b2c3d4e51',
    firstFailed: 0,
    failed: 8,
    limit: 8,
  }
  const POD_LOG = 'Fatal: wrong password or no key found\nERROR: failure connecting to repository, incorrect password'
  /** a run of `purpose` in `phase`, seen last as `seen` */
  function runIn(purpose: Purpose, phase: 'busy' | 'syncing', seen: Syncable): SyncRun {
    if (purpose === 'restore') return { ...startRun('restore', rd()), seen }
    let run = startRun(purpose, phase === 'busy' ? rs({ running: true, mover: OK }) : rs())
    if (phase === 'busy') expect(run.phase.kind).toBe('busy')
    else run = afterTrigger(run, 'tok1', rs({ manual: 'tok1' }))
    return { ...run, seen }
  }
  const cases: {
    name: string
    purpose: Purpose
    phase: 'busy' | 'syncing'
    seen: Syncable
    podLog: string
    after: Phase
  }[] = [
    {
      name: 'our sync failed, though VolSync\'s record looks as before: the pod log is kept',
      purpose: 'snapshot',
      phase: 'syncing',
      seen: rs({ manual: 'tok1', running: true }),
      podLog: POD_LOG,
      after: { kind: 'failed', failure: { kind: 'mover-gave-up', job: JOB }, logs: POD_LOG, triggered: true },
    },
    {
      name: 'our sync failed and VolSync\'s new record came first: that record is kept',
      purpose: 'unlock',
      phase: 'syncing',
      seen: rs({ manual: 'tok1', running: true, mover: LOCKED }),
      podLog: POD_LOG,
      after: { kind: 'failed', failure: { kind: 'mover-gave-up', job: JOB }, logs: LOCKED.logs!, triggered: true },
    },
    {
      name: 'no log at all (the view then says where VolSync keeps it)',
      purpose: 'snapshot',
      phase: 'syncing',
      seen: rs({ manual: 'tok1', running: true }),
      podLog: '',
      after: { kind: 'failed', failure: { kind: 'mover-gave-up', job: JOB }, logs: '', triggered: true },
    },
    {
      name: 'snapshot: the running sync failed again; nothing was triggered',
      purpose: 'snapshot',
      phase: 'busy',
      seen: rs({ running: true, mover: OK }),
      podLog: POD_LOG,
      after: { kind: 'failed', failure: { kind: 'running-gave-up', job: JOB }, logs: POD_LOG, triggered: false },
    },
    {
      name: 'restore: the destination\'s mover failed; its first record is kept',
      purpose: 'restore',
      phase: 'syncing',
      seen: rd({ lastSyncStartTime: 'x', latestMoverStatus: BADPASS }),
      podLog: POD_LOG,
      after: { kind: 'failed', failure: { kind: 'mover-gave-up', job: JOB }, logs: BADPASS.logs!, triggered: true },
    },
  ]
  it.each(cases)('$name', ({ purpose, phase, seen, podLog, after }) => {
    expect(moverGaveUp(runIn(purpose, phase, seen), JOB, podLog).phase).toEqual(after)
  })

  it('unlock: the running sync it waits for failed: it waits for VolSync\'s record, which lets it join', () => {
    const run = runIn('unlock', 'busy', rs({ running: true, mover: OK }))
    expect(moverGaveUp(run, JOB, POD_LOG)).toBe(run)
    expect(observe(run, rs({ running: true, mover: LOCKED }), T0).phase.kind).toBe('ready')
  })

  it('changes nothing once a run has settled or before it waits', () => {
    for (const run of [startRun('snapshot', rs()), startRun('snapshot', rs({ paused: true })), triggerRefused(startRun('snapshot', rs()), 'x')]) {
      expect(moverGaveUp(run, JOB, POD_LOG)).toBe(run)
    }
  })
})

describe('whoseMover: whose mover a Job runs, for the run that waits', () => {
  const job = (firstFailed: number): JobTrack => ({
    uid: 'u', name: 'volsync-src-odoo-backup', namespace: 'business', owner: 'o', firstFailed, failed: firstFailed, limit: 8,
  })
  const busy = startRun('snapshot', rs({ running: true }))
  const syncing = afterTrigger(startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1' }))
  it.each([
    { name: 'waiting for a running sync: its mover', run: busy, firstFailed: 0, of: 'running' },
    { name: 'waiting for a running sync: its mover, whatever failed before', run: busy, firstFailed: 5, of: 'running' },
    { name: 'waiting for ours: a Job first seen before any attempt failed is ours', run: syncing, firstFailed: 0, of: 'ours' },
    // failed attempts before the wait began: the sync before our trigger started it
    { name: 'waiting for ours: a Job that had failed attempts is not', run: syncing, firstFailed: 3, of: null },
    { name: 'restore: every Job of the destination it created is ours', run: startRun('restore', rd()), firstFailed: 3, of: 'ours' },
    { name: 'a run about to trigger waits for no Job', run: startRun('snapshot', rs()), firstFailed: 0, of: null },
    { name: 'a skipped run waits for no Job', run: startRun('snapshot', rs({ paused: true })), firstFailed: 0, of: null },
  ])('$name', ({ run, firstFailed, of }) => {
    expect(whoseMover(run, job(firstFailed))).toBe(of)
  })
})

describe('settled phases', () => {
  it('do not change any more', () => {
    const done = play('snapshot', rs(), rs({ manual: 'tok1' }), [rs({ manual: 'tok1', lastManualSync: 'tok1', rv: '3' })]).run
    expect(observe(done, rs({ rv: '9' }), T0, true)).toBe(done)
    const skipped = startRun('snapshot', rs({ paused: true }))
    expect(observe(skipped, rs(), T0)).toBe(skipped)
  })

  it('isSettled / allSettled', () => {
    expect((['skipped', 'succeeded', 'failed'] as const).every((kind) => isSettled({ kind } as Phase))).toBe(true)
    expect((['busy', 'ready', 'syncing'] as const).some((kind) => isSettled({ kind } as Phase))).toBe(false)
    expect(allSettled([startRun('snapshot', rs({ paused: true })), startRun('snapshot', rs())])).toBe(false)
    expect(allSettled([])).toBe(true)
  })
})

describe('afterwardsOf: the trigger is left as it was found', () => {
  const OURS = 'volsync-ops-snapshot-20261120T101500Z-q2w3e'
  it.each([
    { name: 'schedule, no manual trigger: remove ours, the schedule applies again', o: rs(), after: { kind: 'remove', schedule: '0 */8 * * *' } },
    { name: 'neither: remove ours, VolSync syncs continuously again', o: rs({ schedule: null }), after: { kind: 'remove', schedule: null } },
    { name: 'an empty schedule is none', o: rs({ schedule: '' }), after: { kind: 'remove', schedule: null } },
    { name: 'parked beside a schedule: put its value back', o: rs({ manual: 'hold' }), after: { kind: 'put-back', manual: 'hold' } },
    { name: 'synced by hand, no schedule: put its value back', o: rs({ manual: 'v1', schedule: null }), after: { kind: 'put-back', manual: 'v1' } },
    { name: 'an empty manual trigger is none to VolSync (getTrigger: len > 0)', o: rs({ manual: '' }), after: { kind: 'remove', schedule: '0 */8 * * *' } },
    {
      name: 'our own token left beside a schedule (a run that could not clean up): removed',
      o: rs({ manual: OURS }),
      after: { kind: 'remove', schedule: '0 */8 * * *' },
    },
    {
      name: 'our own token without a schedule (older versions kept it there on purpose): put back',
      o: rs({ manual: OURS, schedule: null }),
      after: { kind: 'put-back', manual: OURS },
    },
  ] as { name: string; o: ReplicationSource; after: Afterwards }[])('$name', ({ o, after }) => {
    expect(afterwardsOf('snapshot', o)).toEqual(after)
    expect(startRun('unlock', o).afterwards).toEqual(after)
  })

  it('a restore has nothing to put back', () => {
    expect(afterwardsOf('restore', rd())).toEqual({ kind: 'none' })
  })

  it('removeTriggerPatch removes spec.trigger.manual only while it holds our token', () => {
    expect(removeTriggerPatch('tok')).toEqual([
      { op: 'test', path: '/spec/trigger/manual', value: 'tok' },
      { op: 'remove', path: '/spec/trigger/manual' },
    ])
  })

  it('removeTriggerPatch with a schedule: also only while that schedule is still set (else VolSync would sync continuously)', () => {
    expect(removeTriggerPatch('tok', '0 */8 * * *')).toEqual([
      { op: 'test', path: '/spec/trigger/manual', value: 'tok' },
      { op: 'test', path: '/spec/trigger/schedule', value: '0 */8 * * *' },
      { op: 'remove', path: '/spec/trigger/manual' },
    ])
  })

  it('putBackPatch: while the sync that started then runs, or while nothing ran (null: the field is absent)', () => {
    expect(putBackPatch('tok', 'hold', { running: NOW })).toEqual([
      { op: 'test', path: '/spec/trigger/manual', value: 'tok' },
      { op: 'test', path: '/status/lastSyncStartTime', value: NOW },
      { op: 'replace', path: '/spec/trigger/manual', value: 'hold' },
    ])
    expect(putBackPatch('tok', 'hold', { idle: { lastManualSync: null } })).toEqual([
      { op: 'test', path: '/spec/trigger/manual', value: 'tok' },
      { op: 'test', path: '/status/lastSyncStartTime', value: null },
      { op: 'test', path: '/status/lastManualSync', value: null },
      { op: 'replace', path: '/spec/trigger/manual', value: 'hold' },
    ])
  })
})

describe('putting back the value of a parked source while our sync runs', () => {
  const START = '2026-11-26T04:00:05Z'
  const triggered = () => afterTrigger(startRun('snapshot', rs({ manual: 'hold', lastManualSync: 'hold' })), 'tok1', rs({ manual: 'tok1', lastManualSync: 'hold', rv: '101' }))

  it('is due once our sync is seen running after the patch, not before, and only once', () => {
    let run = triggered()
    expect(putBackDue(run)).toBeNull() // fenced: the patch's event has not come by
    run = observe(run, rs({ manual: 'tok1', lastManualSync: 'hold', rv: '101' }), T0)
    expect(putBackDue(run)).toBeNull() // not running yet
    run = observe(run, rs({ manual: 'tok1', lastManualSync: 'hold', since: START, rv: '102' }), T0)
    expect(putBackDue(run)).toBe(START)
    expect(putBackDue(putBackRefused(run))).toBeNull()
    expect(putBackDue(afterPutBack(run, START, rs({ manual: 'hold', since: START, rv: '103' })))).toBeNull()
  })

  it('is never due for a sync that started before our trigger, nor where nothing is to be put back', () => {
    const foreign = afterTrigger(startRun('snapshot', rs({ manual: 'hold' })), 'tok1', rs({ manual: 'tok1', running: true, rv: '101' }))
    expect(putBackDue(liftFence(foreign))).toBeNull()
    const plain = liftFence(afterTrigger(startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', running: true, rv: '101' })))
    expect(putBackDue(plain)).toBeNull()
  })

  it('then the sync is followed to its end by lastSyncTime (lastManualSync shows the value put back, not our token)', () => {
    let run = liftFence(triggered())
    run = observe(run, rs({ manual: 'tok1', lastManualSync: 'hold', since: START, rv: '102' }), T0)
    run = afterPutBack(run, START, rs({ manual: 'hold', lastManualSync: 'hold', since: START, rv: '103' }))
    // the event of our own patch, then VolSync's progress: not "someone changed the trigger"
    run = observe(run, rs({ manual: 'hold', lastManualSync: 'hold', since: START, rv: '103' }), T0)
    expect(run.phase.kind).toBe('syncing')
    run = observe(run, rs({ manual: 'hold', lastManualSync: 'hold', lastSyncTime: '2026-11-26T04:01:00Z', rv: '104' }), T0)
    expect(run.phase).toMatchObject({ kind: 'succeeded', token: 'tok1', outcome: { result: 'Successful', lastSyncTime: '2026-11-26T04:01:00Z' } })
  })

  it('someone changing the trigger after it was put back still fails the run', () => {
    let run = liftFence(triggered())
    run = observe(run, rs({ manual: 'tok1', since: START, rv: '102' }), T0)
    run = liftFence(afterPutBack(run, START, rs({ manual: 'hold', since: START, rv: '103' })))
    run = observe(run, rs({ manual: 'theirs', since: START, rv: '104' }), T0)
    expect(run.phase).toMatchObject({ kind: 'failed', failure: { kind: 'trigger-changed', manual: 'theirs' } })
  })
})

describe('cleanupPlan: from what the object holds now', () => {
  const TOKENS = ['tok1', 'tok2']
  const START = '2026-11-26T04:00:05Z'
  const removing = startRun('snapshot', rs())
  const continuous = startRun('snapshot', rs({ schedule: null }))
  const parked = startRun('snapshot', rs({ manual: 'hold', lastManualSync: 'hold' }))
  const putBackDone = afterPutBack(parked, START, rs({ manual: 'hold', since: START }))
  const cases: { name: string; run: SyncRun; now: ReplicationSource | null; plan: CleanupPlan }[] = [
    {
      name: 'schedule: remove our token, guarded by it and by the schedule',
      run: removing,
      now: rs({ manual: 'tok2' }),
      plan: { kind: 'patch', patch: removeTriggerPatch('tok2', '0 */8 * * *'), fate: { kind: 'removed', schedule: '0 */8 * * *' } },
    },
    {
      name: 'no schedule: remove our token; VolSync syncs continuously again, as before',
      run: continuous,
      now: rs({ manual: 'tok1', schedule: null }),
      plan: { kind: 'patch', patch: removeTriggerPatch('tok1'), fate: { kind: 'removed', schedule: null } },
    },
    { name: 'the source is gone', run: removing, now: null, plan: { kind: 'settled', fate: { kind: 'left', why: { kind: 'gone' } } } },
    {
      name: 'someone else set another value: left alone',
      run: removing,
      now: rs({ manual: 'theirs' }),
      plan: { kind: 'settled', fate: { kind: 'left', why: { kind: 'theirs', manual: 'theirs' } } },
    },
    {
      name: 'someone else removed it already',
      run: removing,
      now: rs(),
      plan: { kind: 'settled', fate: { kind: 'left', why: { kind: 'not-set' } } },
    },
    {
      name: 'ours, but the schedule changed: not removed',
      run: removing,
      now: { ...rs({ manual: 'tok1' }), spec: { trigger: { manual: 'tok1', schedule: '0 3 * * *' } } },
      plan: { kind: 'settled', fate: { kind: 'left', why: { kind: 'schedule-changed', from: '0 */8 * * *', to: '0 3 * * *' } } },
    },
    {
      name: 'parked: our sync runs: put the value back guarded by that sync, whose completion records it',
      run: parked,
      now: rs({ manual: 'tok1', lastManualSync: 'hold', since: START }),
      plan: {
        kind: 'patch',
        patch: putBackPatch('tok1', 'hold', { running: START }),
        fate: { kind: 'put-back', manual: 'hold', synced: true },
      },
    },
    {
      name: 'parked: no sync started (VolSync stopped?): put the value back while nothing runs and lastManualSync is unchanged',
      run: parked,
      now: rs({ manual: 'tok1', lastManualSync: 'hold' }),
      plan: {
        kind: 'patch',
        patch: putBackPatch('tok1', 'hold', { idle: { lastManualSync: 'hold' } }),
        fate: { kind: 'put-back', manual: 'hold', synced: false },
      },
    },
    {
      name: 'parked: our sync already recorded our token: putting the value back would start a sync: left',
      run: parked,
      now: rs({ manual: 'tok1', lastManualSync: 'tok1' }),
      plan: { kind: 'settled', fate: { kind: 'left', why: { kind: 'synced-first', token: 'tok1', manual: 'hold' } } },
    },
    {
      name: 'parked: the value is back already (put back while the sync ran)',
      run: putBackDone,
      now: rs({ manual: 'hold', lastManualSync: 'hold' }),
      plan: { kind: 'settled', fate: { kind: 'put-back', manual: 'hold', synced: true } },
    },
    {
      name: 'parked: our trigger never landed',
      run: parked,
      now: rs({ manual: 'hold', lastManualSync: 'hold' }),
      plan: { kind: 'settled', fate: { kind: 'put-back', manual: 'hold', synced: false } },
    },
    {
      name: 'a leftover of ours beside a schedule that our trigger never replaced: left alone',
      run: startRun('snapshot', rs({ manual: 'volsync-ops-snapshot-old' })),
      now: rs({ manual: 'volsync-ops-snapshot-old' }),
      plan: { kind: 'settled', fate: { kind: 'left', why: { kind: 'still-before', manual: 'volsync-ops-snapshot-old' } } },
    },
    { name: 'a restore: nothing', run: startRun('restore', rd()), now: rs(), plan: { kind: 'settled', fate: { kind: 'untouched' } } },
  ]
  it.each(cases)('$name', ({ run, now, plan }) => {
    expect(cleanupPlan(run, now, TOKENS)).toEqual(plan)
  })

  it('presumed: the object as our last patch left it, before anything is read', () => {
    const seen = rs({ since: START })
    expect(presumed(seen, 'tok2').spec.trigger).toEqual({ schedule: '0 */8 * * *', manual: 'tok2' })
    expect(presumed(seen, 'tok2').status).toBe(seen.status)
    expect(presumed(seen, undefined)).toBe(seen)
  })
})

describe("VolSync's errors (Synchronizing: reason Error)", () => {
  const MISSING = 'PersistentVolumeClaim "odoo-data" not found'
  const GRACE = 60_000
  const ours = () => liftFence(afterTrigger(startRun('snapshot', rs(), GRACE), 'tok1', rs({ manual: 'tok1', rv: '101' })))

  it('is remembered from when it was first seen; a new message keeps that time; a state without it forgets it', () => {
    let run = observe(ours(), rs({ manual: 'tok1', running: true, error: MISSING }), T0)
    expect(run.error).toEqual({ message: MISSING, since: T0 })
    expect(errorDeadline(run)).toBe(T0 + GRACE)
    run = observe(run, rs({ manual: 'tok1', running: true, error: 'Secret "x" not found' }), T0 + 5000)
    expect(run.error).toEqual({ message: 'Secret "x" not found', since: T0 })
    run = observe(run, rs({ manual: 'tok1', running: true }), T0 + 6000)
    expect(run.error).toBeUndefined()
    expect(errorDeadline(run)).toBeUndefined()
  })

  it('ends our wait once it lasted the grace without a break', () => {
    let run = observe(ours(), rs({ manual: 'tok1', running: true, error: MISSING }), T0)
    expect(run.phase.kind).toBe('syncing')
    expect(expireError(run, T0 + GRACE - 1)).toBe(run)
    run = expireError(run, T0 + GRACE)
    expect(run.phase).toEqual({ kind: 'failed', failure: { kind: 'sync-error', message: MISSING, forMs: GRACE }, logs: '', triggered: true })
  })

  it('also when an event shows it after the grace (no timer needed then)', () => {
    let run = observe(ours(), rs({ manual: 'tok1', running: true, error: MISSING }), T0)
    run = observe(run, rs({ manual: 'tok1', running: true, error: MISSING, rv: '105' }), T0 + GRACE + 1)
    expect(run.phase).toMatchObject({ kind: 'failed', failure: { kind: 'sync-error', forMs: GRACE + 1 } })
  })

  it('a passing error does not', () => {
    let run = observe(ours(), rs({ manual: 'tok1', running: true, error: 'Operation cannot be fulfilled: the object has been modified' }), T0)
    run = observe(run, rs({ manual: 'tok1', running: true }), T0 + 2000)
    run = observe(run, rs({ manual: 'tok1', running: true, error: MISSING }), T0 + GRACE)
    expect(expireError(run, T0 + GRACE + 1000).phase.kind).toBe('syncing')
  })

  it('a sync that was already running and cannot go on: the run ends before triggering', () => {
    let run = startRun('snapshot', rs({ running: true }), GRACE)
    run = observe(run, rs({ running: true, error: MISSING }), T0)
    run = expireError(run, T0 + GRACE)
    expect(run.phase).toEqual({ kind: 'failed', failure: { kind: 'running-error', message: MISSING, forMs: GRACE }, logs: '', triggered: false })
  })

  it('a restore: the destination PVC gone', () => {
    const gone = 'PersistentVolumeClaim "odoo-data" not found'
    let run = startRun('restore', rd(), GRACE)
    run = observe(run, rd({ lastSyncStartTime: NOW, conditions: [{ type: 'Synchronizing', status: 'False', reason: 'Error', message: gone }] }), T0)
    expect(expireError(run, T0 + GRACE).phase).toMatchObject({ kind: 'failed', failure: { kind: 'sync-error', message: gone } })
  })

  it('the completion of our sync wins over an error in the same state', () => {
    const run = observe(ours(), rs({ manual: 'tok1', lastManualSync: 'tok1', error: 'cleanup failed' }), T0)
    expect(run.phase.kind).toBe('succeeded')
  })

  it('the default grace is 2 minutes', () => {
    expect(ERROR_GRACE_MS).toBe(120_000)
    expect(startRun('snapshot', rs()).errorGraceMs).toBe(ERROR_GRACE_MS)
  })
})

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
    expect(completion(rd({ lastManualSync: 'older' }), 'tok')).toBeUndefined()
    expect(completion(rd({}), 'tok')).toBeUndefined()
  })

  it('reads result, logs, the snapshot id and the duration once it does', () => {
    const done = completion(
      rd({ lastManualSync: 'tok', lastSyncTime: '2026-11-26T04:00:00Z', lastSyncDuration: '1m3.5s', latestMoverStatus: OK }),
      'tok',
    )
    expect(done).toMatchObject({ result: 'Successful', lastSyncTime: '2026-11-26T04:00:00Z', durationMs: 63_500 })
    expect(done?.facts.savedSnapshot).toBe('1a2b3c4d')
  })

  it('has null fields when VolSync wrote none', () => {
    expect(completion(rd({ lastManualSync: 'tok' }), 'tok')).toMatchObject({
      result: null,
      logs: '',
      lastSyncTime: null,
      durationMs: null,
    })
  })
})

describe('removedLocks', () => {
  it.each([
    ['successfully removed 2 locks\nrepository 9f3a opened', 2],
    ['  successfully removed 1 locks', 1],
    ['repository 9f3a opened\nsnapshot 1a2b3c4d saved', 0],
    ['', 0],
  ])('%j -> %i', (logs, n) => expect(removedLocks(logs)).toBe(n))
})
