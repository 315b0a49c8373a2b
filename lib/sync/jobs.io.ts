// Follows VolSync's mover Jobs beside the watch of the objects whose sync is
// awaited: ONE extra watch (jobs.batch labelled app.kubernetes.io/created-by=
// volsync, in the same scope) whatever the number of objects. The decisions
// are lib/sync/jobs.ts; this module watches, merges the two streams for
// waitFor, and reads the failed pods' logs.
// - The jobs watch is opened with the first watch of the objects and lives
//   until close(): the objects' watch is reopened by waitFor, this one by
//   itself (and after a lost connection, with the next objects' watch).
// - A jobs watch that fails for any other reason (RBAC may forbid listing
//   jobs) is dropped with a one-line note: the wait goes on as before.
// - Reading a pod's log never fails the wait: an unreadable log is ''.
import { KubectlError, type Kubectl, type Scope, type WatchEvent } from '../kubectl.ts'
import { sleep } from '../wait.ts'
import {
  JOBS,
  LOG_TAIL,
  MOVER_JOB_SELECTOR,
  latestFailedPod,
  trackJob,
  type JobNews,
  type JobPod,
  type JobTrack,
  type MoverJob,
} from './jobs.ts'
import { jobsUnavailableNote } from './view.ts'

/**
 * What the merged watch yields: a state of the awaited objects, news of a
 * mover Job, a note, or a tick (tick(): time to look again without news,
 * e.g. an error that has now lasted its grace).
 */
export type Followed<T> =
  | { kind: 'object'; item: T }
  | { kind: 'job'; news: JobNews }
  | { kind: 'note'; text: string }
  | { kind: 'tick' }

type JobItem = Extract<Followed<never>, { kind: 'job' | 'note' | 'tick' }>

export class MoverJobs {
  private readonly kubectl: Kubectl
  private readonly scope: Scope
  private readonly owners: ReadonlySet<string>
  private readonly known = new Map<string, JobTrack>()
  /** the last log read per owner, to say "same log" instead of repeating it */
  private readonly lastLogs = new Map<string, string>()
  private readonly stopped = new AbortController()
  private running = false
  private disabled: boolean
  private sink?: (item: JobItem) => void
  private backlog: JobItem[] = []

  /** `owners`: uids of the objects whose Jobs matter (none: no jobs watch at all). */
  constructor(kubectl: Kubectl, scope: Scope, owners: Iterable<string>) {
    this.kubectl = kubectl
    this.scope = scope
    this.owners = new Set([...owners].filter(Boolean))
    this.disabled = this.owners.size === 0
  }

  /** A watch for waitFor: `objects` merged with the jobs watch. */
  watch<T>(objects: (signal: AbortSignal) => AsyncIterable<T>): (signal: AbortSignal) => AsyncIterable<Followed<T>> {
    return (signal) => this.merged(signal, objects)
  }

  /** Wakes the watch with a tick (works without a jobs watch too). */
  tick(): void {
    this.emit({ kind: 'tick' })
  }

  /** Stops the jobs watch (call when waiting ends). */
  close(): void {
    this.stopped.abort()
  }

  /**
   * The end of the log of the Job's newest failed pod (its pods carry
   * batch.kubernetes.io/controller-uid=<Job uid>), and the previous log read
   * for the same owner; '' when it cannot be read. Never throws.
   */
  async readLog(job: JobTrack): Promise<{ log: string; previous?: string }> {
    const previous = this.lastLogs.get(job.owner)
    let log = ''
    try {
      const pods = await this.kubectl.list<JobPod>('pods', { namespace: job.namespace }, {
        label: `batch.kubernetes.io/controller-uid=${job.uid}`,
      })
      const pod = latestFailedPod(pods)
      if (pod) log = (await this.kubectl.logs(pod.metadata.name, job.namespace, { container: 'restic', tail: LOG_TAIL })).trimEnd()
    } catch {
      log = ''
    }
    if (log) this.lastLogs.set(job.owner, log)
    return { log, previous }
  }

  private async *merged<T>(signal: AbortSignal, objects: (signal: AbortSignal) => AsyncIterable<T>): AsyncGenerator<Followed<T>> {
    // the jobs watch first: it starts listing while the objects' watch does
    this.start()
    const box = new Mailbox<Followed<T> | { kind: 'end'; error?: unknown }>()
    const inner = new AbortController()
    const relay = () => inner.abort()
    if (signal.aborted) inner.abort()
    else signal.addEventListener('abort', relay, { once: true })
    const pump = (async () => {
      try {
        for await (const item of objects(inner.signal)) box.push({ kind: 'object', item })
        box.push({ kind: 'end' })
      } catch (error) {
        box.push({ kind: 'end', error })
      }
    })()
    this.attach((item) => box.push(item))
    try {
      for (;;) {
        const next = await box.take()
        if (next.kind === 'end') {
          if (next.error !== undefined) throw next.error
          return
        }
        yield next
      }
    } finally {
      this.sink = undefined
      inner.abort()
      signal.removeEventListener('abort', relay)
      await pump
    }
  }

  private attach(sink: (item: JobItem) => void): void {
    this.sink = sink
    for (const item of this.backlog.splice(0)) sink(item)
  }

  private emit(item: JobItem): void {
    if (this.sink) this.sink(item)
    else this.backlog.push(item)
  }

  private start(): void {
    if (this.running || this.disabled || this.stopped.signal.aborted) return
    this.running = true
    void this.follow().finally(() => {
      this.running = false
    })
  }

  /** Runs the jobs watch until close(), reopening it when the server ends it. */
  private async follow(): Promise<void> {
    const signal = this.stopped.signal
    while (!signal.aborted) {
      try {
        const events = this.kubectl.watchEvents<MoverJob>(JOBS, this.scope, signal, { label: MOVER_JOB_SELECTOR })
        for await (const event of events) this.see(event)
      } catch (err) {
        if (signal.aborted) return
        // a lost connection: the objects' watch fails too, and its reopening reopens this one
        if (err instanceof KubectlError && err.failure === 'unreachable') return
        this.disabled = true
        this.emit({ kind: 'note', text: jobsUnavailableNote(err instanceof KubectlError ? err.stderr : String(err)) })
        return
      }
      await sleep(200, signal)
    }
  }

  private see(event: WatchEvent<MoverJob>): void {
    if (!['ADDED', 'MODIFIED', 'DELETED'].includes(event.type)) return
    const job = event.object
    const uid = job?.metadata?.uid
    if (!uid) return
    const { track, news } = trackJob(this.known.get(uid), job)
    if (!this.owners.has(track.owner)) return
    this.known.set(uid, track)
    if (news) this.emit({ kind: 'job', news })
  }
}

/** A queue one consumer awaits. */
class Mailbox<T> {
  private items: T[] = []
  private wake?: () => void

  push(item: T): void {
    this.items.push(item)
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  async take(): Promise<T> {
    while (this.items.length === 0) await new Promise<void>((resolve) => (this.wake = resolve))
    return this.items.shift()!
  }
}
