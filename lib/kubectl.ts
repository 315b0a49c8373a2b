// The only place that runs kubectl. Every call of a run carries the same
// --kubeconfig/--context; state is read as JSON; manifests go in on stdin;
// a failure becomes a KubectlError carrying kubectl's own stderr.
import { spawn as nodeSpawn } from 'node:child_process'
import { $, type ProcessPromise } from 'zx/core'
import type { ClusterTarget } from './cluster.ts'
import { OperationError, errorText } from './errors.ts'
import { kubectlHint } from './hints.ts'
import { JsonStreamSplitter } from './jsonstream.ts'

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: {
    name: string
    namespace?: string
    uid?: string
    resourceVersion?: string
    creationTimestamp?: string
    deletionTimestamp?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[]
  }
}

export interface KubeList<T> {
  items: T[]
}

/**
 * What kind of failure kubectl reported. `conflict`: the object is not as the
 * request expected (a stale resourceVersion, a JSON patch whose `test` op
 * failed or that cannot apply to what the object now holds).
 */
export type KubectlFailure = 'not-found' | 'no-resource-type' | 'unreachable' | 'forbidden' | 'conflict' | 'other'

/** What kind of failure kubectl's stderr describes. Pure. */
export function classifyFailure(stderr: string): KubectlFailure {
  if (/the server doesn't have a resource type|no matches for kind|resource mapping not found/i.test(stderr)) {
    return 'no-resource-type'
  }
  if (/\(NotFound\)|not found/.test(stderr)) return 'not-found'
  if (/\(Forbidden\)|forbidden/i.test(stderr)) return 'forbidden'
  // A JSON patch that did not apply to the object as it is now. kube-apiserver
  // 1.35 answers a failed `test` op (and a `remove` of a path that is not
  // there) with HTTP 422, reason Invalid, and no detail at all: kubectl prints
  // "The request is invalid: the server rejected our request due to an error
  // in our request" (test/fixtures/kubectl-patch-test-failed.stderr, recorded
  // by test/e2e/record-fixtures.sh). Older servers named the op ("testing
  // value /x failed", "test operation does not apply"). Which guard failed,
  // and whether it was a guard at all, only the object itself can tell: read
  // it again (lib/sync/engine.io.ts TriggerUndo does).
  if (
    /\(Conflict\)|\(Invalid\).*test operation|the object has been modified|testing value|test operation does not apply|the server rejected our request due to an error in our request/i.test(
      stderr,
    )
  ) {
    return 'conflict'
  }
  if (
    /Unable to connect to the server|connection refused|connection to the server .* was refused|i\/o timeout|no such host|dial tcp|TLS handshake|EOF$/m.test(
      stderr,
    )
  ) {
    return 'unreachable'
  }
  return 'other'
}

/** A klog line of kubectl's client libraries: `E1126 07:30:28.433829    1643 memcache.go:265] ...` */
const KLOG_LINE = /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [\w.-]+:\d+\] /

/**
 * What is worth reading in kubectl's stderr. Against an unreachable API
 * server kubectl logs the same klog error five times before its own one-line
 * verdict ("The connection to the server ... was refused"): keep the verdict,
 * drop the klog lines (unless there is nothing else), and repeated lines. Pure.
 */
export function stderrText(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '')
  const plain = lines.filter((l) => !KLOG_LINE.test(l))
  return [...new Set(plain.length ? plain : lines)].join('\n')
}

/**
 * child_process.spawn for kubectl: an error writing its stdin (EPIPE: kubectl
 * ended without reading the manifest, as it does when it fails early) is left
 * to kubectl's exit code and stderr, which say what went wrong. zx writes the
 * input with no error listener on the pipe, so that error would otherwise end
 * the whole run as an unhandled 'error' event, clean-up and all.
 */
const spawnKubectl = ((...args: Parameters<typeof nodeSpawn>) => {
  const child = nodeSpawn(...args)
  child.stdin?.on('error', () => {})
  return child
}) as typeof nodeSpawn

export class KubectlError extends OperationError {
  readonly args: readonly string[]
  /** kubectl's whole stderr (the message carries only what is worth reading) */
  readonly stderr: string
  readonly failure: KubectlFailure
  constructor(args: readonly string[], stderr: string, exitCode: number | null) {
    const text = stderrText(stderr) || `exit code ${exitCode}`
    super(`kubectl ${args.join(' ')} failed: ${text}`)
    this.args = args
    this.stderr = stderr
    this.failure = classifyFailure(stderr)
  }
}

