import { afterEach, describe, expect, it, vi } from 'vitest'
import { InterruptedError, OperationError, TimeoutError } from '../../lib/errors.ts'
import { KubectlError } from '../../lib/kubectl.ts'
import type { Progress } from '../../lib/output.ts'
import { sleep, waitFor, type Verdict } from '../../lib/wait.ts'

/**
 * One watch, scripted: values are yielded, 'fail' throws like a failed
 * kubectl, 'hang' blocks until the watch is stopped (as kubectl --watch does
 * until it is killed). Running off the end ends the watch, as when the
 * server closes it.
 */
type Step = number | 'fail' | 'hang'

/** A watch factory that plays one script per call and records the calls. */
function scriptedWatch(...scripts: Step[][]) {
  const calls: number[] = []
  const watch = (signal: AbortSignal): AsyncIterable<number> => {
    const script = scripts[calls.length] ?? ['hang']
    calls.push(calls.length)
    return (async function* () {
      for (const step of script) {
        if (step === 'fail') {
          throw new KubectlError(['get', 'pod', 'x', '--watch'], 'error: the connection to the server was refused', 1)
        }
        if (step === 'hang') {
          await new Promise<void>((resolve) => {
            if (signal.aborted) return resolve()
            signal.addEventListener('abort', () => resolve(), { once: true })
          })
          return
        }
        await Promise.resolve()
        yield step
      }
    })()
  }
  return { watch, calls }
}

/** done at the target value, progress otherwise */
const until = (target: number) => (n: number): Verdict<string> =>
  n >= target ? { done: true, value: `reached ${n}` } : { done: false, progress: `at ${n}` }

function fakeProgress() {
  const updates: string[] = []
  let stopped = 0
  const progress = { update: (t: string) => updates.push(t), stop: () => stopped++ } as unknown as Progress
  return { progress, updates, stopped: () => stopped }
}

const never = new AbortController().signal

afterEach(() => {
  vi.useRealTimers()
})

