// The restore's record IN THE CLUSTER: one annotation on the app's
// ReplicationSource (volsync-ops/restore, a JSON document) written before the
// restore changes anything, so that
// - a second restore of the same app sees the first and refuses, naming it;
// - a restore that stopped after its ReplicationDestination existed leaves the
//   app HELD (workloads at 0, Flux and CronJobs suspended, KEDA paused, backups
//   held) and says so where anyone looks (`status`), with how things were
//   before, so `volsync:resume` can give the app back from any machine, and a
//   new restore can take the held app over;
// - it is removed when everything is put back.
// Pure: parse, serialise, merge, and the words. marker.io.ts writes it.
import { RESTORE_MARKER as MARKER, type RestoreMark } from '../volsync/health.ts'
import type { FluxKind } from './flux.ts'
import type { WorkloadKind } from './workloads.ts'

export { MARKER }

/** `/metadata/annotations/volsync-ops~1restore`: the marker's JSON-pointer path (RFC 6901 escapes "/" as "~1"). */
export const MARKER_PATH = `/metadata/annotations/${MARKER.replaceAll('~', '~0').replaceAll('/', '~1')}`

/** How things were before the (first) restore touched them: what resume and the clean-up put back. */
export interface HoldRecord {
  /** spec.paused of the ReplicationSource before: null = absent, false = set false, true = paused already (left so) */
  paused: boolean | null
  /** annotations this restore set on the PVC (VolSync's copy trigger, copyMethod Snapshot/Clone), removed afterwards */
  copyTrigger: string[]
  flux: { kind: FluxKind; name: string; namespace: string; suspendWasSet: boolean }[]
  cronJobs: { name: string; suspendWasSet: boolean }[]
  /** `pausedWas`: KEDA's pause annotation before, when it was there (not "true"): put back as found */
  scaledObjects: { name: string; pausedWas?: string }[]
  /** replica counts before; the ones above 0 are scaled to 0 and back */
  workloads: { kind: WorkloadKind; name: string; replicas: number }[]
}

/** The whole record (lib/volsync/health.ts reads the part `status` shows). */
export interface Marker extends RestoreMark {
  v: 1
  /** the run's token (also the ReplicationDestination's manual trigger) */
  token: string
  hold: HoldRecord
}

/** The marker on an object, undefined when there is none, 'unreadable' when it is not ours to read. */
export function readMarker(o: { metadata: { annotations?: Record<string, string> } }): Marker | undefined | 'unreadable' {
  const text = o.metadata.annotations?.[MARKER]
  if (text === undefined) return undefined
  try {
    const m = JSON.parse(text) as Marker
    if (m?.v === 1 && typeof m.token === 'string' && (m.state === 'running' || m.state === 'held') && m.hold) return m
  } catch {
    // fall through
  }
  return 'unreadable'
}

/** The annotation value: compact JSON, keys in a stable order. */
export const markerValue = (m: Marker): string => JSON.stringify(m)

/** The merge patch that sets the marker only while the object is still at `resourceVersion` (a precondition). */
export function acquirePatch(m: Marker, resourceVersion: string): unknown {
  return { metadata: { resourceVersion, annotations: { [MARKER]: markerValue(m) } } }
}

/** Replaces the marker only while it still holds `current` (the `test` op). */
export function replaceMarkerPatch(current: string, next: Marker): unknown[] {
  return [
    { op: 'test', path: MARKER_PATH, value: current },
    { op: 'replace', path: MARKER_PATH, value: markerValue(next) },
  ]
}

/** Removes the marker only while it still holds `current`. */
export function removeMarkerPatch(current: string): unknown[] {
  return [
    { op: 'test', path: MARKER_PATH, value: current },
    { op: 'remove', path: MARKER_PATH },
  ]
}

/**
 * The baseline of a restore that takes over a held app: what the held
 * restore recorded wins (the app's state now is what that restore made of
 * it), what it did not know is taken as it is now.
 */
export function mergeHold(recorded: HoldRecord, now: HoldRecord): HoldRecord {
  const union = <T>(a: T[], b: T[], key: (x: T) => string) => [
    ...a,
    ...b.filter((x) => !a.some((y) => key(y) === key(x))),
  ]
  return {
    paused: recorded.paused,
    copyTrigger: [...new Set([...recorded.copyTrigger, ...now.copyTrigger])],
    flux: union(recorded.flux, now.flux, (f) => `${f.kind}/${f.namespace}/${f.name}`),
    cronJobs: union(recorded.cronJobs, now.cronJobs, (c) => c.name),
    scaledObjects: union(recorded.scaledObjects, now.scaledObjects, (s) => s.name),
    workloads: union(recorded.workloads, now.workloads, (w) => `${w.kind}/${w.name}`),
  }
}

/** `volsync:resume APP=<app>` names the app; a source <app>-backup gives it back. */
export const appOfSource = (name: string) => name.replace(/-backup$/, '')
