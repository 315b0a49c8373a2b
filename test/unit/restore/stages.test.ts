import { describe, expect, it } from 'vitest'
import { HELD_LAYERS, ending, pvcState, type EndingFacts, type Stage, type Verdict } from '../../../lib/restore/stages.ts'

const FACTS: EndingFacts = {
  namespace: 'business',
  pvc: 'odoo-data',
  source: 'business/odoo-backup',
  destination: 'odoo-restore-20261126040000',
  keep: false,
  adopted: false,
  intruders: [],
  rerun: 'task volsync:restore APP=odoo NAMESPACE=business SNAPSHOT=7c2d9e41 CLUSTER=apps',
  resume: 'task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps',
  deleteDestination: 'kubectl delete replicationdestinations.volsync.backube odoo-restore-20261126040000 -n business',
}

describe('pvcState: what the PVC holds when the restore ends', () => {
  it.each([
    // no ReplicationDestination yet: the PVC is as it was (partial already, for a held app taken over)
    { stage: 'quiescing', adopted: false, state: 'untouched' },
    { stage: 'quiescing', adopted: true, state: 'partial' },
    // the create may have reached the server; once it exists the mover may write
    { stage: 'creating', state: 'partial' },
    { stage: 'restoring', state: 'partial' },
    { stage: 'restored', verdict: 'restored', state: 'restored' },
    { stage: 'restored', verdict: 'restored', intruders: ['pod x (no controller)'], state: 'suspect' },
    { stage: 'restored', verdict: 'nothing', state: 'untouched' },
    { stage: 'restored', verdict: 'nothing', adopted: true, state: 'partial' },
    { stage: 'restored', verdict: 'other', state: 'other' },
    { stage: 'restored', verdict: 'failed', state: 'partial' },
  ] as { stage: Stage; adopted?: boolean; verdict?: Verdict; intruders?: string[]; state: string }[])(
    '$stage $verdict adopted=$adopted intruders=$intruders -> $state',
    ({ stage, adopted = false, verdict, intruders = [], state }) => {
      expect(pvcState(stage, { adopted, verdict, intruders })).toBe(state)
    },
  )
})

describe('ending: put back, or HOLD the app', () => {
  const KEPT =
    'KEEP=true: kept ReplicationDestination business/odoo-restore-20261126040000 (its sync is done; it will not run again). Delete it with:\n' +
    '  kubectl delete replicationdestinations.volsync.backube odoo-restore-20261126040000 -n business'
  const DELETED_ANYWAY =
    'KEEP=true: the ReplicationDestination is deleted anyway: its restore did not finish, and VolSync would retry it.'

  it('a finished restore puts everything back', () => {
    expect(ending('restored', { ...FACTS, verdict: 'restored' })).toEqual({ keep: [], hold: false, pvcMayBePartial: false, warnings: [], notes: [] })
  })
  it('a finished restore with KEEP keeps the ReplicationDestination and says how to delete it', () => {
    expect(ending('restored', { ...FACTS, keep: true, verdict: 'restored' })).toEqual({
      keep: ['destination'],
      hold: false,
      pvcMayBePartial: false,
      warnings: [],
      notes: [KEPT],
    })
  })
  it('a restore that stopped before the ReplicationDestination existed puts everything back', () => {
    expect(ending('quiescing', { ...FACTS, keep: true, why: 'interrupted' })).toEqual({
      keep: [],
      hold: false,
      pvcMayBePartial: false,
      warnings: [],
      notes: [],
    })
  })
  it('a mover that restored nothing left the PVC as it was: everything is put back', () => {
    expect(ending('restored', { ...FACTS, verdict: 'nothing' }).hold).toBe(false)
  })

  it.each([
    ['stopped while restoring (Ctrl-C, timeout, stall, lost contact)', 'restoring', {}],
    ['stopped at a create whose answer does not say it was refused', 'creating', {}],
    ['a failed mover that completed', 'restored', { verdict: 'failed' }],
  ] as [string, Stage, Partial<EndingFacts>][])('%s: HOLDS the app, deletes only the destination, and says both ways on', (_name, stage, facts) => {
    const end = ending(stage, { ...FACTS, ...facts, why: 'interrupted (Ctrl-C)' })
    expect(end.hold).toBe(true)
    expect(end.pvcMayBePartial).toBe(true)
    expect(end.keep).toEqual([...HELD_LAYERS])
    expect(end.keep).not.toContain('destination')
    expect(end.keep).not.toContain('marker')
    expect(end.reason).toBe('it stopped before its mover finished: interrupted (Ctrl-C)')
    const [text] = end.warnings
    expect(text).toContain('odoo-data may be PARTIALLY restored')
    expect(text).toContain('The app is HELD')
    expect(text).toContain('recorded on ReplicationSource business/odoo-backup (annotation volsync-ops/restore)')
    expect(text).toContain(`Restore it completely (the same snapshot):\n  ${FACTS.rerun}`)
    expect(text).toContain(`Or give the app back with the data as it is now:\n  ${FACTS.resume}`)
    expect(text).toContain('restic lock')
  })

  it('a held app taken over stays held when the new restore stops before its ReplicationDestination exists', () => {
    const end = ending('quiescing', { ...FACTS, adopted: true, why: 'interrupted (Ctrl-C)' })
    expect(end).toMatchObject({ hold: true, keep: [...HELD_LAYERS], reason: 'a restore that took the held app over stopped: interrupted (Ctrl-C)' })
  })

  it('another snapshot than planned: held, and it says which one the PVC holds', () => {
    const end = ending('restored', { ...FACTS, verdict: 'other', restoredInstead: '4b1e6f2a' })
    expect(end.hold).toBe(true)
    expect(end.reason).toBe('the mover restored snapshot 4b1e6f2a instead of the planned one')
    expect(end.warnings[0]).toMatch(/^odoo-data holds snapshot 4b1e6f2a, not the one planned\./)
  })

  it('other pods mounted the PVC during a restore that finished: held for the operator to check', () => {
    const end = ending('restored', { ...FACTS, verdict: 'restored', intruders: ['pod debug (no controller)'] })
    expect(end.hold).toBe(true)
    expect(end.reason).toBe('other pods mounted odoo-data during the restore: pod debug (no controller)')
    expect(end.warnings[0]).toContain('Other pods mounted odoo-data while the mover restored it (pod debug (no controller))')
  })

  it('KEEP with a hold: an unfinished destination goes anyway, a finished one stays', () => {
    expect(ending('restoring', { ...FACTS, keep: true }).notes).toEqual([DELETED_ANYWAY])
    const other = ending('restored', { ...FACTS, keep: true, verdict: 'other', restoredInstead: '4b1e6f2a' })
    expect(other.keep).toEqual(['destination', ...HELD_LAYERS])
    expect(other.notes).toEqual([KEPT])
  })
})
