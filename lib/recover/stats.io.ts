// `stats` and `check` (stats.ts decides): per source one idle restic pod
// built like the mover (session.io.ts), in which restic runs with `kubectl
// exec`; deleted on every path. Many sources: at most `limit` pods at once.
import { InterruptedError, OperationError, errorText } from '../errors.ts'
import type { Context } from '../run.ts'
import { listInSession } from '../snapshots/list.io.ts'
import type { ResticSession } from '../snapshots/runner.io.ts'
import type { ReplicationSource } from '../volsync/objects.ts'
import { openSession } from './session.io.ts'
import { checkArgs, failedNote, failedStats, judgeCheck, parseStats, sourceStats, statsArgs, type CheckVerdict, type ResticStats, type SourceStats } from './stats.ts'

/** The app part of a pod name: the source's name without -backup. */
const appOf = (rs: ReplicationSource) => rs.metadata.name.replace(/-backup$/, '').slice(0, 40).replace(/-+$/, '')

async function stats(session: ResticSession, argv: readonly string[], what: string): Promise<ResticStats> {
  const run = await session.execText(argv)
  const parsed = run.exitCode === 0 ? parseStats(run.stdout) : null
  if (!parsed) {
    throw new OperationError(`restic stats (${what}) failed (exit code ${run.exitCode}); restic said:`, (run.stderr || run.stdout).trim())
  }
  return parsed
}

/**
 * The numbers of one source. `failSoft`: an error that stops this source
 * becomes a failed row instead of ending the run (stats of many); Ctrl-C
 * always ends it.
 */
export async function statsOfSource(ctx: Context, rs: ReplicationSource, app: string, failSoft = false): Promise<SourceStats> {
  let session: ResticSession | undefined
  try {
    const opened = await openSession(ctx, { rs, app, component: 'stats', what: 'stats' })
    session = opened.session
    const snapshots = await listInSession(session, opened.pod.mover.repository)
    const latest = snapshots.length ? await stats(session, statsArgs.latest, 'restore size of the latest snapshot') : null
    const all = snapshots.length ? await stats(session, statsArgs.all, 'restore size of every snapshot') : null
    const raw = await stats(session, statsArgs.raw, 'raw data')
    return sourceStats(rs, { snapshots, latest, all, raw })
  } catch (err) {
    if (err instanceof InterruptedError || !failSoft) throw err
    return failedStats(rs, errorText(err), err instanceof OperationError ? err.details : '')
  } finally {
    await session?.close()
  }
}

/**
 * Every source, at most `limit` at once, in the order given; never stops early
 * except on Ctrl-C. `cluster`: the cluster its notes name (CLUSTER=all).
 */
export async function statsOfMany(ctx: Context, sources: readonly ReplicationSource[], limit: number, cluster?: string): Promise<SourceStats[]> {
  const results: SourceStats[] = new Array(sources.length)
  let next = 0
  let done = 0
  const progress = ctx.out.progress('reading repositories')
  const worker = async () => {
    while (next < sources.length && !ctx.signal.aborted) {
      const i = next++
      const rs = sources[i]!
      results[i] = await statsOfSource(ctx, rs, appOf(rs), true)
      done++
      progress.update(`${done} of ${sources.length} done`)
      if (!results[i]!.ok) ctx.out.note(failedNote(results[i]!, `FAILED: ${results[i]!.message}`, cluster))
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(limit, sources.length) }, worker))
  } finally {
    progress.stop()
  }
  ctx.checkpoint()
  return results
}

/** `restic check` of one source's repository in an idle pod. */
export async function checkSource(ctx: Context, rs: ReplicationSource, app: string, percent?: number): Promise<CheckVerdict> {
  const { session } = await openSession(ctx, { rs, app, component: 'check', what: 'check' })
  try {
    const run = await session.execText(checkArgs(percent))
    ctx.checkpoint()
    return judgeCheck(run.exitCode, run.stdout, run.stderr, percent)
  } finally {
    await session.close()
  }
}
