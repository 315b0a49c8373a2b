// Which workloads use a PVC, and when none does any more. Pure: plain Pod,
// ReplicaSet, Deployment and StatefulSet objects in, decisions out.
//
// A pod mounts a claim through spec.volumes[].persistentVolumeClaim. It is
// traced to what keeps it running through its controller ownerReference:
// Pod -> ReplicaSet -> Deployment, or Pod -> StatefulSet. Workloads whose pod
// template references the claim count too (scaled to 0, or pods not created
// yet): if something scaled them up during a restore, they would mount it.
import type { KubeObject, WatchEvent } from '../kubectl.ts'
import type { Pod } from '../pods.ts'
import type { Verdict } from '../wait.ts'

export interface PodTemplate {
  metadata?: { labels?: Record<string, string> }
  spec?: { volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[] }
}

export interface AppsObject extends KubeObject {
  kind?: string
  spec?: {
    replicas?: number
    template?: PodTemplate
    /** StatefulSets: claims named <template>-<statefulset>-<ordinal> */
    volumeClaimTemplates?: { metadata?: { name?: string } }[]
    /** StatefulSets: Delete removes those claims when scaled down (writers.ts refuses it) */
    persistentVolumeClaimRetentionPolicy?: { whenScaled?: string; whenDeleted?: string }
  }
}

export type WorkloadKind = 'Deployment' | 'StatefulSet'

/** The resource name kubectl is given for each kind (never a short name). */
export const WORKLOAD_RESOURCE: Record<WorkloadKind, string> = {
  Deployment: 'deployments.apps',
  StatefulSet: 'statefulsets.apps',
}

export interface Workload {
  kind: WorkloadKind
  name: string
  namespace: string
  /** spec.replicas when found (absent means 1) */
  replicas: number
  labels: Record<string, string>
  /** pods of it that mount the claim now */
  pods: string[]
}

/** A pod mounting the claim that is not run by a Deployment or StatefulSet: it cannot be stopped by scaling. */
export interface Blocker {
  pod: string
  /** "Job volsync-src-odoo-backup", "ReplicaSet x (no Deployment)", "no controller" */
  owner: string
  /** a VolSync mover pod (a backup running with copyMethod Direct) */
  volsyncMover: boolean
}

export interface ClaimUsers {
  workloads: Workload[]
  blockers: Blocker[]
}

/** Does this pod spec/template mount the claim? */
export function mountsClaim(spec: PodTemplate['spec'] | Pod['spec'] | undefined, claim: string): boolean {
  return (spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim)
}

/** A pod that still holds its volumes: not finished (Succeeded/Failed pods have released them). */
export function isActive(pod: Pod): boolean {
  const phase = pod.status?.phase
  return phase !== 'Succeeded' && phase !== 'Failed'
}

/** The active pods that mount the claim. */
export function podsUsingClaim(pods: readonly Pod[], claim: string): Pod[] {
  return pods.filter((p) => isActive(p) && mountsClaim(p.spec, claim))
}

/** Does a StatefulSet's volumeClaimTemplate produce this claim name (<template>-<sts>-<ordinal>)? */
export function claimFromTemplate(sts: AppsObject, claim: string): boolean {
  return (sts.spec?.volumeClaimTemplates ?? []).some((t) => {
    const prefix = `${t.metadata?.name}-${sts.metadata.name}-`
    return claim.startsWith(prefix) && /^\d+$/.test(claim.slice(prefix.length))
  })
}

const controllerOf = (o: KubeObject) => o.metadata.ownerReferences?.find((r) => r.controller)

/**
 * Every Deployment and StatefulSet that uses `claim`: those whose pods mount it
 * (found by walking ownerReferences) and those whose pod template references it.
 * Pods mounting it that no Deployment/StatefulSet runs are blockers.
 * `apps` holds the namespace's Deployments, StatefulSets and ReplicaSets.
 */
