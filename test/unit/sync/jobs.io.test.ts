import { describe, expect, it } from 'vitest'
import { Kubectl, KubectlError, type WatchEvent } from '../../../lib/kubectl.ts'
import { MoverJobs, type Followed } from '../../../lib/sync/jobs.io.ts'
import type { MoverJob } from '../../../lib/sync/jobs.ts'

const OWNER = 'rs-uid'

const job = (uid: string, failed: number, owner = OWNER): WatchEvent<MoverJob> => ({
  type: 'MODIFIED',
  object: {
    metadata: { name: 'volsync-src-odoo-backup', namespace: 'business', uid, ownerReferences: [{ apiVersion: 'volsync.backube/v1alpha1', kind: 'ReplicationSource', name: 'odoo-backup', uid: owner, controller: true }] },
    spec: { backoffLimit: 8 },
    status: { failed },
  },
})

/** A promise and the function that resolves it (Node 20 has no Promise.withResolvers). */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {}
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/** Blocks until the signal aborts, as kubectl --watch does until it is killed. */
const hang = (signal: AbortSignal) =>
  new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })))

/** A watch script step: an event, a failure (kubectl's stderr), a pause, or the end (the server closed it). */
type Step<T> = T | { fail: string } | { wait: Promise<unknown> } | 'end'

function play<T>(steps: Step<T>[], signal: AbortSignal): AsyncGenerator<T> {
  return (async function* () {
    for (const step of steps) {
      if (step === 'end') return
      if (typeof step === 'object' && step !== null && 'fail' in step) throw new KubectlError(['get', '--watch'], step.fail, 1)
      if (typeof step === 'object' && step !== null && 'wait' in step) {
        await step.wait
        continue
      }
      await Promise.resolve()
      yield step as T
    }
    await hang(signal)
  })()
}

/** A Kubectl whose jobs watches play `jobs` (one script per call) and whose pods/logs answer as given. */
function fakeKubectl(jobs: Step<WatchEvent<MoverJob>>[][], answers: { pods?: () => unknown[]; logs?: () => string } = {}) {
  const calls: string[] = []
  const kubectl = new Kubectl({ name: 'test', how: 'test' })
  Object.assign(kubectl, {
    watchEvents: (resource: string, _scope: unknown, signal: AbortSignal, selectors: { label?: string }) => {
      calls.push(`watch ${resource} ${selectors.label}`)
      return play(jobs[calls.filter((c) => c.startsWith('watch')).length - 1] ?? [], signal)
    },
    list: async (resource: string, _scope: unknown, selectors: { label?: string }) => {
      calls.push(`list ${resource} ${selectors.label}`)
      if (!answers.pods) throw new KubectlError(['get', 'pods'], 'Error from server (Forbidden): pods is forbidden', 1)
      return answers.pods()
    },
    logs: async (pod: string, _ns: string, opts: { container?: string; tail?: number }) => {
      calls.push(`logs ${pod} ${opts.container} ${opts.tail}`)
      if (!answers.logs) throw new KubectlError(['logs'], 'Error from server (Forbidden): pods "x" is forbidden', 1)
      return answers.logs()
    },
  })
  return { kubectl, calls }
}

/** Reads a merged watch until `n` items came (or it ended), then stops it. */
async function take<T>(watch: AsyncIterable<Followed<T>>, n: number): Promise<Followed<T>[]> {
  const got: Followed<T>[] = []
  for await (const item of watch) {
    got.push(item)
    if (got.length >= n) break
  }
  return got
}

const summary = (items: Followed<string>[]) =>
  items.map((i) => (i.kind === 'object' ? i.item : i.kind === 'job' ? `${i.news.kind} ${i.news.job.uid} ${i.news.job.failed}` : 'note'))

