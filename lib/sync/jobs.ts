// VolSync's mover Jobs, read while a sync is awaited. Pure: Job and Pod
// objects in, what they mean out; lib/sync/jobs.io.ts follows them, and
// lib/sync/view.ts puts them in words. Facts (VolSync v0.16.0
// internal/controller/mover/restic/mover.go ensureJob; the Kubernetes 1.35
// Job controller; seen on the e2e tier):
// - a sync runs one Job at a time, labelled app.kubernetes.io/created-by=volsync,
//   whose controller ownerReference is the ReplicationSource/Destination
//   (ctrl.SetControllerReference). Every Job of a sync has the same name
//   (volsync-src-<name> / volsync-dst-<name>, a hash when too long): match a
//   Job to its owner by the owner's uid, and tell Jobs apart by their own uid;
// - spec.backoffLimit is 8 and the pods never restart (restartPolicy Never):
//   each failed attempt adds one to status.failed, and the Job controller
//   starts the next after an exponential back-off (10 s doubling to 6 min, so
//   the 8 attempts take about 20 minutes);
// - once status.failed >= spec.backoffLimit, VolSync copies the failed pod's
//   log into status.latestMoverStatus (result Failed), deletes the Job and
//   creates a new one: the sync goes on. When that log is byte-identical to
//   the Failed already recorded (a wrong password fails the same way every
//   time), the object does not change at all: the Job is the only sign.
import type { KubeObject } from '../kubectl.ts'
import type { Condition, MoverStatus } from '../volsync/objects.ts'

export const JOBS = 'jobs.batch'
/** The label VolSync puts on every Job it creates (utils.SetOwnedByVolSync). */
export const MOVER_JOB_SELECTOR = 'app.kubernetes.io/created-by=volsync'
/** spec.backoffLimit of VolSync's restic mover Jobs, when a Job does not say. */
export const VOLSYNC_BACKOFF_LIMIT = 8
/** Lines of a failed pod's log that are read (the end of entry.sh's output). */
export const LOG_TAIL = 20

export interface MoverJob extends KubeObject {
  spec?: { backoffLimit?: number }
  status?: { active?: number; failed?: number; succeeded?: number; conditions?: Condition[] }
}

export interface JobPod extends KubeObject {
  status?: {
    phase?: string
    containerStatuses?: { name: string; state?: { terminated?: { exitCode?: number; finishedAt?: string } } }[]
  }
}

/** What is known of one mover Job. */
export interface JobTrack {
  uid: string
  name: string
  namespace: string
  /** uid of its ReplicationSource / ReplicationDestination */
  owner: string
  /** status.failed when first seen: attempts that failed before belong to an earlier wait */
  firstFailed: number
  failed: number
  limit: number
}

/** A failed attempt, or the last one: the Job reached its backoffLimit (VolSync now reports Failed and starts a new Job). */
export type JobNews = { kind: 'attempt-failed' | 'gave-up'; job: JobTrack }

/** The uid of an object's controller (its controller ownerReference). */
export function controllerUid(o: KubeObject): string | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller)?.uid
}

/**
 * Folds one observed state of a Job into what is known of it (a DELETED
 * event carries the Job's last state, which counts too). The first sight sets
 * the baseline: attempts that had failed before are not news, and a Job that
 * had already reached its limit was already reported by VolSync.
 */
export function trackJob(known: JobTrack | undefined, job: MoverJob): { track: JobTrack; news?: JobNews } {
  const failed = job.status?.failed ?? 0
  if (!known) {
    const track: JobTrack = {
      uid: job.metadata.uid ?? '',
      name: job.metadata.name,
      namespace: job.metadata.namespace ?? '',
      owner: controllerUid(job) ?? '',
      firstFailed: failed,
      failed,
      limit: job.spec?.backoffLimit ?? VOLSYNC_BACKOFF_LIMIT,
    }
    return { track }
  }
  if (failed <= known.failed) return { track: known }
  const track = { ...known, failed }
  if (known.failed >= known.limit) return { track }
  return { track, news: { kind: failed >= known.limit ? 'gave-up' : 'attempt-failed', job: track } }
}

/** The pod of the attempt that failed last (the newest finish), or undefined. */
export function latestFailedPod<P extends JobPod>(pods: readonly P[]): P | undefined {
  const finished = (p: JobPod) =>
    p.status?.containerStatuses?.find((c) => c.name === 'restic')?.state?.terminated?.finishedAt ??
    p.metadata.creationTimestamp ??
    ''
  return pods
    .filter((p) => p.status?.phase === 'Failed')
    .sort((a, b) => finished(a).localeCompare(finished(b)) || a.metadata.name.localeCompare(b.metadata.name))
    .at(-1)
}

/**
 * The log to show for a Job that reached its limit: VolSync's record when it
 * is new (differs from `baseline`, the record when the wait began), else the
 * failed pod's log read here, else nothing (lib/sync/view.ts whereToLook).
 */
export function gaveUpLog(podLog: string, mover: MoverStatus | undefined, baseline: MoverStatus | undefined): string {
  if (mover?.result === 'Failed' && mover.logs && (baseline?.result !== 'Failed' || mover.logs !== baseline.logs)) return mover.logs
  return podLog
}