export function findClaimUsers(claim: string, pods: readonly Pod[], apps: readonly AppsObject[]): ClaimUsers {
  const byKind = (kind: string) => new Map(apps.filter((o) => o.kind === kind).map((o) => [o.metadata.name, o]))
  const deployments = byKind('Deployment')
  const statefulSets = byKind('StatefulSet')
  const replicaSets = byKind('ReplicaSet')
  const found = new Map<string, Workload>()
  const blockers: Blocker[] = []

  const add = (kind: WorkloadKind, o: AppsObject, pod?: string) => {
    const key = `${kind}/${o.metadata.name}`
    const w = found.get(key) ?? {
      kind,
      name: o.metadata.name,
      namespace: o.metadata.namespace ?? '',
      replicas: o.spec?.replicas ?? 1,
      labels: o.metadata.labels ?? {},
      pods: [],
    }
    if (pod) w.pods.push(pod)
    found.set(key, w)
  }
  // the owner must be the object we listed, not a namesake created since
  const same = (o: AppsObject | undefined, uid: string | undefined) =>
    o !== undefined && (uid === undefined || o.metadata.uid === undefined || o.metadata.uid === uid)

  for (const pod of podsUsingClaim(pods, claim)) {
    const name = pod.metadata.name
    const ref = controllerOf(pod)
    if (ref?.kind === 'StatefulSet' && same(statefulSets.get(ref.name), ref.uid)) {
      add('StatefulSet', statefulSets.get(ref.name)!, name)
      continue
    }
    if (ref?.kind === 'ReplicaSet') {
      const rs = replicaSets.get(ref.name)
      const dep = rs && same(rs, ref.uid) ? controllerOf(rs) : undefined
      if (dep?.kind === 'Deployment' && same(deployments.get(dep.name), dep.uid)) {
        add('Deployment', deployments.get(dep.name)!, name)
        continue
      }
      blockers.push({ pod: name, owner: `ReplicaSet ${ref.name} (not run by a Deployment)`, volsyncMover: false })
      continue
    }
    const labels = pod.metadata.labels ?? {}
    blockers.push({
      pod: name,
      owner: ref ? `${ref.kind} ${ref.name}` : 'no controller',
      volsyncMover: labels['app.kubernetes.io/created-by'] === 'volsync',
    })
  }
  for (const d of deployments.values()) if (mountsClaim(d.spec?.template?.spec, claim)) add('Deployment', d)
  for (const s of statefulSets.values()) {
    if (mountsClaim(s.spec?.template?.spec, claim) || claimFromTemplate(s, claim)) add('StatefulSet', s)
  }
  const workloads = [...found.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name))
  for (const w of workloads) w.pods.sort()
  return { workloads, blockers }
}

/** "deployment odoo" */
export const workloadRef = (w: Pick<Workload, 'kind' | 'name'>) => `${w.kind.toLowerCase()} ${w.name}`

// ---------------------------------------------------------------- waiting

/** What a list-then-watch of pods yields: the full list first, then changes. */
export type PodStreamItem = { type: 'SYNC'; pods: Pod[] } | WatchEvent<Pod>

/**
 * A check for waitFor: done once no active pod mounts the claim. State is
 * rebuilt from each SYNC (the list a watch starts from) and updated by the
 * watch's events, so it is exact: a pod gone before the watch started is not
 * in the list, and a pod created later arrives as ADDED.
 */
export function claimReleasedCheck(claim: string): (item: PodStreamItem) => Verdict<void> {
  const using = new Map<string, Pod>()
  let synced = false
  return (item) => {
    if (item.type === 'SYNC') {
      using.clear()
      for (const p of podsUsingClaim(item.pods, claim)) using.set(p.metadata.name, p)
      synced = true
    } else if (item.type === 'ADDED' || item.type === 'MODIFIED') {
      const pod = item.object
      if (isActive(pod) && mountsClaim(pod.spec, claim)) using.set(pod.metadata.name, pod)
      else using.delete(pod.metadata.name)
    } else if (item.type === 'DELETED') {
      using.delete(item.object.metadata.name)
    }
    if (!synced) return { done: false }
    if (using.size === 0) return { done: true, value: undefined }
    return { done: false, progress: stillUsingText(claim, [...using.values()]) }
  }
}

/** "2 pods still use odoo-data: odoo-5d8f-abcde (terminating), odoo-worker-0 (running)" */
export function stillUsingText(claim: string, pods: readonly Pod[]): string {
  const names = [...pods]
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((p) => `${p.metadata.name} (${p.metadata.deletionTimestamp ? 'terminating' : (p.status?.phase ?? 'pending').toLowerCase()})`)
  return `${pods.length} pod${pods.length === 1 ? '' : 's'} still use${pods.length === 1 ? 's' : ''} ${claim}: ${names.join(', ')}`
}

// ---------------------------------------------------------------- scaling back

/**
 * What to do when scaling a workload back to `recorded`, given its replica
 * count now: scale it (still at 0, as we left it), nothing (it is already
 * there: the scale-down never happened, or someone scaled it back), or leave
 * it and say so (someone changed it since: theirs wins).
 */
export function scaleBackDecision(recorded: number, current: number | null): 'scale' | 'already' | 'changed' | 'gone' {
  if (current === null) return 'gone'
  if (current === recorded) return 'already'
  if (current === 0) return 'scale'
  return 'changed'
}
