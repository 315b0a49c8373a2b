import { describe, expect, it } from 'vitest'
import type { Pod } from '../../../lib/pods.ts'
import { moverPlacement, podsUsing } from '../../../lib/snapshots/placement.ts'
import { podRunning } from '../../../lib/snapshots/session.ts'

const pod = (name: string, phase: string, opts: { node?: string; claim?: string; labels?: Record<string, string>; tolerations?: unknown[] } = {}): Pod => ({
  metadata: { name, namespace: 'business', labels: opts.labels },
  spec: {
    nodeName: opts.node,
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: opts.claim ?? 'odoo-data' } }],
    ...(opts.tolerations ? { tolerations: opts.tolerations } : {}),
  },
  status: { phase: phase as 'Running' },
})

const RWO = { status: { accessModes: ['ReadWriteOnce'] } }
const TOL = [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }]

describe('moverPlacement: where VolSync runs the mover (AffinityFromVolume)', () => {
  it.each<[string, string | undefined, typeof RWO | null, Pod[], unknown]>([
    ['Direct: the node and tolerations of the running app pod', 'Direct', RWO, [pod('odoo-1', 'Running', { node: 'n2', tolerations: TOL })], { nodeName: 'n2', tolerations: TOL, from: 'business/odoo-1' }],
    ['None counts as Direct', 'None', RWO, [pod('odoo-1', 'Running', { node: 'n2' })], { nodeName: 'n2', from: 'business/odoo-1' }],
    ['a running pod wins over a pending one', 'Direct', RWO, [pod('p', 'Pending', { node: 'n1' }), pod('r', 'Running', { node: 'n3' })], { nodeName: 'n3', from: 'business/r' }],
    ['a pending pod when none runs', 'Direct', RWO, [pod('p', 'Pending', { node: 'n1' }), pod('s', 'Succeeded', { node: 'n4' })], { nodeName: 'n1', from: 'business/p' }],
    ['a pending pod not placed yet: nowhere in particular', 'Direct', RWO, [pod('p', 'Pending')], undefined],
    ["VolSync's own movers and our pods do not count", 'Direct', RWO, [
      pod('volsync-src-x', 'Running', { node: 'n1', labels: { 'app.kubernetes.io/created-by': 'volsync' } }),
      pod('volsync-files-x', 'Running', { node: 'n2', labels: { 'app.kubernetes.io/managed-by': 'volsync-ops' } }),
    ], undefined],
    ['pods of other PVCs do not count', 'Direct', RWO, [pod('other', 'Running', { node: 'n1', claim: 'other-data' })], undefined],
    ['ReadWriteMany: anywhere', 'Direct', { status: { accessModes: ['ReadWriteMany'] } }, [pod('odoo-1', 'Running', { node: 'n2' })], undefined],
    ['Snapshot: the mover mounts a copy, anywhere', 'Snapshot', RWO, [pod('odoo-1', 'Running', { node: 'n2' })], undefined],
    ['Clone: anywhere', 'Clone', RWO, [pod('odoo-1', 'Running', { node: 'n2' })], undefined],
    ['no copy method: anywhere', undefined, RWO, [pod('odoo-1', 'Running', { node: 'n2' })], undefined],
    ['the PVC is gone: anywhere', 'Direct', null, [pod('odoo-1', 'Running', { node: 'n2' })], undefined],
  ])('%s', (_name, copyMethod, claim, pods, expected) => {
    expect(moverPlacement({ copyMethod }, claim, pods, 'odoo-data')).toEqual(expected)
  })

  it('podsUsing keeps the app pods of the PVC only', () => {
    expect(podsUsing([pod('a', 'Running'), pod('b', 'Running', { claim: 'x' })], 'odoo-data').map((p) => p.metadata.name)).toEqual(['a'])
  })
})

describe('podRunning: is an idle pod ready for exec', () => {
  const base = (status: Pod['status'], containers = 1): Pod => ({
    metadata: { name: 'p', namespace: 'ns' },
    spec: { containers: Array.from({ length: containers }, (_, i) => ({ name: `c${i}` })) },
    status,
  })
  it.each<[string, Pod, unknown]>([
    ['running', base({ phase: 'Running', containerStatuses: [{ name: 'c0', state: { running: {} } }] }), { kind: 'running' }],
    ['running, but a second container not yet', base({ phase: 'Running', containerStatuses: [{ name: 'c0', state: { running: {} } }] }, 2), { kind: 'starting', why: 'running' }],
    ['pending', base({ phase: 'Pending' }), { kind: 'starting', why: 'pending' }],
    ['no status', base(undefined), { kind: 'starting', why: 'pending' }],
    ['unschedulable', base({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: volume node affinity conflict.' }] }), { kind: 'unschedulable', why: '0/3 nodes are available: volume node affinity conflict.' }],
    ['ended', base({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }), { kind: 'ended', why: 'Failed: DeadlineExceeded: Pod was active on the node longer than the specified deadline' }],
  ])('%s', (_name, p, expected) => {
    expect(podRunning(p)).toEqual(expected)
  })

  it('throws on a state that never recovers', () => {
    expect(() => podRunning(base({ phase: 'Pending', containerStatuses: [{ name: 'c0', state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "x" not found' } } }] }))).toThrow(
      'pod ns/p cannot start: CreateContainerConfigError: secret "x" not found',
    )
  })
})
