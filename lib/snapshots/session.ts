// Is an idle restic pod (runner.io.ts ResticSession) ready for `kubectl
// exec`? Pure.
import { runToCompletion, type Pod } from '../pods.ts'

export type PodState =
  | { kind: 'running' }
  | { kind: 'ended'; why: string }
  | { kind: 'unschedulable'; why: string }
  | { kind: 'starting'; why: string }

/**
 * Running with every container running; throws (via runToCompletion) on
 * states that never recover (an image that cannot be pulled, a missing
 * Secret or ConfigMap).
 */
export function podRunning(pod: Pod): PodState {
  const phase = pod.status?.phase
  if (phase === 'Succeeded' || phase === 'Failed') {
    return { kind: 'ended', why: [phase, pod.status?.reason, pod.status?.message].filter(Boolean).join(': ') }
  }
  runToCompletion(pod)
  const statuses = pod.status?.containerStatuses ?? []
  const containers = Array.isArray(pod.spec.containers) ? pod.spec.containers.length : 1
  if (phase === 'Running' && statuses.length >= containers && statuses.every((cs) => cs.state?.running)) {
    return { kind: 'running' }
  }
  const unscheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
  if (unscheduled) return { kind: 'unschedulable', why: unscheduled.message ?? unscheduled.reason ?? 'not scheduled' }
  return { kind: 'starting', why: (phase ?? 'Pending').toLowerCase() }
}
