import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { OperationError } from '../../lib/errors.ts'
import { runToCompletion, type Pod } from '../../lib/pods.ts'

const fixture = (name: string): Pod =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8').replaceAll('@NOW@', '2026-11-26T12:00:00Z'))

function pod(status: Pod['status']): Pod {
  return { metadata: { name: 'volsync-list-odoo-abc12', namespace: 'business' }, spec: {}, status }
}
const waiting = (reason: string, message?: string): Pod['status'] => ({
  phase: 'Pending',
  containerStatuses: [{ name: 'restic', state: { waiting: { reason, message } } }],
})

describe('runToCompletion', () => {
  it.each<[string, Pod, ReturnType<typeof runToCompletion>]>([
    ['recorded: pending', fixture('pod-list-pending.json'), { done: false, progress: 'pending' }],
    ['recorded: running', fixture('pod-list-running.json'), { done: false, progress: 'running' }],
    ['recorded: succeeded', fixture('pod-list-succeeded.json'), { done: true, value: 'Succeeded' }],
    ['recorded: failed', fixture('pod-list-failed.json'), { done: true, value: 'Failed' }],
    ['no status yet', pod(undefined), { done: false, progress: 'pending' }],
    ['pulling the image', pod(waiting('ContainerCreating')), { done: false, progress: 'pending' }],
    [
      'not scheduled yet, with the scheduler message',
      pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] }),
      { done: false, progress: 'not scheduled yet: 0/3 nodes are available' },
    ],
    [
      'not scheduled yet, reason only',
      pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] }),
      { done: false, progress: 'not scheduled yet: Unschedulable' },
    ],
    ['phase Unknown', pod({ phase: 'Unknown' }), { done: false, progress: 'unknown' }],
  ])('%s', (_name, p, verdict) => {
    expect(runToCompletion(p)).toEqual(verdict)
  })

  it('fails fast on a missing Secret (recorded CreateContainerConfigError), naming the reason', () => {
    expect(() => runToCompletion(fixture('pod-list-configerror.json'))).toThrow(
      'pod business/POD cannot start: CreateContainerConfigError: secret "volsync-r2-secret" not found',
    )
  })

  it.each([
    'ErrImagePull',
    'ImagePullBackOff',
    'InvalidImageName',
    'ErrImageNeverPull',
    'CreateContainerConfigError',
    'CreateContainerError',
    'RunContainerError',
  ])('fails fast on %s, which never resolves by itself', (reason) => {
    expect(() => runToCompletion(pod(waiting(reason)))).toThrow(OperationError)
    expect(() => runToCompletion(pod(waiting(reason)))).toThrow(
      `pod business/volsync-list-odoo-abc12 cannot start: ${reason}`,
    )
  })

  it('a finished phase wins over a stale waiting reason', () => {
    expect(runToCompletion(pod({ ...waiting('ErrImagePull'), phase: 'Failed' }))).toEqual({ done: true, value: 'Failed' })
  })
})
