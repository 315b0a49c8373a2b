// CLUSTER=all: every cluster this repository knows (each kubeconfig-<name>
// beside it, plus the contexts of its config file's `clusters` list), each
// resolved as CLUSTER=<name> would be, and a per-cluster step run on all of
// them in parallel. Each step gets a Kubectl of its own cluster only, so no
// step can mix clusters; a cluster that fails (unreachable, no VolSync, no
// such context) is a result like any other, and never stops the others.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { CONFIG_FILE, fleetNames, kubeconfigDir, resolveCluster, type ClusterTarget } from './cluster.ts'
import { InterruptedError, UsageError, errorText } from './errors.ts'
import { Kubectl, KubectlError, stderrText } from './kubectl.ts'
import type { Paint } from './output.ts'

/** One cluster of the fleet: its target, or why it has none (a configured context that does not exist). */
export interface FleetMember {
  name: string
  target?: ClusterTarget
  problem?: string
}

export interface Fleet {
  members: FleetMember[]
  /** things worth a note: kubeconfig-* files that name no cluster */
  notes: string[]
}

/** Reads the fleet: the kubeconfig-* files and the config file, then resolves each cluster. */
export async function findFleet(env: NodeJS.ProcessEnv, readContexts: () => Promise<string[]>): Promise<Fleet> {
  const dir = kubeconfigDir(env)
  const files = existsSync(dir) ? readdirSync(dir) : []
  const configPath = path.join(dir, CONFIG_FILE)
  let config: unknown
  if (files.includes(CONFIG_FILE)) {
    // loaded only here, and kept out of the script bundles (bin/run.mjs): a
    // specifier esbuild cannot see is left to Node, which finds node_modules/yaml
    // (a bundled yaml would cost every status run ~25 ms of CPU)
    const yaml = 'yaml'
    const { parse } = (await import(yaml)) as typeof import('yaml')
    try {
      config = parse(readFileSync(configPath, 'utf8'))
    } catch (err) {
      throw new UsageError(`${configPath} is not valid YAML: ${errorText(err)}`)
    }
  }
  const { names, ignored } = fleetNames({ dir, files, config })
  const needContexts = names.some((name) => !files.includes(`kubeconfig-${name}`))
  const contexts = needContexts ? await readContexts() : []
  const members = names.map((name): FleetMember => {
    const clusterFile = path.join(dir, `kubeconfig-${name}`)
    try {
      return {
        name,
        target: resolveCluster({
          cluster: name,
          explicitExists: false,
          clusterFile,
          clusterFileExists: files.includes(`kubeconfig-${name}`),
          defaultContexts: contexts,
        }),
      }
    } catch {
      return { name, problem: `no ${clusterFile}, and no context ${name} in the default kubeconfig (named in ${configPath})` }
    }
  })
  const notes = ignored.map((file) => `ignored ${path.join(dir, file)}: "${file.slice('kubeconfig-'.length)}" is not a cluster name`)
  return { members, notes }
}

export type ClusterResult<T> =
  | { cluster: string; how?: string; ok: true; value: T }
  | { cluster: string; how?: string; ok: false; error: string }

/** What went wrong with one cluster, in one line: kubectl's own verdict rather than the whole command. */
export function clusterErrorText(err: unknown): string {
  if (err instanceof KubectlError) return stderrText(err.stderr) || err.message
  return errorText(err)
}

/** At most this many clusters are read at once. */
export const FLEET_CONCURRENCY = 8

/**
 * Runs `step` on every member, at most `concurrency` at a time, each with a
 * Kubectl of that member's cluster only; results come in the members' order.
 * A member without a target, or whose step throws, is a failed result; an
 * interrupt (Ctrl-C) stops everything.
 */
export async function eachCluster<T>(
  members: readonly FleetMember[],
  step: (kubectl: Kubectl, target: ClusterTarget) => Promise<T>,
  opts: { concurrency?: number; bin?: string } = {},
): Promise<ClusterResult<T>[]> {
  const results: ClusterResult<T>[] = new Array(members.length)
  let next = 0
  const worker = async () => {
    while (next < members.length) {
      const i = next++
      const m = members[i]!
      if (!m.target) {
        results[i] = { cluster: m.name, ok: false, error: m.problem ?? 'no target' }
        continue
      }
      try {
        results[i] = { cluster: m.name, how: m.target.how, ok: true, value: await step(new Kubectl(m.target, opts.bin), m.target) }
      } catch (err) {
        if (err instanceof InterruptedError) throw err
        results[i] = { cluster: m.name, how: m.target.how, ok: false, error: clusterErrorText(err) }
      }
    }
  }
  const n = Math.max(1, Math.min(opts.concurrency ?? FLEET_CONCURRENCY, members.length))
  await Promise.all(Array.from({ length: n }, worker))
  return results
}

// ---------------------------------------------------------------- reporting (pure)

/**
 * One summary line per cluster, names aligned: "apps: <summary of its
 * value>", or "lab:  NOT READ: <why>" in red; in the members' order.
 */
export function clusterSummaryLines<T>(results: readonly ClusterResult<T>[], summary: (value: T) => string, paint: Paint): string[] {
  const width = Math.max(0, ...results.map((r) => r.cluster.length)) + 1
  return results.map((r) =>
    r.ok ? `${`${r.cluster}:`.padEnd(width)} ${summary(r.value)}` : paint.red(`${`${r.cluster}:`.padEnd(width)} NOT READ: ${r.error}`),
  )
}

/** The whole fleet's line: "2 clusters: <total>, 1 not read (namespace x)", red when a cluster was not read. */
export function fleetTotalLine(results: readonly ClusterResult<unknown>[], total: string, paint: Paint, namespace?: string): string {
  const failed = results.filter((r) => !r.ok).length
  const line =
    `${results.length} cluster${results.length === 1 ? '' : 's'}: ${total}${failed ? `, ${failed} not read` : ''}` +
    (namespace ? ` (namespace ${namespace})` : '')
  return failed ? paint.red(line) : line
}

/** What a cluster's entry of the JSON says besides its own data. */
export interface ClusterJson {
  how: string | null
  /** false: the cluster could not be read (error says why), and nothing else is known of it */
  read: boolean
  error: string | null
}

/** CLUSTER=all's JSON, keyed by cluster: {<name>: {how, read, error, ...data(value)}}, in the members' order. */
export function keyedByCluster<T, D extends object>(results: readonly ClusterResult<T>[], data: (value: T) => D): Record<string, ClusterJson & Partial<D>> {
  return Object.fromEntries(
    results.map((r): [string, ClusterJson & Partial<D>] => [
      r.cluster,
      { how: r.how ?? null, read: r.ok, error: r.ok ? null : r.error, ...(r.ok ? data(r.value) : ({} as Partial<D>)) },
    ]),
  )
}