describe('waitFor', () => {
  it('returns the value once check says done, reporting progress on the way', async () => {
    const { watch, calls } = scriptedWatch([1, 2, 3, 'hang'])
    const p = fakeProgress()
    await expect(
      waitFor({ what: 'the pod', watch, check: until(3), timeoutMs: 5000, signal: never, progress: p.progress }),
    ).resolves.toBe('reached 3')
    expect(p.updates).toEqual(['at 1', 'at 2'])
    expect(p.stopped()).toBe(1)
    expect(calls).toHaveLength(1)
  })

  it('a verdict without progress text updates nothing', async () => {
    const { watch } = scriptedWatch([1, 2])
    const p = fakeProgress()
    const check = (n: number): Verdict<number> => (n === 2 ? { done: true, value: n } : { done: false })
    await expect(waitFor({ what: 'x', watch, check, timeoutMs: 5000, signal: never, progress: p.progress })).resolves.toBe(2)
    expect(p.updates).toEqual([])
  })

  it('reopens a watch that ends (the API server closes watches) and goes on', async () => {
    const { watch, calls } = scriptedWatch([1], [2], [3])
    await expect(waitFor({ what: 'x', watch, check: until(3), timeoutMs: 5000, signal: never })).resolves.toBe('reached 3')
    expect(calls).toHaveLength(3)
  })

  it('reopens a watch that went silent after resyncMs, and sees the state it missed', async () => {
    // the first watch shows 1, then nothing more (an event lost): the second starts from the present
    const { watch, calls } = scriptedWatch([1, 'hang'], [3, 'hang'])
    await expect(
      waitFor({ what: 'x', watch, check: until(3), timeoutMs: 5000, signal: never, resyncMs: 30 }),
    ).resolves.toBe('reached 3')
    expect(calls).toHaveLength(2)
  })

  it('a resync is not a failure: quiet watches never add up to "lost contact"', async () => {
    const { watch, calls } = scriptedWatch(['hang'], ['hang'], ['hang'], ['hang'], [3])
    await expect(
      waitFor({ what: 'x', watch, check: until(3), timeoutMs: 5000, signal: never, resyncMs: 10, maxFailures: 1 }),
    ).resolves.toBe('reached 3')
    expect(calls).toHaveLength(5)
  })

  it('a quiet watch is kept open until the resync is due (default: a minute)', async () => {
    vi.useFakeTimers()
    const { watch, calls } = scriptedWatch(['hang'], [3])
    const done = waitFor({ what: 'x', watch, check: until(3), timeoutMs: 600_000, signal: never })
    await vi.advanceTimersByTimeAsync(59_000)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_000)
    await expect(done).resolves.toBe('reached 3')
    expect(calls).toHaveLength(2)
  })

  it('retries a failed watch, and a success in between resets the count', async () => {
    vi.useFakeTimers()
    // two failures, a value (count back to 0), then two more failures: never three in a row
    const { watch, calls } = scriptedWatch(['fail'], ['fail'], [1, 'fail'], ['fail'], [5])
    const result = waitFor({ what: 'x', watch, check: until(5), timeoutMs: 600_000, signal: never })
    const settled = result.catch((err: unknown) => err)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(await settled).toBe('reached 5')
    expect(calls).toHaveLength(5)
  })

  it('gives up after maxFailures failed watches in a row, with kubectl’s error', async () => {
    vi.useFakeTimers()
    const { watch, calls } = scriptedWatch(['fail'], ['fail'], ['fail'], [9])
    const result = waitFor({ what: 'the list pod business/x', watch, check: until(9), timeoutMs: 600_000, signal: never })
    const settled = result.catch((err: unknown) => err)
    await vi.advanceTimersByTimeAsync(60_000)
    const err = (await settled) as OperationError
    expect(err).toBeInstanceOf(OperationError)
    expect(err).not.toBeInstanceOf(TimeoutError)
    expect(err.message).toBe('lost contact with the cluster while waiting for the list pod business/x (3 watches failed in a row)')
    expect(err.details).toMatch(/the connection to the server was refused/)
    expect(calls).toHaveLength(3)
  })

  it('backs off 1s, 2s, 4s between failed watches', async () => {
    vi.useFakeTimers()
    const { watch, calls } = scriptedWatch(['fail'], ['fail'], ['fail'], [1])
    const result = waitFor({ what: 'x', watch, check: until(1), timeoutMs: 600_000, signal: never, maxFailures: 4 })
    await vi.advanceTimersByTimeAsync(0)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(999)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(2000)
    expect(calls).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(3999)
    expect(calls).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(1)
    await expect(result).resolves.toBe('reached 1')
  })

  it('times out with a TimeoutError (exit 1) that says how long and for what', async () => {
    vi.useFakeTimers()
    const { watch } = scriptedWatch([1, 'hang'])
    const p = fakeProgress()
    const result = waitFor({ what: 'the sync of media/app-backup', watch, check: until(2), timeoutMs: 90_000, signal: never, progress: p.progress })
    const settled = result.catch((err: unknown) => err)
    await vi.advanceTimersByTimeAsync(90_000)
    const err = (await settled) as TimeoutError
    expect(err).toBeInstanceOf(TimeoutError)
    expect(err.exitCode).toBe(1)
    expect(err.message).toBe('timed out after 1m30s waiting for the sync of media/app-backup')
    expect(p.stopped()).toBe(1)
  })

  it('an abort (Ctrl-C) stops the watch and throws InterruptedError (exit 130)', async () => {
    const { watch } = scriptedWatch([1, 'hang'])
    const ctrlC = new AbortController()
    const result = waitFor({ what: 'the list pod', watch, check: until(2), timeoutMs: 60_000, signal: ctrlC.signal })
    setTimeout(() => ctrlC.abort(), 20)
    const err = (await result.catch((e: unknown) => e)) as InterruptedError
    expect(err).toBeInstanceOf(InterruptedError)
    expect(err.exitCode).toBe(130)
    expect(err.message).toBe('interrupted while waiting for the list pod')
  })

  it('an abort while a failed watch backs off also ends at once', async () => {
    const { watch } = scriptedWatch(['fail'], ['fail'])
    const ctrlC = new AbortController()
    const started = Date.now()
    const result = waitFor({ what: 'x', watch, check: until(1), timeoutMs: 60_000, signal: ctrlC.signal })
    setTimeout(() => ctrlC.abort(), 50)
    await expect(result).rejects.toBeInstanceOf(InterruptedError)
    expect(Date.now() - started).toBeLessThan(900)
  })

  it('an already aborted signal never opens a watch', async () => {
    const { watch, calls } = scriptedWatch([1])
    const ctrlC = new AbortController()
    ctrlC.abort()
    await expect(waitFor({ what: 'x', watch, check: until(1), timeoutMs: 60_000, signal: ctrlC.signal })).rejects.toBeInstanceOf(
      InterruptedError,
    )
    expect(calls).toHaveLength(0)
  })

  it.each<[string, () => unknown]>([
    ['an OperationError (e.g. the mover failed)', () => new OperationError('the mover failed', 'log')],
    ['a KubectlError', () => new KubectlError(['x'], 'boom', 1)],
    ['any other error (a bug is not a lost connection)', () => new TypeError('x is undefined')],
  ])('check() throwing %s fails fast, without retrying', async (_name, makeError) => {
    const error = makeError()
    const { watch, calls } = scriptedWatch([1, 2], [3])
    const p = fakeProgress()
    const check = (n: number): Verdict<never> => {
      if (n === 2) throw error
      return { done: false, progress: `at ${n}` }
    }
    await expect(waitFor({ what: 'x', watch, check, timeoutMs: 60_000, signal: never, progress: p.progress })).rejects.toBe(error)
    expect(calls).toHaveLength(1)
    expect(p.stopped()).toBe(1)
  })

  it('stops listening to the caller’s signal when done', async () => {
    const ctrl = new AbortController()
    const remove = vi.spyOn(ctrl.signal, 'removeEventListener')
    const { watch } = scriptedWatch([1])
    await waitFor({ what: 'x', watch, check: until(1), timeoutMs: 60_000, signal: ctrl.signal })
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function))
  })
})

describe('sleep', () => {
  it('resolves after the time, or at once on abort', async () => {
    vi.useFakeTimers()
    let done = false
    void sleep(1000).then(() => (done = true))
    await vi.advanceTimersByTimeAsync(999)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(done).toBe(true)

    const ctrl = new AbortController()
    let woke = false
    void sleep(60_000, ctrl.signal).then(() => (woke = true))
    ctrl.abort()
    await vi.advanceTimersByTimeAsync(0)
    expect(woke).toBe(true)

    const aborted = new AbortController()
    aborted.abort()
    await expect(sleep(60_000, aborted.signal)).resolves.toBeUndefined()
  })
})
