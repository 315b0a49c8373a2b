// The restore's record on the source (marker.ts), the plan of what it stops
// and puts back (hold.ts), and what else can write to the PVC (writers.ts).
import { describe, expect, it } from 'vitest'
import { liveHold, quiescePlan, type LiveState } from '../../../lib/restore/hold.ts'
import {
  MARKER,
  MARKER_PATH,
  acquirePatch,
  markerValue,
  mergeHold,
  readMarker,
  removeMarkerPatch,
  replaceMarkerPatch,
  type HoldRecord,
  type Marker,
} from '../../../lib/restore/marker.ts'
import type { Workload } from '../../../lib/restore/workloads.ts'
import {
  cronJobDecisions,
  resumeCronJobPatch,
  retentionRefusal,
  scaledObjectDecisions,
  unpauseScaledObjectPatch,
  type CronJob,
  type ScaledObject,
} from '../../../lib/restore/writers.ts'
import { restoreAttention, restoreMark } from '../../../lib/volsync/health.ts'

const HOLD: HoldRecord = {
  paused: null,
  copyTrigger: [],
  flux: [{ kind: 'Kustomization', name: 'odoo', namespace: 'flux-system', suspendWasSet: false }],
  cronJobs: [],
  scaledObjects: [],
  workloads: [{ kind: 'Deployment', name: 'odoo', replicas: 2 }],
}
const MARK: Marker = {
  v: 1,
  token: 'volsync-ops-restore-20261126T040000Z-abcde',
  state: 'held',
  started: '2026-11-26T04:00:00.123Z',
  by: 'ops@laptop',
  snapshot: { id: '7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1', time: '2026-11-25T20:00:05.998877665Z' },
  destination: 'odoo-restore-20261126040000',
  pvc: 'odoo-data',
  reason: 'it stopped before its mover finished: interrupted (Ctrl-C)',
  hold: HOLD,
}
const on = (value?: string) => ({
  metadata: { name: 'odoo-backup', namespace: 'business', annotations: (value === undefined ? {} : { [MARKER]: value }) as Record<string, string> },
})

describe('the record on the ReplicationSource', () => {
  it('is read back as written, and a foreign value is "unreadable"', () => {
    expect(readMarker(on(markerValue(MARK)))).toEqual(MARK)
    expect(readMarker(on())).toBeUndefined()
    expect(readMarker(on('yes'))).toBe('unreadable')
    expect(readMarker(on('{"v":2}'))).toBe('unreadable')
  })
  it('is taken only while the object is at the resourceVersion read (a precondition), and changed only while it holds ours', () => {
    expect(acquirePatch(MARK, '4711')).toEqual({ metadata: { resourceVersion: '4711', annotations: { [MARKER]: markerValue(MARK) } } })
    expect(MARKER_PATH).toBe('/metadata/annotations/volsync-ops~1restore')
    const next = { ...MARK, state: 'running' as const }
    expect(replaceMarkerPatch('old', next)).toEqual([
      { op: 'test', path: MARKER_PATH, value: 'old' },
      { op: 'replace', path: MARKER_PATH, value: markerValue(next) },
    ])
    expect(removeMarkerPatch('old')).toEqual([
      { op: 'test', path: MARKER_PATH, value: 'old' },
      { op: 'remove', path: MARKER_PATH },
    ])
  })
  it('taken over, keeps what the held restore recorded and adds what it did not know', () => {
    const now: HoldRecord = {
      paused: true, // paused by the held restore
      copyTrigger: [],
      flux: [],
      cronJobs: [{ name: 'report', suspendWasSet: false }],
      scaledObjects: [],
      workloads: [
        { kind: 'Deployment', name: 'odoo', replicas: 0 },
        { kind: 'StatefulSet', name: 'db', replicas: 1 },
      ],
    }
    expect(mergeHold(HOLD, now)).toEqual({
      paused: null,
      copyTrigger: [],
      flux: HOLD.flux,
      cronJobs: [{ name: 'report', suspendWasSet: false }],
      scaledObjects: [],
      workloads: [
        { kind: 'Deployment', name: 'odoo', replicas: 2 },
        { kind: 'StatefulSet', name: 'db', replicas: 1 },
      ],
    })
  })
})

describe('status reads the record', () => {
  const RESUME = 'task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps'
  it('flags a held app with why and what to run', () => {
    const mark = restoreMark(on(markerValue(MARK)))
    expect(mark).toMatchObject({ state: 'held' })
    expect(restoreAttention(mark!, RESUME)).toBe(
      'HELD by an unfinished restore: the restore of snapshot 7c2d9e41 started 2026-11-26 04:00:00 UTC by ops@laptop ' +
        '(ReplicationDestination odoo-restore-20261126040000) stopped (it stopped before its mover finished: interrupted (Ctrl-C)); ' +
        'odoo-data may be partially restored, the app is stopped and its backups are held. Restore again, or give the app back ' +
        `as it is: ${RESUME}`,
    )
  })
  it('says a restore runs, and how to give the app back if that run was killed', () => {
    const text = restoreAttention({ ...MARK, state: 'running' }, RESUME)
    expect(text).toMatch(/^a restore is running: the restore of snapshot 7c2d9e41 started/)
    expect(text).toContain(`(if that run was killed, give the app back with: ${RESUME})`)
  })
})

