import { describe, expect, it } from 'vitest'
import type { Pod } from '../../../lib/pods.ts'
import {
  claimFromTemplate,
  claimReleasedCheck,
  findClaimUsers,
  podsUsingClaim,
  scaleBackDecision,
  stillUsingText,
  type AppsObject,
  type PodStreamItem,
} from '../../../lib/restore/workloads.ts'

// ---------------------------------------------------------------- builders

const owner = (kind: string, name: string, uid = `${name}-uid`) => ({
  apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1',
  kind,
  name,
  uid,
  controller: true,
})

function pod(name: string, opts: { claim?: string; owner?: ReturnType<typeof owner>; phase?: string; labels?: Record<string, string>; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'business',
      labels: opts.labels,
      ownerReferences: opts.owner ? [opts.owner] : undefined,
      deletionTimestamp: opts.deleting ? '2026-11-26T10:00:30Z' : undefined,
    },
    spec: {
      volumes: [
        ...(opts.claim ? [{ name: 'data', persistentVolumeClaim: { claimName: opts.claim } }] : []),
        { name: 'kube-api-access-x1y2z' },
      ],
    },
    status: { phase: (opts.phase ?? 'Running') as NonNullable<Pod['status']>['phase'] },
  }
}

function workload(kind: 'Deployment' | 'StatefulSet' | 'ReplicaSet', name: string, opts: { replicas?: number; claim?: string; owner?: ReturnType<typeof owner>; labels?: Record<string, string>; vct?: string } = {}): AppsObject {
  return {
    kind,
    metadata: { name, namespace: 'business', uid: `${name}-uid`, labels: opts.labels, ownerReferences: opts.owner ? [opts.owner] : undefined },
    spec: {
      ...(opts.replicas === undefined ? {} : { replicas: opts.replicas }),
      template: { spec: { volumes: opts.claim ? [{ name: 'data', persistentVolumeClaim: { claimName: opts.claim } }] : [] } },
      ...(opts.vct ? { volumeClaimTemplates: [{ metadata: { name: opts.vct } }] } : {}),
    },
  }
}

const odooApps = [
  workload('Deployment', 'odoo', { replicas: 2, claim: 'odoo-data', labels: { 'kustomize.toolkit.fluxcd.io/name': 'odoo' } }),
  workload('ReplicaSet', 'odoo-5d8f', { replicas: 2, claim: 'odoo-data', owner: owner('Deployment', 'odoo') }),
  workload('StatefulSet', 'odoo-cron', { replicas: 1, claim: 'odoo-data' }),
  workload('Deployment', 'redis', { replicas: 1 }),
  workload('ReplicaSet', 'redis-7f6d', { replicas: 1, owner: owner('Deployment', 'redis') }),
]

// ---------------------------------------------------------------- discovery

