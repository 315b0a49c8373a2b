// While the restore's mover runs: is it making progress, and does anything
// else mount the PVC? Pure; restore.io.ts feeds it the namespace's pods and
// the mover's log as they change.
//
// Progress: restic prints a status line every 10 s while it restores
// (entry.sh sets RESTIC_PROGRESS_FPS=0.1: "[0:40] 41.20%  96 files/dirs
// 41.2 MiB, total 210 files/dirs 100 MiB"). The elapsed time in front changes
// every time; what follows changes only when data is written. So progress is
// a log line that differs from the one before (the elapsed time aside), a new
// mover pod, or a change of a mover pod's phase or container state. restic's
// retry warnings ("Load(<data/1a2b>, 0, 0) returned error, retrying after
// 1.3s: ...") are not progress: they differ each time while restic writes
// nothing, and it retries for 15 minutes when the repository is gone. STALLED
// means none of these for the stall window (default 30m: restic can be quiet
// that long while it loads the index of a large repository before it writes
// anything). A stalled mover ends the wait; so does a failed one (lib/sync);
// TIMEOUT, when given, is an upper bound whatever the progress.
import { UsageError } from '../errors.ts'
import { parseGoDuration } from '../duration.ts'
import type { Pod } from '../pods.ts'
import { formatAge } from '../output.ts'
import { isActive, mountsClaim } from './workloads.ts'

/** The environment variable that sets the stall window (a Go duration). */
export const STALL_ENV = 'VOLSYNC_OPS_STALL_AFTER'
export const STALL_DEFAULT = '30m'

/** The stall window from the environment; a UsageError when it is not a duration. */
export function stallAfterMs(env: NodeJS.ProcessEnv): number {
  const text = env[STALL_ENV] || STALL_DEFAULT
  const ms = parseGoDuration(text, ['ms', 's', 'm', 'h'])
  if (ms === undefined || ms <= 0) {
    throw new UsageError(`${STALL_ENV}=${JSON.stringify(text)} is not a duration: use a number with a unit, such as 30m or 1h`)
  }
  return ms
}

// ---------------------------------------------------------------- the mover's Job name

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

/** CRC-32 (IEEE), as Go's hash/crc32.ChecksumIEEE. */
export function crc32(text: string): number {
  let c = 0xffffffff
  for (const byte of new TextEncoder().encode(text)) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/**
 * The name of the mover Job VolSync makes for a ReplicationDestination:
 * volsync-dst-<name>, or volsync-dst-<crc32 of the name, 8 hex digits> when
 * that is longer than 63 characters (utils.GetJobName). Its pods carry
 * job-name=<it>.
 */
export function moverJobName(destination: string): string {
  const name = `volsync-dst-${destination}`
  return name.length <= 63 ? name : `volsync-dst-${crc32(destination).toString(16).padStart(8, '0')}`
}

const jobOf = (pod: Pod) => pod.metadata.labels?.['batch.kubernetes.io/job-name'] ?? pod.metadata.labels?.['job-name']

export const isMoverPod = (pod: Pod, job: string) => jobOf(pod) === job

// ---------------------------------------------------------------- progress

export interface MoverProgress {
  /** when the last sign of progress came (ms) */
  at: number
  /** the last pod state seen, by pod name */
  pods: Record<string, string>
  /** the last log line, the elapsed time aside */
  line: string
  /** the last log line as printed, for messages */
  lastLine?: string
}

export const startProgress = (now: number): MoverProgress => ({ at: now, pods: {}, line: '' })

/** A pod's state as far as progress goes: "Running, restic running", "Pending, restic waiting ContainerCreating". */
export function podState(pod: Pod): string {
  const containers = (pod.status?.containerStatuses ?? []).map((c) => {
    const [kind, detail] = Object.entries(c.state ?? {})[0] ?? ['unknown', {}]
    const reason = (detail as { reason?: string }).reason
    return `${c.name} ${kind}${reason ? ` ${reason}` : ''}`
  })
  return [
    `${pod.status?.phase ?? 'Pending'}${pod.metadata.deletionTimestamp ? ' (deleting)' : ''}`,
    ...containers,
  ].join(', ')
}

/** A mover pod seen (or gone: `deleted`). */
export function seePod(p: MoverProgress, pod: Pod, now: number, deleted = false): MoverProgress {
  const name = pod.metadata.name
  const state = deleted ? 'deleted' : podState(pod)
  if (p.pods[name] === state) return p
  return { ...p, at: now, pods: { ...p.pods, [name]: state } }
}

/** "[1:02:03] " / "[0:40] " in front of restic's status line. */
const ELAPSED = /^\[\d+(?::\d{2}){1,2}\]\s*/

/** restic's warning when a request to the repository failed and is retried (cmd/restic/global.go). */
const RETRYING = / returned error, retrying after \S+: /

/** A line of the mover's log. */
export function seeLogLine(p: MoverProgress, line: string, now: number): MoverProgress {
  const text = line.trimEnd()
  if (text === '') return p
  if (RETRYING.test(text)) return { ...p, lastLine: text }
  const key = text.replace(ELAPSED, '')
  if (key === p.line) return { ...p, lastLine: text }
  return { ...p, at: now, line: key, lastLine: text }
}

/** restic's percentage in the last status line, when there is one ("41.20%"). */
export function percentOf(p: MoverProgress): string | undefined {
  return p.lastLine && ELAPSED.test(p.lastLine) ? /(\d+(?:\.\d+)?%)/.exec(p.lastLine)?.[1] : undefined
}

export const isStalled = (p: MoverProgress, now: number, stallMs: number) => now - p.at >= stallMs

/** Why the wait ended: "the restore mover made no progress for 30m (...)". */
export function stalledText(p: MoverProgress, stallMs: number): string {
  const pods = Object.entries(p.pods)
  const seen =
    pods.length === 0
      ? 'no mover pod has appeared (is the VolSync controller running? does the Job start a pod?)'
      : `its pods: ${pods.map(([name, state]) => `${name} (${state})`).join(', ')}` +
        (p.lastLine ? `; the last log line: ${p.lastLine}` : '; it printed nothing')
  return `the restore mover made no progress for ${formatAge(stallMs)} (${seen})`
}

// ---------------------------------------------------------------- other pods on the PVC

/** A pod other than the restore's mover that mounts the claim while it restores. */
export function intruder(pod: Pod, claim: string, job: string): boolean {
  return isActive(pod) && mountsClaim(pod.spec, claim) && !isMoverPod(pod, job)
}

/** "pod x (ReplicaSet odoo-5d8f)" */
export function podOwnerText(pod: Pod): string {
  const owner = pod.metadata.ownerReferences?.find((r) => r.controller)
  return `pod ${pod.metadata.name} (${owner ? `${owner.kind} ${owner.name}` : 'no controller'})`
}