// ---------------------------------------------------------------- the plan

const wl = (name: string, replicas: number, kind: Workload['kind'] = 'Deployment'): Workload => ({
  kind,
  name,
  namespace: 'business',
  replicas,
  labels: {},
  pods: [],
})
const LIVE: LiveState = {
  paused: undefined,
  copyMethod: 'Direct',
  pvcAnnotations: {},
  flux: [{ action: 'suspend', ref: { kind: 'Kustomization', name: 'odoo', namespace: 'flux-system' }, suspendWasSet: false }],
  cronJobs: [{ action: 'suspend', name: 'report', suspendWasSet: true }],
  scaledObjects: [{ action: 'pause', name: 'odoo', target: 'deployment odoo' }],
  workloads: [wl('odoo', 2), wl('odoo-report', 0)],
}

describe('quiescePlan', () => {
  it('of a first restore: records the cluster as it is, and acts on all of it', () => {
    const plan = quiescePlan(LIVE, 'business')
    expect(plan.hold).toEqual({
      paused: null,
      copyTrigger: [],
      flux: [{ kind: 'Kustomization', name: 'odoo', namespace: 'flux-system', suspendWasSet: false }],
      cronJobs: [{ name: 'report', suspendWasSet: true }],
      scaledObjects: [{ name: 'odoo' }],
      workloads: [
        { kind: 'Deployment', name: 'odoo', replicas: 2 },
        { kind: 'Deployment', name: 'odoo-report', replicas: 0 },
      ],
    })
    expect(plan.pausedNow).toBe(false)
    expect(plan.flux).toEqual([{ ref: { kind: 'Kustomization', name: 'odoo', namespace: 'flux-system' }, suspendWasSet: false, suspendedNow: false }])
    expect(plan.workloads.map((w) => [w.name, w.now, w.before])).toEqual([['odoo', 2, 2], ['odoo-report', 0, 0]])
  })
  it('records a source paused before (left paused) and an explicit paused: false', () => {
    expect(liveHold({ ...LIVE, paused: true }).paused).toBe(true)
    expect(liveHold({ ...LIVE, paused: false }).paused).toBe(false)
  })
  it('with copyMethod Snapshot, sets the copy trigger and the status annotations VolSync may add', () => {
    expect(liveHold({ ...LIVE, copyMethod: 'Snapshot' }).copyTrigger).toEqual([
      'volsync.backube/use-copy-trigger',
      'volsync.backube/latest-copy-status',
      'volsync.backube/latest-copy-trigger-waiting-since',
    ])
  })
  it('of a held app taken over: puts back what the held restore recorded, not the stopped state it finds', () => {
    const held = quiescePlan(
      {
        ...LIVE,
        paused: true,
        flux: [{ action: 'leave', ref: { kind: 'Kustomization', name: 'odoo', namespace: 'flux-system' }, reason: 'already suspended: left as it is' }],
        cronJobs: [{ action: 'leave', name: 'report', reason: 'suspended already: left suspended' }],
        scaledObjects: [{ action: 'leave', name: 'odoo', target: 'deployment odoo', reason: 'paused already: left paused' }],
        workloads: [wl('odoo', 0), wl('odoo-report', 0)],
      },
      'business',
      liveHold(LIVE),
    )
    expect(held.hold).toEqual(liveHold(LIVE))
    expect(held.pausedNow).toBe(true)
    expect(held.flux).toEqual([{ ref: { kind: 'Kustomization', name: 'odoo', namespace: 'flux-system' }, suspendWasSet: false, suspendedNow: true }])
    expect(held.fluxLeft).toEqual([])
    expect(held.cronJobs).toEqual([{ name: 'report', suspendWasSet: true, suspendedNow: true }])
    expect(held.cronJobsLeft).toEqual([])
    expect(held.scaledObjects).toEqual([{ name: 'odoo', target: 'deployment odoo', pausedNow: true }])
    expect(held.workloads.map((w) => [w.name, w.now, w.before])).toEqual([['odoo', 0, 2], ['odoo-report', 0, 0]])
  })
})

// ---------------------------------------------------------------- what else writes to the PVC

const cron = (name: string, claim: string, suspend?: boolean): CronJob => ({
  metadata: { name },
  spec: {
    ...(suspend === undefined ? {} : { suspend }),
    jobTemplate: { spec: { template: { spec: { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] } } } },
  },
})

