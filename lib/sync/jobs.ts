// VolSync's mover Jobs, read while a sync is awaited. Pure: Job and Pod
// objects in, what they mean and what to say out; lib/sync/jobs.io.ts follows
// them. Facts (VolSync v0.16.0 internal/controller/mover/restic/mover.go
// ensureJob; the Kubernetes 1.35 Job controller; seen on the e2e tier):
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
import { readMoverLogs } from '../volsync/mover-log.ts'
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

/**
 * Whose mover a Job runs, for a wait in `state`: `running` while we wait for
 * a sync we did not start to end (its new failures are news); `ours` once our
 * trigger is set, for a Job first seen before any attempt failed (one that
 * had failed attempts already was started by the sync before our trigger,
 * e.g. the stuck sync an unlock joins, which VolSync replaces); else null.
 */
export function moverOf(state: 'waiting-for-running' | 'waiting-for-ours' | 'other', job: JobTrack): 'running' | 'ours' | null {
  if (state === 'waiting-for-running') return 'running'
  if (state === 'waiting-for-ours' && job.firstFailed === 0) return 'ours'
  return null
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

/** The lines worth showing from a mover log: its ERROR/Fatal lines, else its last three. */
export function logExcerpt(log: string): string[] {
  const errors = readMoverLogs(log).errorLines
  if (errors.length) return errors
  return log
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-3)
}

/**
 * "business/odoo-backup: mover attempt 3 of 8 failed; VolSync retries it
 * (it reports Failed after 8)", then the end of its log (unless it is the
 * same as the attempt before, or could not be read).
 */
export function attemptNote(subject: string, job: JobTrack, of: 'running' | 'ours', log: string, previous?: string): string {
  const whose = of === 'running' ? "the running sync's mover" : 'mover'
  const head = `${subject}: ${whose} attempt ${job.failed} of ${job.limit} failed; VolSync retries it (it reports Failed after ${job.limit})`
  if (!log) return head
  if (log === previous) return `${head}; same log as the attempt before`
  return [`${head}. Its log ends:`, ...logExcerpt(log).map((l) => `    ${l}`)].join('\n')
}

/** "Job volsync-src-x failed 8 of 8 attempts" */
export function gaveUpWords(job: JobTrack): string {
  return `Job ${job.name} failed ${job.failed} of ${job.limit} attempts`
}

/**
 * The log to show for a Job that reached its limit: VolSync's record when it
 * is new (differs from `baseline`, the record when the wait began), else the
 * failed pod's log read here, else nothing (see whereToLook).
 */
export function gaveUpLog(podLog: string, mover: MoverStatus | undefined, baseline: MoverStatus | undefined): string {
  if (mover?.result === 'Failed' && mover.logs && (baseline?.result !== 'Failed' || mover.logs !== baseline.logs)) return mover.logs
  return podLog
}

/** Where the log of a failed mover is, when it could not be read here. */
export function whereToLook(resource: string, name: string, namespace: string): string {
  return (
    `its log could not be read here; VolSync records it in status.latestMoverStatus.logs: ` +
    `kubectl get ${resource} ${name} -n ${namespace} -o jsonpath='{.status.latestMoverStatus.logs}'`
  )
}

/** The one line said when the jobs watch cannot be used: the wait goes on without it. */
export function jobsUnavailableNote(error: string): string {
  const why = error.split('\n').map((l) => l.trim()).find(Boolean) ?? 'unknown error'
  return (
    `note: cannot watch VolSync's mover Jobs (${why}); waiting on the status alone, ` +
    'which shows a failing mover only once VolSync records a Failed that differs from the last one'
  )
}
