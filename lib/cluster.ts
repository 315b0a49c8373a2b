// CLUSTER -> which kubeconfig/context every kubectl call of this run uses.
// Resolved once per run, so a run never mixes clusters.
import path from 'node:path'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ALL_CLUSTERS } from './cli.ts'
import { UsageError } from './errors.ts'

export interface ClusterTarget {
  /** the CLUSTER name the user asked for */
  name: string
  kubeconfig?: string
  context?: string
  /** how it was resolved, for plans and error messages */
  how: string
  /** CLUSTER=all: no single cluster (lib/fleet.ts gives each per-cluster step its own target) */
  fleet?: true
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
  // CLUSTER=all is checked by lib/cli.ts (only commands that read every cluster take it)
  if (cluster === ALL_CLUSTERS) return fleetPlaceholder(cluster)
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

// ---------------------------------------------------------------- CLUSTER=all

/**
 * The optional configuration file of a repository (in the same directory as
 * the kubeconfig-<cluster> files). Its `clusters` list names contexts of the
 * default kubeconfig that CLUSTER=all reads too.
 */
export const CONFIG_FILE = 'volsync-ops.yaml'

/** The target of a run with CLUSTER=all: no single cluster; each per-cluster step gets its own (lib/fleet.ts). */
export function fleetPlaceholder(cluster: string): ClusterTarget {
  return { name: cluster, how: 'every cluster this repository knows', fleet: true }
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** What CLUSTER=all decides on: the files beside the repository's kubeconfigs, and the config file. */
export interface FleetFacts {
  /** where kubeconfig-<cluster> files and the config file are looked for */
  dir: string
  /** the names of the files in `dir` */
  files: readonly string[]
  /** the config file's parsed content; undefined when there is none */
  config: unknown
}

export interface FleetNames {
  /** every cluster, once, sorted: kubeconfig-<name> files and the config's `clusters` */
  names: string[]
  /** kubeconfig-* files that name no cluster CLUSTER could address (said in a note) */
  ignored: string[]
}

/**
 * Every cluster this repository knows: each kubeconfig-<name> file of `dir`,
 * plus the contexts named in the config file's `clusters` list. A name must
 * be one CLUSTER accepts (a DNS-1123 label, not "all"), so that every other
 * command can address the same cluster; a bad entry of the config file is a
 * usage error, a kubeconfig-* file that is no such name is ignored (and said).
 */
export function fleetNames(facts: FleetFacts): FleetNames {
  const configPath = path.join(facts.dir, CONFIG_FILE)
  const fromFiles: string[] = []
  const ignored: string[] = []
  for (const file of facts.files) {
    if (!file.startsWith('kubeconfig-')) continue
    const name = file.slice('kubeconfig-'.length)
    if (CLUSTER_NAME.test(name) && name.length <= 63 && name !== 'all') fromFiles.push(name)
    else ignored.push(file)
  }
  const fromConfig: string[] = []
  if (facts.config !== undefined && facts.config !== null) {
    const clusters = typeof facts.config === 'object' ? (facts.config as { clusters?: unknown }).clusters : undefined
    if (typeof facts.config !== 'object' || Array.isArray(facts.config)) {
      throw new UsageError(`${configPath}: expected a mapping with a clusters list, such as "clusters: [apps, lab]"`)
    }
    if (clusters !== undefined && clusters !== null && !Array.isArray(clusters)) {
      throw new UsageError(`${configPath}: clusters must be a list of context names, such as "clusters: [apps, lab]"`)
    }
    for (const entry of (clusters as unknown[] | undefined | null) ?? []) {
      if (typeof entry !== 'string' || !CLUSTER_NAME.test(entry) || entry.length > 63 || entry === 'all') {
        throw new UsageError(
          `${configPath}: clusters entry ${JSON.stringify(entry)} is not a cluster name: use the name of a context ` +
            `of the default kubeconfig that is at most 63 lower-case letters, digits and '-' (and not "all")`,
        )
      }
      fromConfig.push(entry)
    }
  }
  const names = [...new Set([...fromFiles, ...fromConfig])].sort()
  if (names.length === 0) {
    throw new UsageError(
      `CLUSTER=all: this repository knows no cluster. Looked for kubeconfig-<name> files in ${facts.dir} ` +
        `and a clusters list in ${configPath} (README.md, "Every cluster at once").`,
    )
  }
  return { names, ignored: ignored.sort() }
}
