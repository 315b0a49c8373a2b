// CLUSTER -> which kubeconfig/context every kubectl call of this run uses.
// Resolved once per run, so a run never mixes clusters.
import path from 'node:path'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { UsageError } from './errors.ts'

export interface ClusterTarget {
  /** the CLUSTER name the user asked for */
  name: string
  kubeconfig?: string
  context?: string
  /** how it was resolved, for plans and error messages */
  how: string
}

/**
 * The repository root: the nearest directory above this module that holds
 * lib/cluster.ts (this file lives in lib/; a bundle of it in .cache/dist/).
 */
export const REPO_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)))

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'lib', 'cluster.ts'))) return dir
    if (path.dirname(dir) === dir) return path.resolve(from, '..')
  }
}

/**
 * Where kubeconfig-<cluster> files live: the repository root, or
 * $VOLSYNC_OPS_ROOT when set (tests and setups that keep kubeconfigs apart).
 */
export function kubeconfigDir(env: NodeJS.ProcessEnv): string {
  return env.VOLSYNC_OPS_ROOT || REPO_ROOT
}

export interface ClusterFacts {
  cluster: string
  /** --kubeconfig / KUBECONFIG=... given to the task */
  explicitKubeconfig?: string
  explicitExists: boolean
  /** <root>/kubeconfig-<cluster> */
  clusterFile: string
  clusterFileExists: boolean
  /** contexts of the user's default kubeconfig ($KUBECONFIG or ~/.kube/config) */
  defaultContexts: readonly string[]
}

/**
 * In order: an explicit kubeconfig; <root>/kubeconfig-<cluster>; a context
 * named <cluster> in the default kubeconfig. Anything else is an error that
 * names every place that was tried.
 */
export function resolveCluster(facts: ClusterFacts): ClusterTarget {
  const { cluster } = facts
  if (facts.explicitKubeconfig !== undefined) {
    if (!facts.explicitExists) {
      throw new UsageError(`KUBECONFIG (--kubeconfig) ${facts.explicitKubeconfig}: no such file`)
    }
    return {
      name: cluster,
      kubeconfig: facts.explicitKubeconfig,
      how: `kubeconfig ${facts.explicitKubeconfig} (given explicitly)`,
    }
  }
  if (facts.clusterFileExists) {
    return { name: cluster, kubeconfig: facts.clusterFile, how: `kubeconfig ${facts.clusterFile}` }
  }
  if (facts.defaultContexts.includes(cluster)) {
    return { name: cluster, context: cluster, how: `context ${cluster} of the default kubeconfig` }
  }
  const known = facts.defaultContexts.length ? facts.defaultContexts.join(', ') : 'none'
  throw new UsageError(
    [
      `cannot find cluster ${cluster}. Tried, in order:`,
      `  1. KUBECONFIG=<file> / --kubeconfig <file>: not given`,
      `  2. ${facts.clusterFile}: no such file`,
      `  3. a context named ${cluster} in the default kubeconfig: not there (contexts: ${known})`,
      `Give KUBECONFIG=<file>, create ${facts.clusterFile}, or pick another CLUSTER.`,
    ].join('\n'),
  )
}

/** Gathers the facts resolveCluster decides on; contexts are read only when needed. */
export async function findCluster(
  cluster: string,
  explicitKubeconfig: string | undefined,
  env: NodeJS.ProcessEnv,
  readContexts: () => Promise<string[]>,
): Promise<ClusterTarget> {
  const clusterFile = path.join(kubeconfigDir(env), `kubeconfig-${cluster}`)
  const explicitExists = explicitKubeconfig !== undefined && existsSync(explicitKubeconfig)
  const clusterFileExists = existsSync(clusterFile)
  const needContexts = explicitKubeconfig === undefined && !clusterFileExists
  return resolveCluster({
    cluster,
    explicitKubeconfig,
    explicitExists,
    clusterFile,
    clusterFileExists,
    defaultContexts: needContexts ? await readContexts() : [],
  })
}
