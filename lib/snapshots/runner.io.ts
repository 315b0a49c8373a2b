// Runs the restic pods built by pod.ts, and never lets one outlive the run:
// the pod's deletion is pushed on the clean-up stack BEFORE it is created,
// so success, failure, timeout and Ctrl-C all delete it (and its
// activeDeadlineSeconds stops it even if this tool is killed).
// - runOnce: a pod that runs one restic command; its log is the answer
//   (small text: `restic snapshots --json`).
// - ResticSession: an idle pod in which commands run with `kubectl exec`,
//   whose stdout is a binary-safe stream (files, download, verify, the
//   restore preview). Pod logs are never a transport for data: they are not
//   binary-safe and the kubelet rotates (truncates) them.
import type { UndoStep } from '../cleanup.ts'
import { OperationError, TimeoutError } from '../errors.ts'
import type { Kubectl } from '../kubectl.ts'
import { nameSuffix } from '../names.ts'
import { runToCompletion, type Pod } from '../pods.ts'
import type { Context } from '../run.ts'
import { waitFor, type Verdict } from '../wait.ts'
import { resticPod, type ResticPodInput } from './pod.ts'
import { podRunning } from './session.ts'

export type PodSpecInput = Omit<ResticPodInput, 'name' | 'deadlineSeconds'> & {
  /** the pod's name starts with this: volsync-<what>-<app> */
  prefix: string
}

/** A pod name of at most 63 characters: the prefix, cut if needed, and a random suffix. */
export function podName(prefix: string): string {
  return `${prefix.slice(0, 57).replace(/-+$/, '')}-${nameSuffix()}`
}

/** Pushes the undo that deletes the pod (before it is created: a create that times out may still have made it). */
function pushDelete(ctx: Context, manifest: ReturnType<typeof resticPod>, what: string): UndoStep {
  const { kubectl, cleanup } = ctx
  const { name, namespace } = manifest.metadata as { name: string; namespace: string }
  const step: UndoStep = {
    what: `delete the ${what} pod ${namespace}/${name}`,
    undo: async () => {
      await kubectl.delete('pod', name, namespace, { gracePeriod: 0 })
    },
    manual: [kubectl.commandLine(['delete', 'pod', name, '-n', namespace, '--ignore-not-found'])],
  }
  ctx.checkpoint()
  cleanup.push(step)
  return step
}

/** The pod's deadline: the run's timeout and a minute more. */
const deadline = (ctx: Context) => Math.ceil(ctx.opts.timeoutMs / 1000) + 60

export interface OnceResult {
  phase: 'Succeeded' | 'Failed'
  /** the restic container's log */
  log: string
}

/**
 * Runs a pod that runs one restic command to its end, reads its log, and
 * deletes it. `progress`: the label of the progress line.
 */
export async function runOnce(ctx: Context, input: PodSpecInput, what: string, progress: string): Promise<OnceResult> {
  const { kubectl } = ctx
  const manifest = resticPod({ ...input, name: podName(input.prefix), deadlineSeconds: deadline(ctx) })
  const { name, namespace } = manifest.metadata as { name: string; namespace: string }
  const step = pushDelete(ctx, manifest, what)
  try {
    await kubectl.create(manifest)
    const phase = await waitFor({
      what: `the ${what} pod ${namespace}/${name}`,
      watch: (signal) => kubectl.watchObject<Pod>('pod', name, namespace, signal),
      check: runToCompletion,
      timeoutMs: ctx.opts.timeoutMs,
      signal: ctx.signal,
      progress: ctx.out.progress(progress),
    })
    const log = await kubectl.logs(name, namespace, { container: 'restic' })
    return { phase, log }
  } finally {
    await ctx.cleanup.undoNow(step)
  }
}

/** What a command run in the session printed (stdout only when collected) and how it ended. */
export interface ExecResult {
  exitCode: number
  stderr: string
}

