import { describe, expect, it } from 'vitest'
import { ending, heldBack, type Stage } from '../../../lib/restore/stages.ts'

const WHERE = { namespace: 'business', destination: 'odoo-restore-20261126040000', pvc: 'odoo-data' }
const FACTS = {
  namespace: 'business',
  pvc: 'odoo-data',
  destination: 'odoo-restore-20261126040000',
  keep: false,
  workloadsStopped: true,
  rerun: 'task volsync:restore APP=odoo SNAPSHOT=7c2d9e41 CLUSTER=apps',
  deleteDestination: 'kubectl delete replicationdestinations.volsync.backube odoo-restore-20261126040000 -n business',
}

describe('heldBack: nothing starts the app while the restore mover may still write into the PVC', () => {
  const HELD = 'ReplicationDestination business/odoo-restore-20261126040000 could not be deleted; its mover may still write into odoo-data'
  it.each([
    { stage: 'quiescing', deleted: false, held: undefined },
    // the create may have reached the server before it failed: it may exist
    { stage: 'creating', deleted: false, held: HELD },
    { stage: 'creating', deleted: true, held: undefined },
    { stage: 'restoring', deleted: false, held: HELD },
    { stage: 'restoring', deleted: true, held: undefined },
    // its sync completed: the mover is done, whether or not it could be deleted
    { stage: 'restored', deleted: false, held: undefined },
  ] as { stage: Stage; deleted: boolean; held?: string }[])('$stage, deleted $deleted', ({ stage, deleted, held }) => {
    expect(heldBack(stage, deleted, WHERE)).toBe(held)
  })
})

describe('ending: how a restore ends from the stage it reached', () => {
  const PARTIAL =
    'The restore did not finish: odoo-data may be PARTIALLY restored (some files from the snapshot, some as they were).\n' +
    'The clean-up below deletes the ReplicationDestination (which stops the mover), then starts the app again on that PVC.\n' +
    'To restore it completely, run again:\n  task volsync:restore APP=odoo SNAPSHOT=7c2d9e41 CLUSTER=apps'
  const KEPT =
    'KEEP=true: kept ReplicationDestination business/odoo-restore-20261126040000 (its sync is done; it will not run again). Delete it with:\n' +
    '  kubectl delete replicationdestinations.volsync.backube odoo-restore-20261126040000 -n business'
  const DELETED_ANYWAY =
    'KEEP=true: the ReplicationDestination is deleted anyway: its restore did not finish, and VolSync would retry it while the app runs.'
  it.each([
    { name: 'finished: everything is put back', stage: 'restored', keep: false, end: { keep: [], pvcMayBePartial: false, warnings: [], notes: [] } },
    { name: 'finished with KEEP: the destination stays, and how to delete it is said', stage: 'restored', keep: true, end: { keep: ['destination'], pvcMayBePartial: false, warnings: [], notes: [KEPT] } },
    { name: 'stopped while restoring: the PVC may be partial, and how to run it again is said', stage: 'restoring', keep: false, end: { keep: [], pvcMayBePartial: true, warnings: [PARTIAL], notes: [] } },
    { name: 'stopped while restoring with KEEP: the destination goes anyway', stage: 'restoring', keep: true, end: { keep: [], pvcMayBePartial: true, warnings: [PARTIAL], notes: [DELETED_ANYWAY] } },
    { name: 'stopped at the create (refused): nothing was written into the PVC', stage: 'creating', keep: true, end: { keep: [], pvcMayBePartial: false, warnings: [], notes: [] } },
    { name: 'stopped while quiescing: everything is put back', stage: 'quiescing', keep: false, end: { keep: [], pvcMayBePartial: false, warnings: [], notes: [] } },
  ] as { name: string; stage: Stage; keep: boolean; end: unknown }[])('$name', ({ stage, keep, end }) => {
    expect(ending(stage, { ...FACTS, keep })).toEqual(end)
  })

  it('without stopped workloads, the warning does not promise to start the app', () => {
    expect(ending('restoring', { ...FACTS, workloadsStopped: false }).warnings[0]).toContain(
      'The clean-up below deletes the ReplicationDestination (which stops the mover).\n',
    )
  })
})
