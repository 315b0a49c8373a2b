// Every command this tool prints for the operator to run next (clean-up by
// hand, follow-ups, retry, resume, "where to look") is built here, so each
// one carries this run's cluster: the same --kubeconfig/--context for
// kubectl, the same CLUSTER (and KUBECONFIG when it was given explicitly)
// for task. Quoting is POSIX (single quotes), so any sh accepts the line. Pure.
import type { ClusterTarget } from './cluster.ts'

const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/

/** One word for a POSIX shell: as it is when safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (word !== '' && PLAIN.test(word)) return word
  return `'${word.replaceAll("'", `'\\''`)}'`
}

/** `kubectl --kubeconfig <file> ARGS...` (or `--context <c>`) for this run's cluster. */
export function kubectlHint(target: Pick<ClusterTarget, 'kubeconfig' | 'context'>, args: readonly string[]): string {
  const flags = [
    ...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []),
    ...(target.context ? ['--context', target.context] : []),
  ]
  return ['kubectl', ...flags, ...args].map(shellQuote).join(' ')
}

/** How a task command names this run's cluster. */
export interface TaskTarget {
  cluster: string
  /** KUBECONFIG given explicitly to this run (a file or context found by CLUSTER needs no more) */
  kubeconfig?: string
}

/** Whom the commands printed by this run address: its cluster, as kubectl and as task name it. */
export interface HintTarget {
  kubectl: Pick<ClusterTarget, 'kubeconfig' | 'context'>
  task: TaskTarget
}

/** The hint target of a run on `cluster`; `explicitKubeconfig`: the KUBECONFIG (--kubeconfig) it was given, if any. */
export function hintTarget(cluster: ClusterTarget, explicitKubeconfig?: string): HintTarget {
  return {
    kubectl: { kubeconfig: cluster.kubeconfig, context: cluster.context },
    task: { cluster: cluster.name, kubeconfig: explicitKubeconfig },
  }
}

/**
 * `task volsync:<name> VAR=value ... CLUSTER=<c> [KUBECONFIG=<file>]`; vars
 * whose value is undefined are left out.
 */
export function taskHint(name: string, vars: Record<string, string | undefined>, target: TaskTarget): string {
  const all: [string, string | undefined][] = [
    ...Object.entries(vars),
    ['CLUSTER', target.cluster],
    ['KUBECONFIG', target.kubeconfig],
  ]
  const words = all.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${shellQuote(v!)}`)
  return ['task', `volsync:${name}`, ...words].join(' ')
}
