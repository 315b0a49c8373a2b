import { describe, expect, it } from 'vitest'
import { judgeRestore, restoreReport, sameSnapshot } from '../../../lib/restore/outcome.ts'
import type { Workload } from '../../../lib/restore/workloads.ts'
import { withOffsets, type ListedSnapshot } from '../../../lib/snapshots/restic.ts'
import { readMoverLogs } from '../../../lib/volsync/mover-log.ts'

const LIST = "task volsync:list APP=odoo NAMESPACE=business CLUSTER=apps KUBECONFIG='/k/kube config'"

const [snap7c, snap4b] = withOffsets([
  { id: '4b1e6f2a9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f', short_id: '4b1e6f2a', time: '2026-11-25T12:00:07.112233445Z', paths: ['/data'] },
  { id: '7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1', short_id: '7c2d9e41', time: '2026-11-25T20:00:05.998877665Z', paths: ['/data'] },
]) as [ListedSnapshot, ListedSnapshot]
// ---------------------------------------------------------------- confirmation

// ---------------------------------------------------------------- outcome

const deployment: Workload = { kind: 'Deployment', name: 'odoo', namespace: 'business', replicas: 2, labels: {}, pods: ['odoo-a', 'odoo-b'] }
const report: Workload = { kind: 'Deployment', name: 'odoo-report', namespace: 'business', replicas: 0, labels: {}, pods: [] }

describe('judgeRestore', () => {
  const outcome = (logs: string, result = 'Successful') => ({ result, logs, facts: readMoverLogs(logs) })
  const restic018 = (id: string) =>
    `RESTORE_OPTIONS: --delete\nrestoring snapshot ${id} of [/data] at 2026-11-25 20:00:05.998877665 +0000 UTC by root@volsync to .\nRestic completed in 41s`

  it.each([
    ['restic 0.18 names the planned snapshot', restic018('7c2d9e41')],
    ['restic before 0.17 names it', 'restoring <Snapshot 7c2d9e41 of [/data] at 2026-11-25 20:00:05.998877665 +0000 UTC by root@volsync> to .\nRestic completed in 41s'],
    ['a full id', restic018('7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1')],
  ])('succeeds when %s', (_what, logs) => {
    expect(judgeRestore(outcome(logs), snap7c, 'business/odoo-data', LIST)).toEqual({
      ok: true,
      kind: 'restored',
      message: 'Restored snapshot 7c2d9e41 of 2026-11-25 20:00:05 UTC into business/odoo-data',
    })
  })

  it.each([
    ['No eligible snapshots (VolSync says Successful)', 'No eligible snapshots found\n=== No data will be restored ===\nRestic completed in 1s', /^NOTHING WAS RESTORED: the mover found no eligible snapshot/, true, 'nothing'],
    ['only "No data will be restored"', '=== No data will be restored ===', /^NOTHING WAS RESTORED: the mover found no eligible snapshot/, true, 'nothing'],
    ['Initialize Dir: a new, empty repository', '=== Initialize Dir ===\ncreated restic repository 54a431813a at s3:x\nNo eligible snapshots found', /created a new, empty one .*Check RESTIC_REPOSITORY/, true, 'nothing'],
    ['no restoring line (an older log filter, or nothing done)', 'Restic completed in 1s', /names no restored snapshot .*NOT restored/, true, 'nothing'],
    ['an empty log', '', /names no restored snapshot/, true, 'nothing'],
    ['another snapshot than planned', restic018('4b1e6f2a'), /^THE MOVER RESTORED A DIFFERENT SNAPSHOT: planned 7c2d9e41 .* restored 4b1e6f2a\. business\/odoo-data now holds snapshot 4b1e6f2a/, false, 'other'],
  ])('fails on %s', (_what, logs, message, nothingRestored, kind) => {
    const verdict = judgeRestore(outcome(logs), snap7c, 'business/odoo-data', LIST)
    expect(verdict.ok).toBe(false)
    if (verdict.ok) return
    expect(verdict.message).toMatch(message)
    expect(verdict.kind).toBe(kind)
    expect(verdict.nothingRestored).toBe(nothingRestored)
    expect(verdict.details).toBe(logs.trim() || '(the mover left no log)')
  })

  it("says how to list the snapshots again, on the run's cluster, when they changed since the listing", () => {
    for (const logs of ['No eligible snapshots found', restic018('4b1e6f2a')]) {
      const verdict = judgeRestore(outcome(logs), snap7c, 'business/odoo-data', LIST)
      expect(!verdict.ok && verdict.message).toContain(`:\n  ${LIST}\nThe mover log:`)
    }
  })

  it('fails on a Failed result, whatever the log says', () => {
    const verdict = judgeRestore(outcome(restic018('7c2d9e41'), 'Failed'), snap7c, 'business/odoo-data', LIST)
    expect(verdict).toMatchObject({ ok: false, kind: 'failed', nothingRestored: false, message: expect.stringMatching(/mover failed.*partially restored/) })
  })
})

