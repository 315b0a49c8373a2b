// Waiting on the cluster: follow a watch until a predicate holds, with a
// deadline, progress, and abort on Ctrl-C. A watch that ends (servers close
// them after a while) is reopened; one that keeps failing is an error.
import { InterruptedError, OperationError, TimeoutError, errorText } from './errors.ts'
import { KubectlError } from './kubectl.ts'
import { formatAge, type Progress } from './output.ts'

export type Verdict<R> = { done: true; value: R } | { done: false; progress?: string }

export interface WaitSpec<T, R> {
  /** what we wait for, for messages: "the sync of media/app-backup" */
  what: string
  /** opens a watch; called again whenever the previous one ends */
  watch: (signal: AbortSignal) => AsyncIterable<T>
  /**
   * decides on each observed state; may throw an OperationError to fail fast.
   * It may be async (to act on what it saw); the watch is not read meanwhile.
   */
  check: (item: T) => Verdict<R> | Promise<Verdict<R>>
  timeoutMs: number
  /** aborted on Ctrl-C / SIGTERM */
  signal: AbortSignal
  progress?: Progress
  /** consecutive failed watches before giving up (default 3) */
  maxFailures?: number
  /**
   * reopen the watch after this long even when it did not end (default 60 s).
   * A watch can go silent for good: an event lost after an API server
   * restart, a connection a load balancer dropped without closing it. The
   * new watch starts with the current state, so nothing stays unseen longer.
   */
  resyncMs?: number
}

/** How often a quiet watch is reopened (see WaitSpec.resyncMs). */
export const RESYNC_MS = 60_000

/** Resolves after ms, or right away when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

export async function waitFor<T, R>(spec: WaitSpec<T, R>): Promise<R> {
  const started = Date.now()
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  // a Ctrl-C that came before the wait began (e.g. during a create) counts too
  if (spec.signal.aborted) stop.abort()
  else spec.signal.addEventListener('abort', onAbort, { once: true })
  const timer = setTimeout(() => stop.abort(), spec.timeoutMs)
  const maxFailures = spec.maxFailures ?? 3
  let failures = 0
  let lastError: unknown
  try {
    while (!stop.signal.aborted) {
      // one round: this watch, until it ends, fails, or is due for a resync
      const round = new AbortController()
      const endRound = () => round.abort()
      stop.signal.addEventListener('abort', endRound, { once: true })
      const resync = setTimeout(endRound, spec.resyncMs ?? RESYNC_MS)
      try {
        for await (const item of spec.watch(round.signal)) {
          failures = 0
          let verdict: Verdict<R>
          try {
            verdict = await spec.check(item)
          } catch (err) {
            throw new CheckFailed(err)
          }
          if (verdict.done) return verdict.value
          if (verdict.progress !== undefined) spec.progress?.update(verdict.progress)
        }
      } catch (err) {
        // whatever check() throws ends the wait at once; only a failed watch is retried
        if (err instanceof CheckFailed) throw err.error
        if (stop.signal.aborted) break
        if (round.signal.aborted) continue // resynced while it failed: a new round
        if (err instanceof OperationError && !(err instanceof KubectlError)) throw err
        lastError = err
        failures++
        if (failures >= maxFailures) {
          throw new OperationError(
            `lost contact with the cluster while waiting for ${spec.what} ` +
              `(${failures} watches failed in a row)`,
            errorText(lastError),
          )
        }
      } finally {
        clearTimeout(resync)
        stop.signal.removeEventListener('abort', endRound)
      }
      if (round.signal.aborted) continue // resync: reopen at once
      await sleep(failures === 0 ? 200 : 1000 * 2 ** (failures - 1), stop.signal)
    }
  } finally {
    clearTimeout(timer)
    spec.signal.removeEventListener('abort', onAbort)
    spec.progress?.stop()
  }
  if (spec.signal.aborted) throw new InterruptedError(`interrupted while waiting for ${spec.what}`)
  throw new TimeoutError(`timed out after ${formatAge(Date.now() - started)} waiting for ${spec.what}`)
}

/** Carries an exception of check() past the retry logic. */
class CheckFailed {
  readonly error: unknown
  constructor(error: unknown) {
    this.error = error
  }
}

