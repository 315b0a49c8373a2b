// The frame every script runs in: parse and validate flags (before any
// kubectl call), --help, resolve the cluster once, turn SIGINT/SIGTERM into
// an abort, run the body, always run the clean-up stack, and map the outcome
// to an exit code (0 ok, 1 failed / needs attention, 2 bad usage, 130 Ctrl-C).
import { Cleanup, manualCleanupText } from './cleanup.ts'
import { helpText, parseArgs, scriptArgs, type CommandSpec, type Options } from './cli.ts'
import { findCluster, type ClusterTarget } from './cluster.ts'
import { EXIT, InterruptedError, OperationError, UsageError, errorText } from './errors.ts'
import { hintTarget, type HintTarget } from './hints.ts'
import { Kubectl } from './kubectl.ts'
import { Output } from './output.ts'

export interface Context {
  opts: Options
  cluster: ClusterTarget
  kubectl: Kubectl
  /** this run's cluster for the commands printed for the operator (lib/hints.ts) */
  hints: HintTarget
  out: Output
  cleanup: Cleanup
  /** aborted on SIGINT, SIGTERM or SIGHUP */
  signal: AbortSignal
  /** throws InterruptedError once the user has interrupted */
  checkpoint(): void
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: EXIT.INTERRUPTED, SIGTERM: EXIT.TERMINATED, SIGHUP: 129 }

export async function runCommand(
  spec: CommandSpec,
  body: (ctx: Context) => Promise<number>,
  argv: readonly string[] = scriptArgs(process.argv, spec.name),
): Promise<void> {
  const bootOut = new Output({ json: false, stdout: process.stdout, stderr: process.stderr, env: process.env })
  let opts: Options
  try {
    const parsed = parseArgs(spec, argv)
    if (parsed.help) {
      process.stdout.write(helpText(spec) + '\n')
      process.exitCode = EXIT.OK
      return
    }
    opts = parsed.options
    spec.checkEnv?.(process.env)
    spec.validate?.(opts)
  } catch (err) {
    bootOut.error(errorText(err))
    process.exitCode = err instanceof UsageError ? EXIT.USAGE : EXIT.FAILED
    return
  }

  const out = new Output({ json: opts.output === 'json', stdout: process.stdout, stderr: process.stderr, env: process.env })
  const cleanup = new Cleanup((line) => out.note(line))
  const abort = new AbortController()
  let received: string | undefined
  let signals = 0
  let lastSignal = 0
  const onSignal = (sig: NodeJS.Signals) => {
    // One Ctrl-C can arrive twice: the terminal signals the whole process
    // group, and a launcher such as tsx relays it to us again. Count signals
    // that come within 100 ms of each other once (a person cannot press that fast).
    const now = Date.now()
    const duplicate = now - lastSignal < 100
    lastSignal = now
    if (duplicate) return
    signals++
    if (signals === 1) {
      received = sig
      out.note(`\n${sig} received: stopping and cleaning up. Interrupt twice more to abandon the clean-up.`)
      abort.abort()
    } else if (signals === 2) {
      out.note(`still cleaning up; interrupt once more to abandon the clean-up`)
    } else {
      const pending = cleanup.pending
      if (pending.length) out.note(manualCleanupText(pending))
      process.exit(SIGNAL_EXIT[sig] ?? EXIT.FAILED)
    }
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal)

  let code: number = EXIT.FAILED
  try {
    const cluster = await findCluster(opts.cluster, opts.kubeconfig, process.env, () =>
      new Kubectl({ name: opts.cluster, how: 'default kubeconfig' }).defaultContexts(),
    )
    const kubectl = new Kubectl(cluster)
    const checkpoint = () => {
      if (abort.signal.aborted) throw new InterruptedError()
    }
    const hints = hintTarget(cluster, opts.kubeconfig)
    code = await body({ opts, cluster, kubectl, hints, out, cleanup, signal: abort.signal, checkpoint })
  } catch (err) {
    code = reportError(out, err)
  } finally {
    if (cleanup.pending.length > 0) {
      const report = await cleanup.run()
      if (report.failed.length > 0) {
        out.error(manualCleanupText(report.failed.map((f) => f.step)))
        code = Math.max(code, EXIT.FAILED)
      }
    }
  }
  if (received) code = SIGNAL_EXIT[received] ?? EXIT.INTERRUPTED
  process.exitCode = code
}

function reportError(out: Output, err: unknown): number {
  if (err instanceof InterruptedError) {
    out.note(err.message)
    return err.exitCode
  }
  if (err instanceof UsageError) {
    out.error(err.message)
    return err.exitCode
  }
  if (err instanceof OperationError) {
    out.error(err.message)
    if (err.details) out.note(err.details)
    return err.exitCode
  }
  out.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
  return EXIT.FAILED
}