describe('restoreReport', () => {
  const input = {
    cluster: 'apps',
    namespace: 'business',
    source: 'business/odoo-backup',
    pvc: 'odoo-data',
    destination: 'odoo-restore-20261125230000',
    point: { previous: 0, restoreAsOf: '2026-11-25T20:00:05Z', snapshot: snap7c },
    workloads: [deployment, report],
    dryRun: false,
    kept: false,
  }
  const plan = {
    cluster: 'apps',
    namespace: 'business',
    source: 'business/odoo-backup',
    pvc: 'odoo-data',
    destination: 'odoo-restore-20261125230000',
    snapshot: { id: snap7c.id, shortId: '7c2d9e41', time: '2026-11-25T20:00:05.998877665Z' },
    previous: 0,
    restoreAsOf: '2026-11-25T20:00:05Z',
    workloads: [
      { kind: 'Deployment', name: 'odoo', replicas: 2 },
      { kind: 'Deployment', name: 'odoo-report', replicas: 0 },
    ],
  }
  const restoring = (id: string) => `restoring snapshot ${id} of [/data] at 2026-11-25 20:00:05.998877665 +0000 UTC by root@volsync to .`
  const result = (logs: string, durationMs: number | null = 41_600) => {
    const outcome = { result: 'Successful', logs, facts: readMoverLogs(logs), durationMs }
    return { outcome, verdict: judgeRestore(outcome, snap7c, 'business/odoo-data', LIST) }
  }

  it('of a dry run: the plan, nothing restored, ok', () => {
    expect(restoreReport({ ...input, dryRun: true })).toEqual({
      ...plan,
      dryRun: true,
      kept: false,
      restored: false,
      restoredSnapshot: null,
      durationSeconds: null,
      pvcMayBePartial: false,
      ok: true,
      message: 'dry run: nothing was changed',
      held: false,
    })
  })
  it('of a restore of the planned snapshot: restored, with its id and the duration in seconds', () => {
    expect(restoreReport({ ...input, kept: true }, { ...result(restoring('7c2d9e41')), pvcMayBePartial: false, held: false })).toEqual({
      ...plan,
      dryRun: false,
      kept: true,
      restored: true,
      restoredSnapshot: '7c2d9e41',
      durationSeconds: 42,
      pvcMayBePartial: false,
      ok: true,
      message: 'Restored snapshot 7c2d9e41 of 2026-11-25 20:00:05 UTC into business/odoo-data',
      held: false,
    })
  })
  it.each([
    ['another snapshot than planned (the app is held)', restoring('4b1e6f2a'), '4b1e6f2a', /^THE MOVER RESTORED A DIFFERENT SNAPSHOT/, true],
    ['no eligible snapshot', 'No eligible snapshots found\n=== No data will be restored ===', null, /^NOTHING WAS RESTORED/, false],
  ])('of %s: not ok, not restored, the verdict as message', (_what, logs, restoredSnapshot, message, held) => {
    const r = restoreReport(input, { ...result(logs, null), pvcMayBePartial: held, held })
    expect(r).toMatchObject({ ok: false, restored: false, restoredSnapshot, durationSeconds: null, dryRun: false, pvcMayBePartial: held, held })
    expect(r.message).toMatch(message)
  })
  it('of the planned snapshot restored while other pods used the PVC: restored, but not ok, and held', () => {
    const r = restoreReport(input, { ...result(restoring('7c2d9e41')), pvcMayBePartial: true, held: true })
    expect(r).toMatchObject({ ok: false, restored: true, pvcMayBePartial: true, held: true })
  })
  it.each([
    ['before the mover ran (Ctrl-C while the pods stop)', 'interrupted while waiting for the pods of business/odoo-data to stop', false],
    ['while the mover ran (timeout)', 'timed out after 2h waiting for the restore of business/odoo-restore-20261125230000', true],
  ])('of a restore that stopped %s: not ok, not restored, the error as message, and whether the PVC may be partial', (_when, stopped, partial) => {
    expect(restoreReport(input, { stopped, pvcMayBePartial: partial, held: partial })).toEqual({
      ...plan,
      dryRun: false,
      kept: false,
      restored: false,
      restoredSnapshot: null,
      durationSeconds: null,
      pvcMayBePartial: partial,
      ok: false,
      message: stopped,
      held: partial,
    })
  })
  it('says previous and no restoreAsOf for an offset', () => {
    const r = restoreReport({ ...input, point: { previous: 1, snapshot: snap4b } })
    expect(r).toMatchObject({ previous: 1, restoreAsOf: null, snapshot: { shortId: '4b1e6f2a' } })
  })
})

describe('sameSnapshot', () => {
  it.each([
    ['7c2d9e41', true],
    ['7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1', true],
    ['7c2d9e42', false],
    ['4b1e6f2a', false],
  ])('%s is the planned 7c2d9e41…: %s', (id, expected) => {
    expect(sameSnapshot(id, snap7c)).toBe(expected)
  })
})
