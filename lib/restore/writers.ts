// Whatever else could write to the PVC, or start the app, during a restore,
// besides the Deployments/StatefulSets (workloads.ts) and Flux (flux.ts):
// CronJobs whose pods mount it, KEDA ScaledObjects that would scale a stopped
// workload up again, and StatefulSets that would DELETE their PVCs when
// scaled down. Pure: plain objects in, decisions out.
import { OperationError } from '../errors.ts'
import type { KubeObject } from '../kubectl.ts'
import { mountsClaim, workloadRef, type AppsObject, type PodTemplate, type Workload } from './workloads.ts'

export const CRONJOBS = 'cronjobs.batch'

export interface CronJob extends KubeObject {
  spec?: { suspend?: boolean; jobTemplate?: { spec?: { template?: PodTemplate } } }
}

/** A CronJob whose pods mount the claim: suspend it for the restore, or leave it (suspended already). */
export type CronJobDecision =
  | { action: 'suspend'; name: string; suspendWasSet: boolean }
  | { action: 'leave'; name: string; reason: string }

/** The CronJobs whose job template mounts the claim, and what to do with each. */
export function cronJobDecisions(cronJobs: readonly CronJob[], claim: string): CronJobDecision[] {
  return cronJobs
    .filter((c) => mountsClaim(c.spec?.jobTemplate?.spec?.template?.spec, claim))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((c) =>
      c.spec?.suspend === true
        ? { action: 'leave', name: c.metadata.name, reason: 'suspended already: left suspended' }
        : { action: 'suspend', name: c.metadata.name, suspendWasSet: c.spec !== undefined && 'suspend' in c.spec },
    )
}

/** Suspends a CronJob (no new Job starts; a running one is not stopped). */
export const suspendCronJobPatch = { spec: { suspend: true } }

/** Resumes, only while it is still suspended: put back what was there. */
export function resumeCronJobPatch(suspendWasSet: boolean): unknown[] {
  return [
    { op: 'test', path: '/spec/suspend', value: true },
    suspendWasSet ? { op: 'replace', path: '/spec/suspend', value: false } : { op: 'remove', path: '/spec/suspend' },
  ]
}

// ---------------------------------------------------------------- KEDA

export const SCALED_OBJECTS = 'scaledobjects.keda.sh'
/** KEDA (2.13+) stops scaling the target while this annotation is "true", and leaves its replica count as it is. */
export const KEDA_PAUSED = 'autoscaling.keda.sh/paused'
/** Older KEDA: scale to this count and stay there. Present means someone paused it already. */
export const KEDA_PAUSED_REPLICAS = 'autoscaling.keda.sh/paused-replicas'
const KEDA_PAUSED_PATH = `/metadata/annotations/${KEDA_PAUSED.replaceAll('/', '~1')}`

export interface ScaledObject extends KubeObject {
  spec?: { scaleTargetRef?: { name?: string; kind?: string; apiVersion?: string } }
}

/** `pausedWas`: the annotation's value before, when it was there and not "true" (e.g. "false"): put back as found. */
export type ScaledObjectDecision =
  | { action: 'pause'; name: string; target: string; pausedWas?: string }
  | { action: 'leave'; name: string; target: string; reason: string }

/**
 * The ScaledObjects that scale one of the workloads (scaleTargetRef.kind
 * defaults to Deployment), whether the workload runs now or not: KEDA scales
 * a workload at 0 up on the next event too.
 */
export function scaledObjectDecisions(scaledObjects: readonly ScaledObject[], workloads: readonly Workload[]): ScaledObjectDecision[] {
  const decisions: ScaledObjectDecision[] = []
  for (const so of [...scaledObjects].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const ref = so.spec?.scaleTargetRef
    const kind = ref?.kind ?? 'Deployment'
    const group = (ref?.apiVersion ?? 'apps/v1').split('/')[0]
    const target = workloads.find((w) => w.kind === kind && w.name === ref?.name && group === 'apps')
    if (!target) continue
    const annotations = so.metadata.annotations ?? {}
    if (annotations[KEDA_PAUSED] === 'true' || annotations[KEDA_PAUSED_REPLICAS] !== undefined) {
      decisions.push({ action: 'leave', name: so.metadata.name, target: workloadRef(target), reason: 'paused already: left paused' })
    } else {
      const was = annotations[KEDA_PAUSED]
      decisions.push({ action: 'pause', name: so.metadata.name, target: workloadRef(target), ...(was === undefined ? {} : { pausedWas: was }) })
    }
  }
  return decisions
}

export const pauseScaledObjectPatch = { metadata: { annotations: { [KEDA_PAUSED]: 'true' } } }

/** Takes our pause away, only while it is still ours ("true"): the annotation as found (its value before, or none). */
export function unpauseScaledObjectPatch(pausedWas: string | undefined): unknown[] {
  return [
    { op: 'test', path: KEDA_PAUSED_PATH, value: 'true' },
    pausedWas === undefined ? { op: 'remove', path: KEDA_PAUSED_PATH } : { op: 'replace', path: KEDA_PAUSED_PATH, value: pausedWas },
  ]
}

// ---------------------------------------------------------------- StatefulSets that delete their PVCs

/**
 * Refuses (before anything changes) when a StatefulSet that would be scaled
 * down has persistentVolumeClaimRetentionPolicy.whenScaled: Delete: scaling
 * it to 0 makes the StatefulSet controller delete the PVCs of its
 * volumeClaimTemplates, the restored one among them, or another of the app's.
 */
export function retentionRefusal(apps: readonly AppsObject[], workloads: readonly Workload[]): OperationError | undefined {
  const deleting = workloads.filter((w) => {
    if (w.kind !== 'StatefulSet' || w.replicas === 0) return false
    const sts = apps.find((o) => o.kind === 'StatefulSet' && o.metadata.name === w.name)
    return sts?.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete'
  })
  if (deleting.length === 0) return undefined
  return new OperationError(
    `${deleting.map(workloadRef).join(', ')} ${deleting.length === 1 ? 'has' : 'have'} ` +
      'persistentVolumeClaimRetentionPolicy.whenScaled: Delete: scaling it to 0 for the restore would make ' +
      'Kubernetes DELETE the PVCs of its volumeClaimTemplates. Nothing was changed. Set whenScaled to Retain ' +
      '(in git, if Flux applies it), or stop the app yourself without scaling it, then run the restore again.',
  )
}
