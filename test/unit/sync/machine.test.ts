import { describe, expect, it } from 'vitest'
import type { JobTrack } from '../../../lib/sync/jobs.ts'
import {
  MAX_TRIGGERS,
  afterPatch,
  allSettled,
  isSettled,
  leftAloneReason,
  liftFence,
  moverGaveUp,
  observe,
  patchFailed,
  removedLocks,
  startRun,
  triggerAfterwards,
  triggerPatch,
  waitingFor,
  type Phase,
  type Purpose,
  type SourceRun,
} from '../../../lib/sync/machine.ts'
import type { MoverStatus, ReplicationSource } from '../../../lib/volsync/objects.ts'

const LOCKED: MoverStatus = { result: 'Failed', logs: 'unable to create lock in backend: repository is already locked by PID 27' }
const BADPASS: MoverStatus = { result: 'Failed', logs: 'ERROR: failure connecting to repository, incorrect password' }
const OK: MoverStatus = { result: 'Successful', logs: 'snapshot 1a2b3c4d saved' }
const NOW = '2026-11-26T04:00:00Z'

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
      lastSyncTime: '2026-11-26T02:00:00Z',
      ...(s.running ? { lastSyncStartTime: NOW } : {}),
      ...(s.lastManualSync ? { lastManualSync: s.lastManualSync } : {}),
      lastSyncDuration: '1m3s',
      latestMoverStatus: s.mover ?? OK,
      ...(s.lastUnlocked ? { restic: { lastUnlocked: s.lastUnlocked } } : {}),
    },
  }
}

/** Runs `purpose` from `start` through the patch (when ready) and the observed states. */
function play(purpose: Purpose, start: ReplicationSource, response: ReplicationSource | null, seen: ReplicationSource[]) {
  let run = startRun(purpose, start)
  const phases: Phase['kind'][] = [run.phase.kind]
  const patch = (r: SourceRun, token: string, resp: ReplicationSource) => afterPatch(purpose, r, token, resp)
  if (run.phase.kind === 'ready' && response) {
    run = patch(run, 'tok1', response)
    phases.push(run.phase.kind)
  }
  run = liftFence(run)
  for (const o of seen) {
    run = observe(purpose, run, o)
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
  const cases: { name: string; purpose: Purpose; source: ReplicationSource; phase: Phase['kind'] }[] = [
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
  ]
  for (const c of cases) {
    it(c.name, () => expect(startRun(c.purpose, c.source).phase.kind).toBe(c.phase))
  }

  it('records the schedule and a manual trigger that was already set', () => {
    const run = startRun('snapshot', rs({ manual: 'left-over' }))
    expect(run).toMatchObject({ ref: 'business/odoo-backup', schedule: '0 */8 * * *', manualBefore: 'left-over', triggers: 0 })
    expect(startRun('snapshot', rs({ schedule: null })).schedule).toBeNull()
  })
})

describe('afterPatch', () => {
  it('waits for the token, fenced at the resourceVersion of the patch response', () => {
    const run = afterPatch('snapshot', startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', rv: '101' }))
    expect(run.phase).toMatchObject({ kind: 'syncing', token: 'tok1', foreign: false })
    expect(run).toMatchObject({ fence: '101', triggers: 1 })
  })

  it('snapshot: a sync running in the response started before our patch: it is foreign', () => {
    const run = afterPatch('snapshot', startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', running: true }))
    expect(run.phase).toMatchObject({ kind: 'syncing', foreign: true })
  })

  it('unlock: a running sync in the response is fine (it runs the unlock before it can finish)', () => {
    const run = afterPatch('unlock', startRun('unlock', rs()), 'tok1', rs({ manual: 'tok1', running: true }))
    expect(run.phase).toMatchObject({ kind: 'syncing', foreign: false })
  })

  it('a failed patch fails the run without a trigger', () => {
    expect(patchFailed(startRun('snapshot', rs()), 'forbidden').phase).toEqual({
      kind: 'failed',
      reason: 'could not set the manual trigger: forbidden',
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
    reason?: string
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
      reason: 'the sync that was already running failed (VolSync keeps retrying it); no snapshot was triggered',
    },
    {
      name: 'our mover fails: stop',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ manual: 'tok1', running: true, mover: LOCKED, rv: '102' })],
      phases: ['ready', 'syncing', 'failed'],
      reason: 'the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)',
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
      name: 'someone else sets another manual trigger while we wait',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ manual: 'theirs', running: true, rv: '102' })],
      phases: ['ready', 'syncing', 'failed'],
      reason: 'someone else changed spec.trigger.manual to "theirs" while waiting',
    },
    {
      name: 'someone else removes the manual trigger while we wait',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ running: true, rv: '102' })],
      phases: ['ready', 'syncing', 'failed'],
      reason: 'someone else removed spec.trigger.manual while waiting: this sync will not report back',
    },
    {
      name: 'the source is paused while we wait',
      start: rs(),
      response: rs({ manual: 'tok1', rv: '101' }),
      seen: [rs({ manual: 'tok1', running: true, paused: true, rv: '102' })],
      phases: ['ready', 'syncing', 'failed'],
      reason: 'the ReplicationSource was paused (spec.paused) while waiting: no sync can finish',
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const { run, phases } = play('snapshot', c.start, c.response ?? null, c.seen)
      expect(phases).toEqual(c.phases)
      if (c.reason) expect(run.phase).toMatchObject({ kind: 'failed', reason: c.reason })
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
      run = liftFence(afterPatch('snapshot', run, `tok${i}`, rs({ manual: `tok${i}`, running: true })))
      run = observe('snapshot', run, rs({ manual: `tok${i}`, lastManualSync: `tok${i}`, rv: `${i}` }))
    }
    expect(run.phase).toMatchObject({ kind: 'failed', reason: `a sync started just before each of our ${MAX_TRIGGERS} triggers; giving up (try again later)` })
  })
})

