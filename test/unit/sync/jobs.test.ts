import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  controllerUid,
  gaveUpLog,
  latestFailedPod,
  trackJob,
  type JobPod,
  type JobTrack,
  type MoverJob,
} from '../../../lib/sync/jobs.ts'
import type { MoverStatus } from '../../../lib/volsync/objects.ts'

const NOW = Date.parse('2026-11-26T04:00:00Z')
/** A fixture with its @NOW±<n><unit>@ times rendered, as the bats `render` does. */
const fixture = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8').replace(/@NOW([+-]\d+[smhd])?@/g, (_m, delta?: string) => {
      const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(delta?.at(-1) ?? 's') as 's' | 'm' | 'h' | 'd']
      return new Date(NOW + (delta ? Number(delta.slice(0, -1)) * unit : 0)).toISOString().replace('.000Z', 'Z')
    }),
  )
/** The Job VolSync made for business/odoo-backup (recorded on the e2e tier). */
const JOB: MoverJob = fixture('job-mover-src.json')
const PODS: JobPod[] = fixture('job-mover-src-pods.json').items
const RS_UID = '7f0c2d4e-5b1a-4c3e-9d8f-0a1b2c3d4e51'
const JOB_UID = 'b7e1c9a2-3f4d-4e5a-8b6c-7d8e9f0a1b2c'

/** The Job after `failed` failed attempts (and with `backoffLimit`, when given). */
function job(failed: number | undefined, backoffLimit?: number): MoverJob {
  const status = { ...JOB.status }
  if (failed === undefined) delete status.failed
  else status.failed = failed
  return { ...JOB, spec: { ...JOB.spec, ...(backoffLimit === undefined ? {} : { backoffLimit }) }, status }
}

const track = (o: Partial<JobTrack> = {}): JobTrack => ({
  uid: JOB_UID,
  name: 'volsync-src-odoo-backup',
  namespace: 'business',
  owner: RS_UID,
  firstFailed: 0,
  failed: 0,
  limit: 8,
  ...o,
})

const LOCKED = [
  'repo already locked, waiting up to 0s for the lock',
  'unable to create lock in backend: repository is already locked exclusively by PID 4121 on nas-01 by backup (UID 1000, GID 1000)',
  'lock was created at 2026-11-26 03:50:02 (12m3.118s ago)',
].join('\n')
const BADPASS = 'Testing mandatory env variables\nFatal: wrong password or no key found\nERROR: failure connecting to repository, incorrect password'

describe('controllerUid', () => {
  it.each([
    { name: 'the controller ownerReference of a VolSync Job', o: JOB, uid: RS_UID },
    {
      name: 'a controller among other owners',
      o: {
        metadata: {
          name: 'x',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', uid: 'not-this' },
            { apiVersion: 'volsync.backube/v1alpha1', kind: 'ReplicationDestination', name: 'b', uid: 'this', controller: true },
          ],
        },
      },
      uid: 'this',
    },
    { name: 'none without a controller', o: { metadata: { name: 'x', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'a', uid: 'u' }] } }, uid: undefined },
    { name: 'none without ownerReferences', o: { metadata: { name: 'x' } }, uid: undefined },
  ])('$name', ({ o, uid }) => {
    expect(controllerUid(o)).toBe(uid)
  })
})

describe('trackJob: what a new state of a Job says', () => {
  it('first sight: reads the Job (uid, name, owner, backoffLimit 8) and is no news, whatever failed before', () => {
    for (const failed of [undefined, 0, 3, 8]) {
      const { track: t, news } = trackJob(undefined, job(failed))
      expect(news).toBeUndefined()
      expect(t).toEqual(track({ firstFailed: failed ?? 0, failed: failed ?? 0 }))
    }
  })

  it('a Job without spec.backoffLimit gets VolSync’s 8', () => {
    const { spec: _spec, ...bare } = job(0)
    expect(trackJob(undefined, bare).track.limit).toBe(8)
  })

  const cases: { name: string; known: Partial<JobTrack>; failed: number | undefined; limit?: number; news?: 'attempt-failed' | 'gave-up'; failedAfter: number }[] = [
    { name: 'an attempt failed', known: { failed: 0 }, failed: 1, news: 'attempt-failed', failedAfter: 1 },
    { name: 'another attempt failed', known: { failed: 6 }, failed: 7, news: 'attempt-failed', failedAfter: 7 },
    { name: 'the last attempt failed: the Job reached its backoffLimit', known: { failed: 7 }, failed: 8, news: 'gave-up', failedAfter: 8 },
    { name: 'several at once, up to the limit (a missed event)', known: { failed: 2 }, failed: 8, news: 'gave-up', failedAfter: 8 },
    { name: 'past the limit (VolSync was slower than the Job controller)', known: { failed: 7 }, failed: 9, news: 'gave-up', failedAfter: 9 },
    { name: 'a Job first seen at its limit reports nothing more (VolSync did)', known: { firstFailed: 8, failed: 8 }, failed: 9, failedAfter: 9 },
    { name: 'the same count again (a pod started, the DELETED event)', known: { failed: 3 }, failed: 3, failedAfter: 3 },
    { name: 'no count is no change', known: { failed: 0 }, failed: undefined, failedAfter: 0 },
    { name: 'a lower count is ignored', known: { failed: 4 }, failed: 2, failedAfter: 4 },
    { name: 'another backoffLimit: the Job’s own', known: { failed: 2, limit: 3 }, failed: 3, news: 'gave-up', failedAfter: 3 },
  ]
  it.each(cases)('$name', ({ known, failed, news, failedAfter }) => {
    const before = track(known)
    const out = trackJob(before, job(failed))
    expect(out.news?.kind).toBe(news)
    expect(out.track.failed).toBe(failedAfter)
    expect(out.track.firstFailed).toBe(before.firstFailed)
    if (news) expect(out.news?.job).toBe(out.track)
  })
})

