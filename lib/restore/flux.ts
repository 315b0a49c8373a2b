// Which Flux object manages a workload, and how to suspend and resume it
// with plain kubectl (no flux CLI). Pure.
//
// Flux labels what it applies: kustomize-controller with
// kustomize.toolkit.fluxcd.io/name + /namespace, helm-controller with
// helm.toolkit.fluxcd.io/name + /namespace. While a Kustomization or
// HelmRelease is not suspended it puts the replica count from git back
// (and may start pods on a PVC being restored), so it is suspended first.
import type { KubeObject } from '../kubectl.ts'

export type FluxKind = 'Kustomization' | 'HelmRelease'

export const FLUX_RESOURCE: Record<FluxKind, string> = {
  Kustomization: 'kustomizations.kustomize.toolkit.fluxcd.io',
  HelmRelease: 'helmreleases.helm.toolkit.fluxcd.io',
}

const LABEL_PREFIX: Record<FluxKind, string> = {
  Kustomization: 'kustomize.toolkit.fluxcd.io',
  HelmRelease: 'helm.toolkit.fluxcd.io',
}

export interface FluxRef {
  kind: FluxKind
  name: string
  namespace: string
}

export interface FluxObject extends KubeObject {
  spec?: { suspend?: boolean; [key: string]: unknown }
}

/** "kustomization flux-system/apps" */
export const fluxRefText = (r: FluxRef) => `${r.kind.toLowerCase()} ${r.namespace}/${r.name}`

const key = (r: FluxRef) => `${r.kind}/${r.namespace}/${r.name}`

/**
 * The Flux objects that manage an object with these labels: the HelmRelease
 * first (it manages the workload directly), then the Kustomization. A label
 * pair that is incomplete names nothing.
 */
export function fluxOwners(labels: Record<string, string> | undefined): FluxRef[] {
  const owners: FluxRef[] = []
  for (const kind of ['HelmRelease', 'Kustomization'] as const) {
    const name = labels?.[`${LABEL_PREFIX[kind]}/name`]
    const namespace = labels?.[`${LABEL_PREFIX[kind]}/namespace`]
    if (name && namespace) owners.push({ kind, name, namespace })
  }
  return owners
}

/** The distinct Flux owners of several objects, in a stable order. */
export function distinctFluxOwners(labelSets: readonly (Record<string, string> | undefined)[]): FluxRef[] {
  const seen = new Map<string, FluxRef>()
  for (const labels of labelSets) for (const r of fluxOwners(labels)) seen.set(key(r), r)
  return [...seen.values()].sort((a, b) => key(a).localeCompare(key(b)))
}

/** What to do with one Flux owner, from what the cluster says about it. */
export type SuspendDecision =
  /** not suspended: suspend it now, resume it afterwards */
  | { action: 'suspend'; ref: FluxRef; suspendWasSet: boolean }
  /** already suspended by someone else: leave it, and leave it suspended */
  | { action: 'leave'; ref: FluxRef; reason: string }

/**
 * `found` is the object, or null when it does not exist, or 'not-installed'
 * when the cluster has no such Flux resource type (the labels are then
 * leftovers and nothing will reconcile the workload).
 */
export function suspendDecision(ref: FluxRef, found: FluxObject | null | 'not-installed'): SuspendDecision {
  if (found === 'not-installed') {
    return { action: 'leave', ref, reason: `Flux ${ref.kind} is not installed on this cluster: nothing to suspend` }
  }
  if (found === null) return { action: 'leave', ref, reason: 'it does not exist: nothing to suspend' }
  if (found.spec?.suspend === true) return { action: 'leave', ref, reason: 'already suspended: left as it is' }
  return { action: 'suspend', ref, suspendWasSet: found.spec !== undefined && 'suspend' in found.spec }
}

/** A merge patch that suspends. */
export const suspendPatch = { spec: { suspend: true } }

/**
 * A JSON patch that resumes, only while the object is still suspended (the
 * `test` op): put back what was there, an explicit false or no field at all.
 */
export function resumePatch(suspendWasSet: boolean): unknown[] {
  return [
    { op: 'test', path: '/spec/suspend', value: true },
    suspendWasSet ? { op: 'replace', path: '/spec/suspend', value: false } : { op: 'remove', path: '/spec/suspend' },
  ]
}