/** One-shot calls give up after this long instead of hanging on a dead API server. */
const REQUEST_TIMEOUT = '--request-timeout=60s'

export type Scope = { namespace: string } | { allNamespaces: true }

/** A field selector (metadata.name=x) and a label selector (app=x), each optional. */
export interface Selectors {
  field?: string
  label?: string
}

/** An API resource as its raw path names it: group '' is the core group (/api/v1). */
export interface ApiResource {
  group: string
  version: string
  /** the plural resource name, e.g. replicationsources */
  plural: string
}

/** A list as the API server sends it: the items, and the token of the next page. */
export interface RawList<T> {
  items: T[]
  metadata?: { continue?: string; resourceVersion?: string; remainingItemCount?: number }
}

/**
 * Objects per request when a list is read in pages: bounds the memory of a
 * read, whatever the number of objects. Twice what `kubectl get` asks for:
 * each page costs a kubectl process (its start, kubeconfig, TLS: ~0.15 s of
 * CPU, more than parsing the page), so 1,000 sources are one request; the
 * larger page adds ~4 MB of peak memory at 4,000 sources, none at 1,000
 * (bench/README.md, "Pages of 1,000").
 */
export const PAGE_SIZE = 1000

/**
 * The raw API path of a collection, with its query (undefined values left
 * out, every value URL-encoded): /apis/<group>/<version>[/namespaces/<ns>]/<plural>?... Pure.
 */
