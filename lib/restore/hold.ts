// What a restore stops, and what it puts back afterwards: one plan from the
// cluster as read now and, when the app is held by an earlier restore, that
// restore's record (the state now is then partly its doing: what it
// recorded as "before" wins). Pure.
import { copyTriggerKeys } from './backups.ts'
import type { FluxRef, SuspendDecision } from './flux.ts'
import { mergeHold, type HoldRecord } from './marker.ts'
import type { Workload, WorkloadKind } from './workloads.ts'
import type { CronJobDecision, ScaledObjectDecision } from './writers.ts'

/** The cluster as read before the restore. */
export interface LiveState {
  /** spec.paused of the ReplicationSource now: undefined when the field is absent */
  paused: boolean | undefined
  copyMethod: string
  pvcAnnotations: Record<string, string> | undefined
  flux: readonly SuspendDecision[]
  cronJobs: readonly CronJobDecision[]
  scaledObjects: readonly ScaledObjectDecision[]
  workloads: readonly Workload[]
}

export interface QuiescePlan {
  /** the record to write: how things were before, what is put back */
  hold: HoldRecord
  pausedNow: boolean
  flux: { ref: FluxRef; suspendWasSet: boolean; suspendedNow: boolean }[]
  /** Flux objects left as they are, and why */
  fluxLeft: { ref: FluxRef; reason: string }[]
  cronJobs: { name: string; suspendWasSet: boolean; suspendedNow: boolean }[]
  cronJobsLeft: { name: string; reason: string }[]
  scaledObjects: { name: string; target: string; pausedNow: boolean; pausedWas?: string }[]
  scaledObjectsLeft: { name: string; target: string; reason: string }[]
  /** `now`: the count now; `before`: the count to put back */
  workloads: { kind: WorkloadKind; name: string; namespace: string; now: number; before: number }[]
}

const fluxKey = (r: FluxRef) => `${r.kind}/${r.namespace}/${r.name}`

/** The record the cluster as read now gives (for a first restore: the whole truth). */
export function liveHold(live: LiveState): HoldRecord {
  return {
    paused: live.paused === undefined ? null : live.paused,
    copyTrigger: copyTriggerKeys(live.pvcAnnotations, live.copyMethod),
    flux: live.flux.flatMap((d) => (d.action === 'suspend' ? [{ ...d.ref, suspendWasSet: d.suspendWasSet }] : [])),
    cronJobs: live.cronJobs.flatMap((c) => (c.action === 'suspend' ? [{ name: c.name, suspendWasSet: c.suspendWasSet }] : [])),
    scaledObjects: live.scaledObjects.flatMap((s) =>
      s.action === 'pause' ? [{ name: s.name, ...(s.pausedWas === undefined ? {} : { pausedWas: s.pausedWas }) }] : [],
    ),
    workloads: live.workloads.map((w) => ({ kind: w.kind, name: w.name, replicas: w.replicas })),
  }
}

/**
 * The plan: what to act on now (only what is not so already), and the record
 * (`recorded`: the held restore's, when taking a held app over).
 */
export function quiescePlan(live: LiveState, namespace: string, recorded?: HoldRecord): QuiescePlan {
  const fresh = liveHold(live)
  const hold = recorded ? mergeHold(recorded, fresh) : fresh
  const fluxOurs = new Set(hold.flux.map(fluxKey))
  const cronOurs = new Set(hold.cronJobs.map((c) => c.name))
  const kedaOurs = new Set(hold.scaledObjects.map((s) => s.name))
  const liveReplicas = new Map(live.workloads.map((w) => [`${w.kind}/${w.name}`, w.replicas]))
  return {
    hold,
    pausedNow: live.paused === true,
    flux: hold.flux.map((f) => {
      const d = live.flux.find((x) => fluxKey(x.ref) === fluxKey(f))
      return { ref: { kind: f.kind, name: f.name, namespace: f.namespace }, suspendWasSet: f.suspendWasSet, suspendedNow: d?.action === 'leave' }
    }),
    fluxLeft: live.flux.flatMap((d) => (d.action === 'leave' && !fluxOurs.has(fluxKey(d.ref)) ? [{ ref: d.ref, reason: d.reason }] : [])),
    cronJobs: hold.cronJobs.map((c) => ({
      ...c,
      suspendedNow: live.cronJobs.find((x) => x.name === c.name)?.action === 'leave',
    })),
    cronJobsLeft: live.cronJobs.flatMap((c) => (c.action === 'leave' && !cronOurs.has(c.name) ? [{ name: c.name, reason: c.reason }] : [])),
    scaledObjects: hold.scaledObjects.flatMap((s) => {
      const d = live.scaledObjects.find((x) => x.name === s.name)
      return [{ name: s.name, target: d?.target ?? '?', pausedNow: d?.action === 'leave', ...(s.pausedWas === undefined ? {} : { pausedWas: s.pausedWas }) }]
    }),
    scaledObjectsLeft: live.scaledObjects.flatMap((s) =>
      s.action === 'leave' && !kedaOurs.has(s.name) ? [{ name: s.name, target: s.target, reason: s.reason }] : [],
    ),
    workloads: hold.workloads.map((w) => ({
      kind: w.kind,
      name: w.name,
      namespace,
      now: liveReplicas.get(`${w.kind}/${w.name}`) ?? 0,
      before: w.replicas,
    })),
  }
}