/**
 * An idle restic pod (resticPod with `command: {idle: true}`) and the
 * commands run in it with `kubectl exec`. open() waits until it runs;
 * close() deletes it (the clean-up stack does too, on every path).
 */
export class ResticSession {
  readonly name: string
  readonly namespace: string
  private readonly ctx: Context
  private readonly step: UndoStep

  private constructor(ctx: Context, name: string, namespace: string, step: UndoStep) {
    this.ctx = ctx
    this.name = name
    this.namespace = namespace
    this.step = step
  }

  /**
   * Creates the pod and waits until its containers run. `unschedulableMs`:
   * give up earlier (an OperationError naming why) when the scheduler has
   * not placed it after this long.
   */
  static async open(
    ctx: Context,
    input: Omit<PodSpecInput, 'command'>,
    what: string,
    opts: { unschedulableMs?: number } = {},
  ): Promise<ResticSession> {
    const { kubectl } = ctx
    const manifest = resticPod({ ...input, command: { idle: true }, name: podName(input.prefix), deadlineSeconds: deadline(ctx) })
    const { name, namespace } = manifest.metadata as { name: string; namespace: string }
    const step = pushDelete(ctx, manifest, what)
    const session = new ResticSession(ctx, name, namespace, step)
    const started = Date.now()
    try {
      await kubectl.create(manifest)
      await waitFor<Pod, true>({
        what: `the ${what} pod ${namespace}/${name} to run`,
        watch: (signal) => kubectl.watchObject<Pod>('pod', name, namespace, signal),
        check: (pod): Verdict<true> => {
          const verdict = podRunning(pod)
          if (verdict.kind === 'running') return { done: true, value: true }
          if (verdict.kind === 'ended') {
            throw new OperationError(`the ${what} pod ${namespace}/${name} ended before it was used (${verdict.why})`)
          }
          if (verdict.kind === 'unschedulable' && opts.unschedulableMs !== undefined && Date.now() - started > opts.unschedulableMs) {
            throw new Unschedulable(`the ${what} pod ${namespace}/${name} could not be scheduled: ${verdict.why}`)
          }
          return { done: false, progress: verdict.why }
        },
        timeoutMs: opts.unschedulableMs === undefined ? ctx.opts.timeoutMs : Math.min(ctx.opts.timeoutMs, opts.unschedulableMs + 30_000),
        signal: ctx.signal,
        progress: ctx.out.progress(`starting the ${what} pod`),
      })
    } catch (err) {
      await session.close()
      if (err instanceof TimeoutError && opts.unschedulableMs !== undefined) {
        throw new Unschedulable(`the ${what} pod ${namespace}/${name} did not start in time`)
      }
      throw err
    }
    return session
  }

  get kubectl(): Kubectl {
    return this.ctx.kubectl
  }

  /** Runs argv in `container`; stdout goes to onStdout as bytes. `signal` stops it too (a deadline of the caller's). */
  exec(
    argv: readonly string[],
    onStdout: (chunk: Buffer) => void | Promise<void>,
    container = 'restic',
    signal?: AbortSignal,
  ): Promise<ExecResult> {
    this.ctx.checkpoint()
    const stop = signal ? AbortSignal.any([this.ctx.signal, signal]) : this.ctx.signal
    return this.ctx.kubectl.exec(this.name, this.namespace, container, argv, { onStdout, signal: stop })
  }

  /** Runs argv and collects its stdout as text (small outputs: JSON documents, summaries). */
  async execText(argv: readonly string[], container = 'restic'): Promise<ExecResult & { stdout: string }> {
    const chunks: Buffer[] = []
    const result = await this.exec(argv, (c) => void chunks.push(c), container)
    return { ...result, stdout: Buffer.concat(chunks).toString('utf8') }
  }

  /** Deletes the pod now (idempotent; the clean-up stack retries a failure). */
  async close(): Promise<void> {
    await this.ctx.cleanup.undoNow(this.step)
  }
}

/** The session pod could not be placed (a node without room, a volume it cannot mount there). */
export class Unschedulable extends OperationError {}