describe('MoverJobs', () => {
  it('merges the objects with the news of their mover Jobs as they come; other owners and first sights are no news', async () => {
    // the objects' watch is idle after rs-1: the Job's news comes anyway
    const { kubectl, calls } = fakeKubectl([[job('a', 2), job('other', 0, 'someone-else'), job('other', 1, 'someone-else'), job('a', 3), job('a', 8)]])
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [OWNER])
    const items = await take(jobs.watch((s) => play<string>(['rs-1', { wait: hang(s) }], s))(new AbortController().signal), 3)
    jobs.close()
    expect(summary(items).sort()).toEqual(['attempt-failed a 3', 'gave-up a 8', 'rs-1'])
    expect(calls).toEqual(['watch jobs.batch app.kubernetes.io/created-by=volsync'])
  })

  it('keeps one jobs watch across reopened object watches, and keeps news that came between them', async () => {
    const between = gate()
    const { kubectl, calls } = fakeKubectl([[{ wait: between.promise }, job('a', 0), job('a', 1)]])
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [OWNER])
    const watch = jobs.watch((s) => play<string>(['rs', 'end'], s))
    const signal = new AbortController().signal
    expect(summary(await take(watch(signal), 5))).toEqual(['rs'])
    between.resolve()
    await new Promise((r) => setTimeout(r, 10))
    expect(summary(await take(watch(signal), 2))).toEqual(['attempt-failed a 1', 'rs'])
    jobs.close()
    expect(calls.filter((c) => c.startsWith('watch'))).toHaveLength(1)
  })

  it('a jobs watch that fails (forbidden) is one note and is not tried again', async () => {
    const forbidden = 'Error from server (Forbidden): jobs.batch is forbidden: User "a" cannot list resource "jobs"\n'
    const { kubectl, calls } = fakeKubectl([[{ fail: forbidden }]])
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [OWNER])
    const watch = jobs.watch((s) => play<string>([{ wait: new Promise((r) => setTimeout(r, 20)) }, 'rs', 'end'], s))
    const first = await take(watch(new AbortController().signal), 5)
    expect(first[0]).toEqual({
      kind: 'note',
      text: expect.stringMatching(/^note: cannot watch VolSync's mover Jobs \(Error from server \(Forbidden\): jobs.batch is forbidden: User "a" cannot list resource "jobs"\); waiting on the status alone/),
    })
    expect(summary(await take(watch(new AbortController().signal), 5))).toEqual(['rs'])
    jobs.close()
    expect(calls.filter((c) => c.startsWith('watch'))).toHaveLength(1)
  })

  it('a jobs watch that lost the connection says nothing and is reopened with the next object watch', async () => {
    const { kubectl, calls } = fakeKubectl([[{ fail: 'Unable to connect to the server: dial tcp 10.0.0.1:6443: connect: connection refused' }], [job('a', 0)]])
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [OWNER])
    const watch = jobs.watch((s) => play<string>([{ wait: new Promise((r) => setTimeout(r, 20)) }, 'rs', 'end'], s))
    expect(summary(await take(watch(new AbortController().signal), 5))).toEqual(['rs'])
    expect(summary(await take(watch(new AbortController().signal), 5))).toEqual(['rs'])
    jobs.close()
    expect(calls.filter((c) => c.startsWith('watch'))).toHaveLength(2)
  })

  it('a jobs watch the server ended is reopened by itself', async () => {
    const { kubectl, calls } = fakeKubectl([['end'], [job('a', 0), job('a', 1)]])
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [OWNER])
    const items = await take(jobs.watch((s) => play<string>(['rs'], s))(new AbortController().signal), 2)
    jobs.close()
    expect(summary(items)).toEqual(['rs', 'attempt-failed a 1'])
    expect(calls.filter((c) => c.startsWith('watch'))).toHaveLength(2)
  })

  it('without owners there is no jobs watch at all', async () => {
    const { kubectl, calls } = fakeKubectl([])
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [])
    expect(summary(await take(jobs.watch((s) => play<string>(['rs', 'end'], s))(new AbortController().signal), 5))).toEqual(['rs'])
    expect(calls).toEqual([])
  })

  it('an error of the objects\' watch ends the merged watch with that error, for waitFor to handle', async () => {
    const { kubectl } = fakeKubectl([[]])
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [OWNER])
    const watch = jobs.watch((s) => play<string>(['rs', { fail: 'Unable to connect to the server' }], s))
    await expect(take(watch(new AbortController().signal), 5)).rejects.toBeInstanceOf(KubectlError)
    jobs.close()
  })

  it('an abort of the wait ends the merged watch', async () => {
    const { kubectl } = fakeKubectl([[]])
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [OWNER])
    const stop = new AbortController()
    setTimeout(() => stop.abort(), 20)
    expect(summary(await take(jobs.watch((s) => play<string>(['rs'], s))(stop.signal), 5))).toEqual(['rs'])
    jobs.close()
  })
})

describe('MoverJobs.readLog', () => {
  const track = { uid: 'job-uid', name: 'volsync-src-odoo-backup', namespace: 'business', owner: OWNER, firstFailed: 0, failed: 1, limit: 8 }
  const pod = (name: string, finishedAt: string) => ({
    metadata: { name },
    status: { phase: 'Failed', containerStatuses: [{ name: 'restic', state: { terminated: { exitCode: 1, finishedAt } } }] },
  })

  it('reads the end of the newest failed pod\'s log, and remembers it per owner', async () => {
    const { kubectl, calls } = fakeKubectl([], {
      pods: () => [pod('p-new', '2026-11-26T04:00:30Z'), pod('p-old', '2026-11-26T04:00:10Z')],
      logs: () => 'Fatal: wrong password\n',
    })
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [OWNER])
    expect(await jobs.readLog(track)).toEqual({ log: 'Fatal: wrong password', previous: undefined })
    expect(await jobs.readLog(track)).toEqual({ log: 'Fatal: wrong password', previous: 'Fatal: wrong password' })
    expect(calls.slice(0, 2)).toEqual(['list pods batch.kubernetes.io/controller-uid=job-uid', 'logs p-new restic 20'])
  })

  it.each([
    { name: 'pods cannot be listed', answers: {} },
    { name: 'the log cannot be read', answers: { pods: () => [pod('p', '2026-11-26T04:00:30Z')] } },
    { name: 'no pod failed (they are gone)', answers: { pods: () => [], logs: () => 'x' } },
  ])('is empty, never an error, when $name', async ({ answers }) => {
    const { kubectl } = fakeKubectl([], answers)
    const jobs = new MoverJobs(kubectl, { namespace: 'business' }, [OWNER])
    expect(await jobs.readLog(track)).toEqual({ log: '', previous: undefined })
  })
})