describe('cronJobDecisions', () => {
  it('suspends the CronJobs whose pods mount the claim, and leaves those suspended already', () => {
    expect(cronJobDecisions([cron('b', 'odoo-data', false), cron('other', 'x-data'), cron('a', 'odoo-data'), cron('c', 'odoo-data', true)], 'odoo-data')).toEqual([
      { action: 'suspend', name: 'a', suspendWasSet: false },
      { action: 'suspend', name: 'b', suspendWasSet: true },
      { action: 'leave', name: 'c', reason: 'suspended already: left suspended' },
    ])
  })
  it('resumes only while suspended, putting back what was there', () => {
    expect(resumeCronJobPatch(false)).toEqual([
      { op: 'test', path: '/spec/suspend', value: true },
      { op: 'remove', path: '/spec/suspend' },
    ])
  })
})

describe('scaledObjectDecisions', () => {
  const so = (name: string, target: { name?: string; kind?: string; apiVersion?: string }, annotations?: Record<string, string>): ScaledObject => ({
    metadata: { name, annotations },
    spec: { scaleTargetRef: target },
  })
  it('pauses the ScaledObjects that scale one of the workloads (kind Deployment by default), whether it runs or not', () => {
    const workloads = [wl('odoo', 2), wl('db', 0, 'StatefulSet')]
    expect(
      scaledObjectDecisions(
        [
          so('web', { name: 'odoo' }),
          so('db', { name: 'db', kind: 'StatefulSet', apiVersion: 'apps/v1' }),
          so('other', { name: 'elsewhere' }),
          so('paused', { name: 'odoo' }, { 'autoscaling.keda.sh/paused': 'true' }),
          so('old', { name: 'odoo' }, { 'autoscaling.keda.sh/paused-replicas': '0' }),
          so('rollout', { name: 'odoo', kind: 'Rollout', apiVersion: 'argoproj.io/v1alpha1' }),
          so('unpaused', { name: 'odoo' }, { 'autoscaling.keda.sh/paused': 'false' }),
        ],
        workloads,
      ),
    ).toEqual([
      { action: 'pause', name: 'db', target: 'statefulset db' },
      { action: 'leave', name: 'old', target: 'deployment odoo', reason: 'paused already: left paused' },
      { action: 'leave', name: 'paused', target: 'deployment odoo', reason: 'paused already: left paused' },
      { action: 'pause', name: 'unpaused', target: 'deployment odoo', pausedWas: 'false' },
      { action: 'pause', name: 'web', target: 'deployment odoo' },
    ])
  })
  const PATH = '/metadata/annotations/autoscaling.keda.sh~1paused'
  it.each([
    ['absent before: removed', undefined, { op: 'remove', path: PATH }],
    ['"false" before: "false" again', 'false', { op: 'replace', path: PATH, value: 'false' }],
    ['"" before: "" again', '', { op: 'replace', path: PATH, value: '' }],
  ])('unpauses only while the pause is ours, as found: %s', (_, was, last) => {
    expect(unpauseScaledObjectPatch(was)).toEqual([{ op: 'test', path: PATH, value: 'true' }, last])
  })
  it('records the value found, and takes it into the plan and over a held app', () => {
    const live: LiveState = { ...LIVE, scaledObjects: [{ action: 'pause', name: 'odoo', target: 'deployment odoo', pausedWas: 'false' }] }
    const plan = quiescePlan(live, 'business')
    expect(plan.hold.scaledObjects).toEqual([{ name: 'odoo', pausedWas: 'false' }])
    expect(plan.scaledObjects).toEqual([{ name: 'odoo', target: 'deployment odoo', pausedNow: false, pausedWas: 'false' }])
    const held = quiescePlan(
      { ...LIVE, scaledObjects: [{ action: 'leave', name: 'odoo', target: 'deployment odoo', reason: 'paused already: left paused' }] },
      'business',
      plan.hold,
    )
    expect(held.scaledObjects).toEqual([{ name: 'odoo', target: 'deployment odoo', pausedNow: true, pausedWas: 'false' }])
  })
})

describe('retentionRefusal', () => {
  const sts = (name: string, whenScaled?: string) => ({
    kind: 'StatefulSet',
    metadata: { name },
    spec: whenScaled ? { persistentVolumeClaimRetentionPolicy: { whenScaled } } : {},
  })
  it('refuses a StatefulSet that would delete its PVCs when scaled down, before anything changes', () => {
    const err = retentionRefusal([sts('db', 'Delete')], [wl('db', 1, 'StatefulSet')])
    expect(err?.message).toMatch(/^statefulset db has persistentVolumeClaimRetentionPolicy.whenScaled: Delete: .* DELETE the PVCs .* Nothing was changed\./)
  })
  it('lets Retain, no policy, and a StatefulSet at 0 (not scaled) through', () => {
    expect(retentionRefusal([sts('a', 'Retain'), sts('b'), sts('c', 'Delete')], [wl('a', 1, 'StatefulSet'), wl('b', 1, 'StatefulSet'), wl('c', 0, 'StatefulSet')])).toBeUndefined()
  })
})
