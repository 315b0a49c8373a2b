import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../lib/errors.ts'
import type { SuspendDecision } from '../../../lib/restore/flux.ts'
import {
  blockersText,
  confirmationMode,
  isYes,
  partialRestoreText,
  planText,
  rerunCommand,
  snapshotText,
  type RestorePlan,
} from '../../../lib/restore/plan.ts'
import type { Workload } from '../../../lib/restore/workloads.ts'
import { withOffsets, type ListedSnapshot } from '../../../lib/snapshots/restic.ts'

const [snap7c, snap4b] = withOffsets([
  { id: '4b1e6f2a9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f', short_id: '4b1e6f2a', time: '2026-11-25T12:00:07.112233445Z', paths: ['/data'] },
  { id: '7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1', short_id: '7c2d9e41', time: '2026-11-25T20:00:05.998877665Z', paths: ['/data'] },
]) as [ListedSnapshot, ListedSnapshot]
const now = new Date('2026-11-25T23:00:00Z')

// ---------------------------------------------------------------- confirmation

describe('confirmationMode', () => {
  it.each([
    [{ yes: true, dryRun: false, output: 'table' }, false, 'skip'],
    [{ yes: true, dryRun: false, output: 'table' }, true, 'skip'],
    [{ yes: false, dryRun: true, output: 'table' }, false, 'skip'],
    [{ yes: false, dryRun: false, output: 'table' }, true, 'ask'],
    [{ yes: true, dryRun: false, output: 'json' }, false, 'skip'],
    [{ yes: false, dryRun: true, output: 'json' }, true, 'skip'],
  ] as const)('%o on a terminal: %s -> %s', (opts, tty, expected) => {
    expect(confirmationMode(opts, tty)).toBe(expected)
  })
  it('refuses (exit 2) with neither YES, DRY_RUN nor a terminal, and says what to run', () => {
    expect(() => confirmationMode({ yes: false, dryRun: false, output: 'table' }, false)).toThrow(UsageError)
    expect(() => confirmationMode({ yes: false, dryRun: false, output: 'table' }, false)).toThrow(/DRY_RUN=true .* YES=true/)
  })
  it('refuses (exit 2) JSON output without YES or DRY_RUN, even on a terminal: there is no plan to confirm', () => {
    expect(() => confirmationMode({ yes: false, dryRun: false, output: 'json' }, true)).toThrow(UsageError)
    expect(() => confirmationMode({ yes: false, dryRun: false, output: 'json' }, true)).toThrow(/prints no plan to confirm: add YES=true/)
  })
})

describe('isYes', () => {
  it.each([
    ['y', true], ['Y', true], ['yes', true], [' YES ', true],
    ['', false], ['n', false], ['no', false], ['yy', false], ['ye', false], ['sure', false], ['y es', false],
  ])('%j -> %s', (answer, expected) => {
    expect(isYes(answer)).toBe(expected)
  })
})

// ---------------------------------------------------------------- plan

const deployment: Workload = { kind: 'Deployment', name: 'odoo', namespace: 'business', replicas: 2, labels: {}, pods: ['odoo-a', 'odoo-b'] }
const report: Workload = { kind: 'Deployment', name: 'odoo-report', namespace: 'business', replicas: 0, labels: {}, pods: [] }
const suspendKs: SuspendDecision = { action: 'suspend', ref: { kind: 'Kustomization', name: 'odoo', namespace: 'flux-system' }, suspendWasSet: false }
const leaveHr: SuspendDecision = {
  action: 'leave',
  ref: { kind: 'HelmRelease', name: 'odoo-cron', namespace: 'business' },
  reason: 'already suspended: left as it is',
}

const plan = (over: Partial<RestorePlan> = {}): RestorePlan => ({
  cluster: 'apps',
  clusterHow: 'kubeconfig ./kubeconfig-apps',
  namespace: 'business',
  source: 'business/odoo-backup',
  sourceHow: 'named odoo-backup (<APP>-backup)',
  sourcePaused: false,
  pvc: 'odoo-data',
  pvcSize: '10Gi',
  repository: 'volsync-r2-secret',
  point: { previous: 0, restoreAsOf: '2026-11-25T20:00:05Z', snapshot: snap7c },
  workloads: [deployment, report],
  flux: [suspendKs, leaveHr],
  destination: 'odoo-restore-20261125230000',
  keep: false,
  dryRun: false,
  ...over,
})