describe('latestFailedPod', () => {
  const [older, newer] = PODS as [JobPod, JobPod]
  const running: JobPod = { ...newer, metadata: { ...newer.metadata, name: 'volsync-src-odoo-backup-zz9zz' }, status: { phase: 'Running' } }
  const noFinish: JobPod = {
    ...older,
    metadata: { ...older.metadata, name: 'volsync-src-odoo-backup-aaaaa', creationTimestamp: '2026-11-26T03:00:00Z' },
    status: { phase: 'Failed' },
  }
  it.each([
    { name: 'the newest finish, not the last name', pods: [older, newer], pick: 'volsync-src-odoo-backup-f2j87' },
    { name: 'in any order', pods: [newer, older], pick: 'volsync-src-odoo-backup-f2j87' },
    { name: 'a running pod is not a failed attempt', pods: [older, running], pick: 'volsync-src-odoo-backup-q5xnb' },
    { name: 'without a finish time, by creation', pods: [noFinish], pick: 'volsync-src-odoo-backup-aaaaa' },
    { name: 'none', pods: [running], pick: undefined },
    { name: 'no pods (the Job was deleted)', pods: [], pick: undefined },
  ])('$name', ({ pods, pick }) => {
    expect(latestFailedPod(pods)?.metadata.name).toBe(pick)
  })
  it('reads the fixture as recorded: both pods Failed, of our Job', () => {
    expect(PODS.map((p) => [p.status?.phase, controllerUid(p)])).toEqual([
      ['Failed', JOB_UID],
      ['Failed', JOB_UID],
    ])
  })
})

describe('gaveUpLog: which log to show for a Job at its limit', () => {
  const failed = (logs: string): MoverStatus => ({ result: 'Failed', logs })
  it.each([
    { name: 'VolSync’s record, when it is new', podLog: BADPASS, mover: failed(LOCKED), baseline: failed(BADPASS), log: LOCKED },
    { name: 'VolSync’s first Failed', podLog: BADPASS, mover: failed(LOCKED), baseline: { result: 'Successful', logs: 'x' }, log: LOCKED },
    { name: 'VolSync’s first Failed, no baseline', podLog: '', mover: failed(LOCKED), baseline: undefined, log: LOCKED },
    { name: 'else the pod’s log (the record looks as before)', podLog: BADPASS, mover: failed(LOCKED), baseline: failed(LOCKED), log: BADPASS },
    { name: 'else the pod’s log (no Failed yet)', podLog: BADPASS, mover: { result: 'Successful', logs: 'ok' }, baseline: undefined, log: BADPASS },
    { name: 'else nothing', podLog: '', mover: failed(LOCKED), baseline: failed(LOCKED), log: '' },
  ])('$name', ({ podLog, mover, baseline, log }) => {
    expect(gaveUpLog(podLog, mover, baseline)).toBe(log)
  })
})

describe('the Job fixture has the shape VolSync and the 1.35 API server give it', () => {
  it('labels, controller owner, backoffLimit 8, template labels of the Job controller', () => {
    expect(JOB.metadata.labels).toEqual({ 'app.kubernetes.io/created-by': 'volsync', 'volsync.backube/cleanup': RS_UID })
    expect(JOB.metadata.ownerReferences).toEqual([
      { apiVersion: 'volsync.backube/v1alpha1', blockOwnerDeletion: true, controller: true, kind: 'ReplicationSource', name: 'odoo-backup', uid: RS_UID },
    ])
    const spec = JOB.spec as Record<string, unknown> & { template: { metadata: { labels: Record<string, string> } } }
    expect(spec.backoffLimit).toBe(8)
    expect(spec.template.metadata.labels['batch.kubernetes.io/controller-uid']).toBe(JOB_UID)
    expect(JOB.status).toEqual({ active: 1, ready: 0, startTime: '2026-11-26T03:59:00Z', terminating: 0, uncountedTerminatedPods: {} })
  })
})