describe('observe: the fence against events older than our patch', () => {
  it('ignores events until the one of our patch, then reads them', () => {
    let run = afterPatch('snapshot', startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', rv: '101' }))
    // queued before our patch: the old trigger; would read as "removed by someone else"
    run = observe('snapshot', run, rs({ rv: '100' }))
    expect(run.phase.kind).toBe('syncing')
    expect(run.fence).toBe('101')
    run = observe('snapshot', run, rs({ manual: 'tok1', rv: '101' }))
    expect(run.fence).toBeUndefined()
    run = observe('snapshot', run, rs({ rv: '102' }))
    expect(run.phase.kind).toBe('failed')
  })

  it('a new watch starts from the present: liftFence', () => {
    const run = afterPatch('snapshot', startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', rv: '101' }))
    expect(liftFence(run).fence).toBeUndefined()
    const lifted = liftFence(run)
    expect(liftFence(lifted)).toBe(lifted)
  })

  it('a deletion is never fenced off', () => {
    const run = afterPatch('snapshot', startRun('snapshot', rs()), 'tok1', rs({ manual: 'tok1', rv: '101' }))
    expect(observe('snapshot', run, rs({ rv: '109' }), true).phase).toMatchObject({
      kind: 'failed',
      reason: 'the ReplicationSource was deleted while waiting',
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
    expect(run.phase).toMatchObject({
      kind: 'failed',
      reason: 'the sync finished without recording the unlock (status.restic.lastUnlocked is "older")',
    })
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
  const WHERE =
    "; its log could not be read here; VolSync records it in status.latestMoverStatus.logs: kubectl get replicationsources.volsync.backube odoo-backup -n business -o jsonpath='{.status.latestMoverStatus.logs}'"
  /** a run of `purpose` in `phase`, seen last as `seen`, whose failure memo started at `baseline` */
  function runIn(purpose: Purpose, phase: 'busy' | 'syncing', seen: ReplicationSource): SourceRun {
    let run = startRun(purpose, phase === 'busy' ? rs({ running: true, mover: OK }) : rs())
    if (phase === 'busy') expect(run.phase.kind).toBe('busy')
    else run = afterPatch(purpose, run, 'tok1', rs({ manual: 'tok1' }))
    return { ...run, seen }
  }
  const cases: {
    name: string
    purpose: Purpose
    phase: 'busy' | 'syncing'
    seen: ReplicationSource
    podLog: string
    after: Phase
  }[] = [
    {
      name: 'our sync failed, though VolSync\'s record looks as before: the pod log is shown',
      purpose: 'snapshot',
      phase: 'syncing',
      seen: rs({ manual: 'tok1', running: true }),
      podLog: POD_LOG,
      after: {
        kind: 'failed',
        reason: 'the mover failed (Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying this sync with a new Job; stopped waiting)',
        logs: POD_LOG,
        triggered: true,
      },
    },
    {
      name: 'our sync failed and VolSync\'s new record came first: that record is shown',
      purpose: 'unlock',
      phase: 'syncing',
      seen: rs({ manual: 'tok1', running: true, mover: LOCKED }),
      podLog: POD_LOG,
      after: {
        kind: 'failed',
        reason: 'the mover failed (Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying this sync with a new Job; stopped waiting)',
        logs: LOCKED.logs!,
        triggered: true,
      },
    },
    {
      name: 'no log at all: the failure says where VolSync keeps it',
      purpose: 'snapshot',
      phase: 'syncing',
      seen: rs({ manual: 'tok1', running: true }),
      podLog: '',
      after: {
        kind: 'failed',
        reason: 'the mover failed (Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying this sync with a new Job; stopped waiting)' + WHERE,
        logs: '',
        triggered: true,
      },
    },
    {
      name: 'snapshot: the running sync failed again; nothing was triggered',
      purpose: 'snapshot',
      phase: 'busy',
      seen: rs({ running: true, mover: OK }),
      podLog: POD_LOG,
      after: {
        kind: 'failed',
        reason:
          'the sync that was already running failed again (its mover Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying it); no snapshot was triggered',
        logs: POD_LOG,
        triggered: false,
      },
    },
  ]
  it.each(cases)('$name', ({ purpose, phase, seen, podLog, after }) => {
    expect(moverGaveUp(purpose, runIn(purpose, phase, seen), JOB, podLog).phase).toEqual(after)
  })

  it('unlock: the running sync it waits for failed: it waits for VolSync\'s record, which lets it join', () => {
    const run = runIn('unlock', 'busy', rs({ running: true, mover: OK }))
    expect(moverGaveUp('unlock', run, JOB, POD_LOG)).toBe(run)
    expect(observe('unlock', run, rs({ running: true, mover: LOCKED })).phase.kind).toBe('ready')
  })

  it('changes nothing once a run has settled or before it waits', () => {
    for (const run of [startRun('snapshot', rs()), startRun('snapshot', rs({ paused: true })), patchFailed(startRun('snapshot', rs()), 'x')]) {
      expect(moverGaveUp('snapshot', run, JOB, POD_LOG)).toBe(run)
    }
  })

  it('waitingFor: busy waits for a running sync, syncing for ours, the rest for nothing', () => {
    expect(waitingFor(runIn('snapshot', 'busy', rs({ running: true })))).toBe('waiting-for-running')
    expect(waitingFor(runIn('snapshot', 'syncing', rs()))).toBe('waiting-for-ours')
    expect(waitingFor(startRun('snapshot', rs()))).toBe('other')
    expect(waitingFor(startRun('snapshot', rs({ paused: true })))).toBe('other')
  })
})

describe('settled phases', () => {
  it('do not change any more', () => {
    const done = play('snapshot', rs(), rs({ manual: 'tok1' }), [rs({ manual: 'tok1', lastManualSync: 'tok1', rv: '3' })]).run
    expect(observe('snapshot', done, rs({ rv: '9' }), true)).toBe(done)
    const skipped = startRun('snapshot', rs({ paused: true }))
    expect(observe('snapshot', skipped, rs())).toBe(skipped)
  })

  it('isSettled / allSettled', () => {
    expect((['skipped', 'succeeded', 'failed'] as const).every((kind) => isSettled({ kind } as Phase))).toBe(true)
    expect((['busy', 'ready', 'syncing'] as const).some((kind) => isSettled({ kind } as Phase))).toBe(false)
    expect(allSettled([startRun('snapshot', rs({ paused: true })), startRun('snapshot', rs())])).toBe(false)
    expect(allSettled([])).toBe(true)
  })
})

describe('afterwards', () => {
  it('removes the trigger of a scheduled source and keeps it on one without a schedule', () => {
    expect(triggerAfterwards(startRun('snapshot', rs()))).toBe('remove')
    expect(triggerAfterwards(startRun('snapshot', rs({ schedule: null })))).toBe('keep')
    expect(triggerAfterwards(startRun('snapshot', rs({ schedule: '' })))).toBe('keep')
  })

  const S = '0 */8 * * *'
  const cases: { name: string; now: ReplicationSource | null; before: string | null; reason: string }[] = [
    { name: 'gone', now: null, before: null, reason: 'the ReplicationSource no longer exists' },
    {
      name: 'removed by someone else',
      now: rs(),
      before: 'old',
      reason: 'spec.trigger.manual is already gone (removed by someone else)',
    },
    {
      name: 'never set (the patch failed) or removed',
      now: rs(),
      before: null,
      reason: 'spec.trigger.manual is not set: ours was never set, or someone else removed it',
    },
    {
      name: 'still the value from before the run',
      now: rs({ manual: 'old' }),
      before: 'old',
      reason: 'spec.trigger.manual still holds its value from before this run: ours was never set',
    },
    {
      name: 'changed by someone else',
      now: rs({ manual: 'theirs' }),
      before: null,
      reason: 'spec.trigger.manual now holds "theirs", set by someone else: left as it is',
    },
    {
      name: 'ours, but the schedule changed',
      now: rs({ manual: 'tok1', schedule: '0 3 * * *' }),
      before: null,
      reason: 'the schedule changed ("0 */8 * * *" -> "0 3 * * *") during the run: remove spec.trigger.manual by hand once you are sure',
    },
    {
      name: 'ours, but the schedule was removed',
      now: rs({ manual: 'tok1', schedule: null }),
      before: null,
      reason: 'the schedule was removed during the run: without one, removing spec.trigger.manual would make VolSync sync continuously',
    },
  ]
  for (const c of cases) {
    it(`says why a removal was left alone: ${c.name}`, () => {
      expect(leftAloneReason(c.now, ['tok1'], S, c.before)).toBe(c.reason)
    })
  }
})

describe('removedLocks', () => {
  it.each([
    ['successfully removed 2 locks\nrepository 9f3a opened', 2],
    ['  successfully removed 1 locks', 1],
    ['repository 9f3a opened\nsnapshot 1a2b3c4d saved', 0],
    ['', 0],
  ])('%j -> %i', (logs, n) => expect(removedLocks(logs)).toBe(n))
})