describe('findClaimUsers', () => {
  it('walks Pod -> ReplicaSet -> Deployment and Pod -> StatefulSet, recording the replica counts', () => {
    const pods = [
      pod('odoo-5d8f-a', { claim: 'odoo-data', owner: owner('ReplicaSet', 'odoo-5d8f') }),
      pod('odoo-5d8f-b', { claim: 'odoo-data', owner: owner('ReplicaSet', 'odoo-5d8f') }),
      pod('odoo-cron-0', { claim: 'odoo-data', owner: owner('StatefulSet', 'odoo-cron') }),
      pod('redis-7f6d-c', { owner: owner('ReplicaSet', 'redis-7f6d') }),
    ]
    const users = findClaimUsers('odoo-data', pods, odooApps)
    expect(users.blockers).toEqual([])
    expect(users.workloads.map((w) => [w.kind, w.name, w.replicas, w.pods])).toEqual([
      ['Deployment', 'odoo', 2, ['odoo-5d8f-a', 'odoo-5d8f-b']],
      ['StatefulSet', 'odoo-cron', 1, ['odoo-cron-0']],
    ])
    expect(users.workloads[0]!.labels).toEqual({ 'kustomize.toolkit.fluxcd.io/name': 'odoo' })
  })

  it.each([
    ['a Deployment scaled to 0 whose template references the claim', workload('Deployment', 'report', { replicas: 0, claim: 'odoo-data' }), ['Deployment', 'report', 0]],
    ['a StatefulSet without pods yet', workload('StatefulSet', 'cron', { replicas: 1, claim: 'odoo-data' }), ['StatefulSet', 'cron', 1]],
    ['a Deployment without spec.replicas (defaults to 1)', workload('Deployment', 'web', { claim: 'odoo-data' }), ['Deployment', 'web', 1]],
    ['a StatefulSet whose volumeClaimTemplate makes the claim', workload('StatefulSet', 'db', { replicas: 0, vct: 'data' }), ['StatefulSet', 'db', 0]],
  ])('counts %s', (_what, app, expected) => {
    const users = findClaimUsers(app.kind === 'StatefulSet' && app.metadata.name === 'db' ? 'data-db-0' : 'odoo-data', [], [app])
    expect(users.workloads.map((w) => [w.kind, w.name, w.replicas])).toEqual([expected])
  })

  it('ignores workloads and pods that do not use the claim, and finished pods', () => {
    const pods = [
      pod('redis-7f6d-c', { owner: owner('ReplicaSet', 'redis-7f6d') }),
      pod('migrate-x', { claim: 'odoo-data', owner: owner('Job', 'migrate'), phase: 'Succeeded' }),
      pod('other', { claim: 'other-data', owner: owner('Job', 'x') }),
    ]
    expect(findClaimUsers('odoo-data', pods, [odooApps[3]!, odooApps[4]!])).toEqual({ workloads: [], blockers: [] })
  })

  it('lists each workload once, whether found by its pods, its template, or both', () => {
    const pods = [pod('odoo-5d8f-a', { claim: 'odoo-data', owner: owner('ReplicaSet', 'odoo-5d8f') })]
    const users = findClaimUsers('odoo-data', pods, odooApps)
    expect(users.workloads.filter((w) => w.name === 'odoo')).toHaveLength(1)
  })

  it.each([
    ['a Job', pod('migrate-x', { claim: 'odoo-data', owner: owner('Job', 'migrate') }), { owner: 'Job migrate', volsyncMover: false }],
    ['no controller', pod('debug', { claim: 'odoo-data' }), { owner: 'no controller', volsyncMover: false }],
    [
      'a VolSync mover',
      pod('volsync-src-odoo-backup-abcde', { claim: 'odoo-data', owner: owner('Job', 'volsync-src-odoo-backup'), labels: { 'app.kubernetes.io/created-by': 'volsync' } }),
      { owner: 'Job volsync-src-odoo-backup', volsyncMover: true },
    ],
    ['a ReplicaSet without a Deployment', pod('bare-rs-x', { claim: 'odoo-data', owner: owner('ReplicaSet', 'bare-rs') }), { owner: 'ReplicaSet bare-rs (not run by a Deployment)', volsyncMover: false }],
    ['a DaemonSet', pod('ds-x', { claim: 'odoo-data', owner: owner('DaemonSet', 'agent') }), { owner: 'DaemonSet agent', volsyncMover: false }],
  ])('makes a pod run by %s a blocker', (_what, p, expected) => {
    const apps = [workload('ReplicaSet', 'bare-rs', { replicas: 1, claim: 'odoo-data' })]
    expect(findClaimUsers('odoo-data', [p], apps).blockers).toEqual([{ pod: p.metadata.name, ...expected }])
  })

  it('does not follow an ownerReference whose uid belongs to an older namesake', () => {
    const p = pod('odoo-cron-0', { claim: 'odoo-data', owner: owner('StatefulSet', 'odoo-cron', 'old-uid') })
    const users = findClaimUsers('odoo-data', [p], [workload('StatefulSet', 'odoo-cron', { replicas: 1 })])
    expect(users.blockers).toEqual([{ pod: 'odoo-cron-0', owner: 'StatefulSet odoo-cron', volsyncMover: false }])
  })
})