describe('planText', () => {
  it('names the cluster, PVC, exact snapshot, what stops, what is suspended, and the deletion of extra files', () => {
    expect(planText(plan(), now)).toBe(
      [
        'Restore plan (nothing has changed yet):',
        '  cluster       apps (kubeconfig ./kubeconfig-apps)',
        '  namespace     business',
        '  source        ReplicationSource business/odoo-backup, named odoo-backup (<APP>-backup)',
        '  PVC           odoo-data (10Gi): its data is replaced',
        '  snapshot      7c2d9e41 of 2026-11-25 20:00:05 UTC (2h59m ago)',
        '                full id 7c2d9e41b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1',
        '                selected by restoreAsOf: 2026-11-25T20:00:05Z, previous: 0, as the VolSync mover will',
        '  repository    Secret business/volsync-r2-secret (from business/odoo-backup)',
        '  stop          deployment odoo: 2 -> 0 replicas, then back to 2',
        '                deployment odoo-report: already at 0 replicas (left at 0)',
        '  pause         ReplicationSource business/odoo-backup (no scheduled backup during the restore), unpaused afterwards',
        '  suspend       kustomization flux-system/odoo, resumed afterwards',
        '                helmrelease business/odoo-cron: already suspended: left as it is',
        '  restore with  ReplicationDestination business/odoo-restore-20261125230000 (deleted afterwards)',
        '',
        'Files in odoo-data that are not in snapshot 7c2d9e41 will be DELETED (enableFileDeletion): the PVC ends up equal to the snapshot.',
        'The app is down until the restore ends; then it is scaled back and Flux is resumed.',
      ].join('\n'),
    )
  })

  it('says so when nothing uses the PVC, for a dry run, and with KEEP', () => {
    const text = planText(plan({ workloads: [], flux: [], dryRun: true, keep: true, pvcSize: undefined, point: { previous: 1, snapshot: snap4b } }), now)
    expect(text).toContain('Dry run: the restore would do this (nothing has changed yet):')
    expect(text).toContain('  PVC           odoo-data: its data is replaced')
    expect(text).toContain('  stop          nothing: no running Deployment or StatefulSet uses the PVC')
    expect(text).toContain('selected by previous: 1, as the VolSync mover will')
    expect(text).toContain('(kept afterwards: KEEP=true)')
    expect(text).not.toContain('The app is down')
  })

  it('names the rule that found the source, when it is known', () => {
    expect(planText(plan({ sourceHow: 'labelled app.kubernetes.io/name=odoo' }), now)).toContain(
      '  source        ReplicationSource business/odoo-backup, labelled app.kubernetes.io/name=odoo\n',
    )
    expect(planText(plan({ sourceHow: undefined }), now)).not.toContain('  source ')
  })

  it('leaves a paused ReplicationSource paused', () => {
    expect(planText(plan({ sourcePaused: true }), now)).toContain(
      '  pause         ReplicationSource business/odoo-backup: paused already, left paused',
    )
  })

  it('labels Flux objects it leaves alone when it suspends none', () => {
    expect(planText(plan({ flux: [leaveHr] }), now)).toContain('  Flux          helmrelease business/odoo-cron: already suspended: left as it is')
  })
})

describe('snapshotText', () => {
  it('gives the short id, the UTC time to the second, and the age', () => {
    expect(snapshotText(snap4b, now)).toBe('4b1e6f2a of 2026-11-25 12:00:07 UTC (10h59m ago)')
  })
})

describe('blockersText', () => {
  const STATUS = 'task volsync:status NAMESPACE=business CLUSTER=apps'
  it('lists the pods and says to stop them', () => {
    expect(blockersText('odoo-data', [{ pod: 'migrate-x', owner: 'Job migrate', volsyncMover: false }], STATUS)).toBe(
      [
        'odoo-data is in use by pods that no Deployment or StatefulSet runs, so this tool cannot stop them:',
        '  pod migrate-x (Job migrate)',
        'Stop them yourself, then run the restore again.',
      ].join('\n'),
    )
  })
  it('says to wait for a VolSync mover', () => {
    const text = blockersText('odoo-data', [{ pod: 'volsync-src-x', owner: 'Job volsync-src-odoo-backup', volsyncMover: true }], STATUS)
    expect(text).toContain('  pod volsync-src-x (Job volsync-src-odoo-backup: a VolSync mover)')
    expect(text).toContain(`wait until it ends, then run the restore again. Follow it with:\n  ${STATUS}`)
  })
})

// ---------------------------------------------------------------- afterwards

describe('rerunCommand', () => {
  it('restores the same snapshot, by full id, in the same namespace', () => {
    expect(rerunCommand('odoo', 'business', snap7c.id, { cluster: 'apps' })).toBe(
      `task volsync:restore APP=odoo NAMESPACE=business SNAPSHOT=${snap7c.id} CLUSTER=apps`,
    )
  })
  it('quotes a kubeconfig path for a POSIX shell', () => {
    expect(rerunCommand('odoo', 'business', 'abc', { cluster: 'apps', kubeconfig: '/tmp/with space/kc' })).toBe(
      "task volsync:restore APP=odoo NAMESPACE=business SNAPSHOT=abc CLUSTER=apps KUBECONFIG='/tmp/with space/kc'",
    )
  })
})

describe('partialRestoreText', () => {
  it('warns that the PVC may be partial and gives the command to finish', () => {
    const text = partialRestoreText('odoo-data', true, 'task volsync:restore APP=odoo')
    expect(text).toContain('odoo-data may be PARTIALLY restored')
    expect(text).toContain('then starts the app again on that PVC')
    expect(text).toContain('\n  task volsync:restore APP=odoo')
  })
  it('does not speak of starting an app that was not running', () => {
    expect(partialRestoreText('odoo-data', false, 'x')).not.toContain('starts the app')
  })
})
