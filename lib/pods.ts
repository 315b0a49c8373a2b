// Pure readers over Pod objects.
import { OperationError } from './errors.ts'
import type { KubeObject } from './kubectl.ts'
import type { Verdict } from './wait.ts'

export interface ContainerStatus {
  name: string
  state?: {
    waiting?: { reason?: string; message?: string }
    running?: { startedAt?: string }
    terminated?: { exitCode?: number; reason?: string; message?: string }
  }
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[]
    [key: string]: unknown
  }
  status?: {
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'
    reason?: string
    message?: string
    conditions?: { type: string; status: string; reason?: string; message?: string }[]
    containerStatuses?: ContainerStatus[]
  }
}

/** Waiting reasons that never resolve by themselves. */
const STUCK = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
])

/** Has a one-shot pod finished? Fails fast on states that never recover (bad image, missing Secret). */
export function runToCompletion(pod: Pod): Verdict<'Succeeded' | 'Failed'> {
  const phase = pod.status?.phase
  if (phase === 'Succeeded' || phase === 'Failed') return { done: true, value: phase }
  for (const cs of pod.status?.containerStatuses ?? []) {
    const waiting = cs.state?.waiting
    if (waiting?.reason && STUCK.has(waiting.reason)) {
      throw new OperationError(
        `pod ${pod.metadata.namespace}/${pod.metadata.name} cannot start: ${waiting.reason}` +
          (waiting.message ? `: ${waiting.message}` : ''),
      )
    }
  }
  const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
  if (unschedulable) return { done: false, progress: `not scheduled yet: ${unschedulable.message ?? unschedulable.reason}` }
  return { done: false, progress: (phase ?? 'Pending').toLowerCase() }
}