export function collectionPath(
  resource: ApiResource,
  scope: Scope,
  query: Record<string, string | undefined> = {},
): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`
  const ns = 'allNamespaces' in scope ? '' : `/namespaces/${encodeURIComponent(scope.namespace)}`
  const params = Object.entries(query)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
  return `${base}${ns}/${resource.plural}${params.length ? `?${params.join('&')}` : ''}`
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
  object: T
}

export class Kubectl {
  readonly target: ClusterTarget
  readonly bin: string
  constructor(target: ClusterTarget, bin = 'kubectl') {
    this.target = target
    this.bin = bin
  }

  /** --kubeconfig/--context of this run, put before every command. */
  get targetFlags(): string[] {
    const flags: string[] = []
    if (this.target.kubeconfig) flags.push('--kubeconfig', this.target.kubeconfig)
    if (this.target.context) flags.push('--context', this.target.context)
    return flags
  }

  /** A copy-pasteable command line for this cluster (clean-up hints): lib/hints.ts kubectlHint. */
  commandLine(args: readonly string[]): string {
    return kubectlHint(this.target, args)
  }

  /**
   * Every kubectl runs in its own process group: a Ctrl-C at the terminal
   * reaches this process, which then stops its watches itself, but never
   * kills a patch or a clean-up step half way. One-shot calls get a request
   * timeout so an unreachable API server cannot hang a run.
   */
  private spawn(
    args: readonly string[],
    opts: { input?: string; watch?: boolean; streamed?: boolean } = {},
  ): ProcessPromise {
    if (this.target.fleet) {
      // CLUSTER=all has no cluster of its own: a call here would go to kubectl's default cluster
      throw new Error(`CLUSTER=${this.target.name} is every cluster: this step needs the Kubectl of one cluster (lib/fleet.ts)`)
    }
    const all = [...this.targetFlags, ...(opts.watch ? [] : [REQUEST_TIMEOUT]), ...args]
    // a streamed stdout is read as it comes: zx need not keep a copy of it
    const store = opts.streamed
      ? { stdout: new Discard<Chunk>(), stderr: [] as Chunk[], stdall: new Discard<Chunk>() }
      : undefined
    return $({ quiet: true, nothrow: true, input: opts.input, detached: true, store, spawn: spawnKubectl })`${this.bin} ${all}`
  }

  async run(args: readonly string[], opts: { input?: string } = {}): Promise<string> {
    const out = await this.spawn(args, opts)
    if (out.exitCode !== 0) throw new KubectlError(args, out.stderr, out.exitCode)
    return out.stdout
  }

  /**
   * stdout of one call, read as bytes and decoded once: for large outputs
   * (a page of a list) zx would keep two copies of every chunk and decode
   * each on its own.
   */
  private async readAll(args: readonly string[]): Promise<string> {
    const proc = this.spawn(args, { streamed: true })
    const chunks: Buffer[] = []
    for await (const chunk of proc.stdout) chunks.push(chunk as Buffer)
    const out = await proc
    if (out.exitCode !== 0) throw new KubectlError(args, out.stderr, out.exitCode)
    return Buffer.concat(chunks).toString('utf8')
  }

  async json<T>(args: readonly string[], opts: { input?: string } = {}): Promise<T> {
    const stdout = await this.run([...args, '-o', 'json'], opts)
    return JSON.parse(stdout) as T
  }

  /** One object, or null when it does not exist. */
  async get<T>(resource: string, name: string, namespace: string): Promise<T | null> {
    try {
      return await this.json<T>(['get', resource, name, '-n', namespace])
    } catch (err) {
      if (err instanceof KubectlError && err.failure === 'not-found') return null
      throw err
    }
  }

  async list<T>(
    resource: string,
    scope: Scope,
    selectors: Selectors = {},
  ): Promise<T[]> {
    return (await this.json<KubeList<T>>(['get', resource, ...scopeFlags(scope), ...selectorFlags(selectors)])).items
  }

  /**
   * Every object of a collection, read as the API server's own JSON
   * (`kubectl get --raw <path>`: no decoding and re-encoding by kubectl, which
   * costs more than the read itself on large lists), `limit` objects per
   * request, following the server's `continue` token. Yields one page at a
   * time, so only one page is in memory however many objects there are
   * (and the bytes of the next: its request starts before the caller works on
   * this one, so kubectl's start overlaps that work).
   */
  async *pages<T>(
    resource: ApiResource,
    scope: Scope,
    opts: { limit?: number; selectors?: Selectors } = {},
  ): AsyncGenerator<T[]> {
    const request = (token: string | undefined) => {
      const args = [
        'get',
        '--raw',
        collectionPath(resource, scope, {
          labelSelector: opts.selectors?.label,
          fieldSelector: opts.selectors?.field,
          limit: String(opts.limit ?? PAGE_SIZE),
          continue: token,
        }),
      ]
      return { args, text: this.readAll(args) }
    }
    let next: ReturnType<typeof request> | undefined = request(undefined)
    try {
      while (next) {
        const { args, text } = next
        next = undefined
        let page: RawList<T>
        try {
          page = JSON.parse(await text) as RawList<T>
        } catch (err) {
          if (err instanceof KubectlError) throw err
          throw new KubectlError(args, `unreadable output: ${errorText(err)}`, 0)
        }
        if (!Array.isArray(page?.items)) throw new KubectlError(args, 'unreadable output: not a list (no items)', 0)
        const token = page.metadata?.continue || undefined
        if (token) next = request(token)
        yield page.items
      }
    } finally {
      // the caller stopped before the next page: its read ends on its own, unread
      next?.text.catch(() => undefined)
    }
  }

  async patch<T>(
    resource: string,
    name: string,
    namespace: string,
    type: 'merge' | 'json',
    patch: unknown,
  ): Promise<T> {
    return this.json<T>(['patch', resource, name, '-n', namespace, '--type', type, '-p', JSON.stringify(patch)])
  }

  async create<T>(manifest: KubeObject): Promise<T> {
    return this.json<T>(['create', '-f', '-'], { input: JSON.stringify(manifest) })
  }

  /** Validates a manifest on the server (admission, schema) without persisting it. */
  async createDryRun<T>(manifest: KubeObject): Promise<T> {
    return this.json<T>(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(manifest) })
  }

  /**
   * Deletes; true when it existed. Does not wait for finalizers unless `wait`
   * (then for at most `timeout`, e.g. "5m"). `cascade: 'foreground'` makes the
   * object go only after its dependents (a mover Job and its pod) are gone.
   */
  async delete(
    resource: string,
    name: string,
    namespace: string,
    opts: { wait?: boolean; gracePeriod?: number; cascade?: 'foreground' | 'background'; timeout?: string } = {},
  ): Promise<boolean> {
    const args = ['delete', resource, name, '-n', namespace, '--ignore-not-found', `--wait=${opts.wait ?? false}`]
    if (opts.gracePeriod !== undefined) args.push(`--grace-period=${opts.gracePeriod}`)
    if (opts.cascade) args.push(`--cascade=${opts.cascade}`)
    if (opts.timeout) args.push(`--timeout=${opts.timeout}`)
    const out = await this.run(args)
    return out.trim() !== ''
  }

  /**
   * Scales a Deployment/StatefulSet, only while its replica count is still
   * `current` (kubectl checks the precondition): never overrides a change
   * somebody else made in between.
   */
  async scale(resource: string, name: string, namespace: string, replicas: number, current: number): Promise<void> {
    await this.run(['scale', resource, name, '-n', namespace, `--current-replicas=${current}`, `--replicas=${replicas}`])
  }

  /** GET of a raw API path (e.g. /api/v1/namespaces/x/pods): the server's own object, resourceVersion included. */
  async getRaw<T>(path: string): Promise<T> {
    return JSON.parse(await this.run(['get', '--raw', path])) as T
  }

  async logs(pod: string, namespace: string, opts: { container?: string; tail?: number } = {}): Promise<string> {
    const args = ['logs', pod, '-n', namespace]
    if (opts.container) args.push('-c', opts.container)
    if (opts.tail !== undefined) args.push(`--tail=${opts.tail}`)
    return this.run(args)
  }

  /**
   * `kubectl exec` of `argv` in a container, without a terminal: its stdout
   * is handed to `onStdout` as bytes, chunk by chunk (binary-safe; reading
   * waits while onStdout's promise is pending), `input` goes to its stdin.
   * Resolves to kubectl's exit code, which is the command's own once the
   * command ran (kubectl's own failures exit 1, their words on stderr), and
   * the end of stderr. Aborting `signal` stops kubectl, which ends the
   * command's stream.
   */
  async exec(
    pod: string,
    namespace: string,
    container: string,
    argv: readonly string[],
    opts: { onStdout: (chunk: Buffer) => void | Promise<void>; signal: AbortSignal; input?: string },
  ): Promise<{ exitCode: number; stderr: string }> {
    const args = ['exec', pod, '-n', namespace, '-c', container, ...(opts.input === undefined ? [] : ['-i']), '--', ...argv]
    const proc = this.spawn(args, { watch: true, streamed: true, input: opts.input })
    const stop = () => {
      const child = proc.child
      if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
    opts.signal.addEventListener('abort', stop, { once: true })
    try {
      let failed: unknown
      for await (const chunk of proc.stdout) {
        if (failed !== undefined) continue // drain, so kubectl can exit
        try {
          await opts.onStdout(chunk as Buffer)
        } catch (err) {
          failed = err
          stop()
        }
      }
      const out = await proc
      if (failed !== undefined) throw failed
      return { exitCode: out.exitCode ?? 128, stderr: out.stderr }
    } finally {
      opts.signal.removeEventListener('abort', stop)
      stop()
    }
  }

  /**
   * The names of every object of a collection in a namespace, one list call
   * (`kubectl get <resource> -n <ns> -o name`): only names reach this process,
   * so a list of Secrets never reads a value. A KubectlError when the list fails
   * (forbidden included).
   */
  async names(resource: string, namespace: string): Promise<string[]> {
    const out = await this.run(['get', resource, '-n', namespace, '-o', 'name'])
    return out
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => line.slice(line.indexOf('/') + 1))
  }

  /**
   * `kubectl auth can-i <verb> <resource> [--subresource=x] (-n <ns> | --all-namespaces)`:
   * true (yes), false (no); a KubectlError when the question itself failed
   * (kubectl exits 1 for "no" too: its answer is on stdout).
   */
  async canI(verb: string, resource: string, scope: Scope | 'cluster', subresource?: string): Promise<boolean> {
    const args = ['auth', 'can-i', verb, resource, ...(subresource ? [`--subresource=${subresource}`] : [])]
    if (scope !== 'cluster') args.push(...scopeFlags(scope))
    const out = await this.spawn(args)
    const answer = out.stdout.trim().split(/\s/)[0]
    if (answer === 'yes' && out.exitCode === 0) return true
    if (answer === 'no') return false
    throw new KubectlError(args, out.stderr || out.stdout, out.exitCode)
  }

  /** The kubectl client's version (`kubectl version --client -o json`: no server involved). */
  async clientVersion(): Promise<{ major?: string; minor?: string; gitVersion?: string }> {
    const v = await this.json<{ clientVersion?: { major?: string; minor?: string; gitVersion?: string } }>(['version', '--client'])
    return v.clientVersion ?? {}
  }

  /** Names of the contexts in the user's default kubeconfig (no target flags). */
  async defaultContexts(): Promise<string[]> {
    const out = await $({ quiet: true, nothrow: true })`${this.bin} config get-contexts -o name`
    if (out.exitCode !== 0) return []
    return out.stdout.split('\n').map((l) => l.trim()).filter(Boolean)
  }

  /**
   * Streams the documents of `kubectl get <args> --watch -o json`: the current
   * state first, then every change. Ends when kubectl ends (the server closes
   * watches after a while); throws a KubectlError when kubectl fails.
   */
  watch<T>(args: readonly string[], signal: AbortSignal): AsyncGenerator<T> {
    return this.stream<T>(['get', ...args, '--watch', '-o', 'json'], signal)
  }

  /**
   * Streams the events of a raw watch URL (`...?watch=1&resourceVersion=N`),
   * for a list-then-watch without gaps: `kubectl get --watch` cannot start
   * from a given resourceVersion, and nothing marks the end of its initial list.
   */
  watchRaw<T>(path: string, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    return this.stream<WatchEvent<T>>(['get', '--raw', path], signal)
  }

  private async *stream<T>(full: readonly string[], signal: AbortSignal): AsyncGenerator<T> {
    // aborted already (e.g. while the list before this watch was read): no 'abort' event would stop it
    if (signal.aborted) return
    const proc = this.spawn(full, { watch: true, streamed: true })
    let finished = false
    // kubectl runs in its own process group (detached): signal the group
    // directly; zx's kill() first walks the process tree with `ps` (~50 ms)
    const stop = async () => {
      const child = proc.child
      if (finished || !child?.pid || child.exitCode !== null || child.signalCode !== null) return
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
    signal.addEventListener('abort', stop, { once: true })
    const splitter = new JsonStreamSplitter()
    const utf8 = new TextDecoder()
    try {
      for await (const chunk of proc.stdout) {
        // a chunk may end inside a multi-byte character: decode as a stream
        for (const doc of splitter.push(utf8.decode(chunk as Buffer, { stream: true }))) yield doc as T
      }
      const out = await proc
      finished = true
      if (out.exitCode !== 0 && !signal.aborted && out.signal === null) {
        throw new KubectlError(full, out.stderr, out.exitCode)
      }
    } finally {
      signal.removeEventListener('abort', stop)
      await stop()
    }
  }

  /** Watches one object. */
  watchObject<T>(resource: string, name: string, namespace: string, signal: AbortSignal): AsyncGenerator<T> {
    return this.watch<T>([resource, name, '-n', namespace], signal)
  }

  /** Watches a collection as ADDED/MODIFIED/DELETED events (the initial list comes as ADDED). */
  watchEvents<T>(
    resource: string,
    scope: Scope,
    signal: AbortSignal,
    selectors: Selectors = {},
  ): AsyncGenerator<WatchEvent<T>> {
    return this.watch<WatchEvent<T>>([resource, ...scopeFlags(scope), '--output-watch-events', ...selectorFlags(selectors)], signal)
  }

  /**
   * The lines of a container's log as it writes them (`kubectl logs -f`);
   * ends when the container ends or `signal` aborts (kubectl is then
   * stopped, as a watch is); a failing kubectl ends it quietly: a log is
   * read for information, never to decide.
   */
  async *followLog(pod: string, namespace: string, container: string, signal: AbortSignal): AsyncGenerator<string> {
    if (signal.aborted) return
    const proc = this.spawn(['logs', '-f', pod, '-n', namespace, '-c', container], { watch: true, streamed: true })
    const stop = () => {
      const child = proc.child
      if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
    signal.addEventListener('abort', stop, { once: true })
    const utf8 = new TextDecoder()
    let partial = ''
    try {
      for await (const chunk of proc.stdout) {
        const lines = (partial + utf8.decode(chunk as Buffer, { stream: true })).split('\n')
        partial = lines.pop()!
        yield* lines
      }
      if (partial) yield partial
      await proc
    } finally {
      signal.removeEventListener('abort', stop)
      stop()
    }
  }
}

type Chunk = string | Buffer

/** A zx output store that keeps nothing (for output read as a stream). */
class Discard<T> extends Array<T> {
  override push(): number {
    return 0
  }
}

function scopeFlags(scope: Scope): string[] {
  return 'allNamespaces' in scope ? ['--all-namespaces'] : ['-n', scope.namespace]
}

function selectorFlags(selectors: Selectors): string[] {
  return [
    ...(selectors.field ? ['--field-selector', selectors.field] : []),
    ...(selectors.label ? ['--selector', selectors.label] : []),
  ]
}