describe('claimFromTemplate', () => {
  it.each([
    ['data-db-0', true],
    ['data-db-12', true],
    ['data-db', false],
    ['data-db-x', false],
    ['data-dbx-0', false],
    ['logs-db-0', false],
  ])('%s from volumeClaimTemplate "data" of StatefulSet db: %s', (claim, expected) => {
    expect(claimFromTemplate(workload('StatefulSet', 'db', { vct: 'data' }), claim)).toBe(expected)
  })
})

describe('podsUsingClaim', () => {
  it.each(['Pending', 'Running', 'Unknown'])('counts a %s pod', (phase) => {
    expect(podsUsingClaim([pod('a', { claim: 'c', phase })], 'c')).toHaveLength(1)
  })
  it.each(['Succeeded', 'Failed'])('does not count a %s pod: it has released its volumes', (phase) => {
    expect(podsUsingClaim([pod('a', { claim: 'c', phase })], 'c')).toHaveLength(0)
  })
})

// ---------------------------------------------------------------- waiting

describe('claimReleasedCheck', () => {
  const using = (name: string, extra: Parameters<typeof pod>[1] = {}) => pod(name, { claim: 'odoo-data', ...extra })
  const run = (items: PodStreamItem[]) => {
    const check = claimReleasedCheck('odoo-data')
    return items.map((i) => check(i))
  }

  it('is done at once when the list shows no pod using the claim', () => {
    expect(run([{ type: 'SYNC', pods: [pod('redis')] }])).toEqual([{ done: true, value: undefined }])
  })

  it('waits for every listed pod to be deleted', () => {
    const verdicts = run([
      { type: 'SYNC', pods: [using('a', { deleting: true }), using('b', { deleting: true }), pod('redis')] },
      { type: 'DELETED', object: using('a') },
      { type: 'MODIFIED', object: pod('redis') },
      { type: 'DELETED', object: using('b') },
    ])
    expect(verdicts.map((v) => v.done)).toEqual([false, false, false, true])
    expect(verdicts[0]).toEqual({ done: false, progress: '2 pods still use odoo-data: a (terminating), b (terminating)' })
  })

  it('counts a pod that finished (Succeeded/Failed) as released', () => {
    const verdicts = run([{ type: 'SYNC', pods: [using('job-x')] }, { type: 'MODIFIED', object: using('job-x', { phase: 'Succeeded' }) }])
    expect(verdicts.at(-1)!.done).toBe(true)
  })

  it('keeps waiting for a pod that starts using the claim after the list', () => {
    const verdicts = run([
      { type: 'SYNC', pods: [using('a')] },
      { type: 'ADDED', object: using('new') },
      { type: 'DELETED', object: using('a') },
    ])
    expect(verdicts.map((v) => v.done)).toEqual([false, false, false])
  })

  it('decides nothing before the list has arrived', () => {
    expect(run([{ type: 'DELETED', object: using('a') }])).toEqual([{ done: false }])
  })

  it('starts over from each new list (a reopened watch)', () => {
    const verdicts = run([{ type: 'SYNC', pods: [using('a')] }, { type: 'SYNC', pods: [] }])
    expect(verdicts.at(-1)!.done).toBe(true)
  })
})

describe('stillUsingText', () => {
  it('says which pods, in which state', () => {
    expect(stillUsingText('odoo-data', [pod('b', { claim: 'x', phase: 'Pending' }), pod('a', { claim: 'x', deleting: true })])).toBe(
      '2 pods still use odoo-data: a (terminating), b (pending)',
    )
    expect(stillUsingText('odoo-data', [pod('a', { claim: 'x' })])).toBe('1 pod still uses odoo-data: a (running)')
  })
})

// ---------------------------------------------------------------- scaling back

describe('scaleBackDecision', () => {
  it.each([
    [2, 0, 'scale'],
    [2, 2, 'already'],
    [2, 3, 'changed'],
    [2, 1, 'changed'],
    [2, null, 'gone'],
  ] as const)('recorded %s, now %s: %s', (recorded, current, expected) => {
    expect(scaleBackDecision(recorded, current)).toBe(expected)
  })
})
