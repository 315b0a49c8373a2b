// Command-line flags, --help text, exit codes and validation of every value.
// Everything here is pure: argv in, a validated Options object (or a
// UsageError) out. No value reaches kubectl, a manifest or a jsonpath
// without passing through this module first.
import minimist from 'minimist'
import { parseGoDuration, type DurationUnit } from './duration.ts'
import { UsageError } from './errors.ts'

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/**
 * A Kubernetes name usable as a namespace or as part of an object name:
 * a DNS-1123 label (lower-case letters, digits and '-', starting and ending
 * alphanumeric) of at most `max` characters.
 */
export function validateName(flag: Flag, value: string, max = 63): string {
  if (!DNS1123_LABEL.test(value) || value.length > max) {
    throw new UsageError(
      `${label(flag)} ${JSON.stringify(value)} is not a valid Kubernetes name: ` +
        `use at most ${max} lower-case letters, digits and '-', starting and ending with a letter or digit`,
    )
  }
  return value
}

/**
 * APP names the restore object `<app>-restore-<14-digit timestamp>` (and
 * usually the ReplicationSource `<app>-backup`), which must stay a valid
 * name, so the app itself is limited to 63 - "-restore-".length - 14 = 40 characters.
 */
export const APP_MAX_LENGTH = 40

export type SnapshotSelector =
  | { kind: 'latest' }
  | { kind: 'offset'; previous: number }
  | { kind: 'id'; id: string }
  | { kind: 'time'; time: Date; text: string }

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/

const RESTIC_ID = /^[0-9a-f]{8,64}$/

const OFFSET = /^(0|[1-9][0-9]{0,6})$/

/**
 * SNAPSHOT: empty = latest; an integer 0..9999999 = `previous` offset;
 * 8 to 64 hex digits = a restic snapshot id (short or full; an 8-digit
 * number is read as an id, since no repository keeps 10 million snapshots);
 * an RFC 3339 time = the newest snapshot at or before it (`restoreAsOf`).
 */
export function parseSnapshotSelector(value: string): SnapshotSelector {
  if (value === '') return { kind: 'latest' }
  if (RESTIC_ID.test(value)) {
    return { kind: 'id', id: value }
  }
  if (OFFSET.test(value)) return { kind: 'offset', previous: Number(value) }
  const m = RFC3339.exec(value)
  if (m) {
    const [, y, mo, d, h, mi, s] = m.map(Number)
    const time = new Date(value.toUpperCase())
    // Date rolls 2026-02-30 over to March 2: check the day exists in its month
    const daysInMonth = new Date(Date.UTC(y!, mo!, 0)).getUTCDate()
    const plausible = mo! >= 1 && mo! <= 12 && d! >= 1 && d! <= daysInMonth && h! <= 23 && mi! <= 59 && s! <= 59
    if (plausible && !Number.isNaN(time.getTime()) && y! >= 1970) {
      return { kind: 'time', time, text: value }
    }
  }
  throw new UsageError(
    `${label('snapshot')} ${JSON.stringify(value)} is not a snapshot selector: use an offset ` +
      `(0 = latest, 1 = the one before, ...), a restic snapshot id (8 to 64 hex digits, as shown ` +
      `by volsync:list) or an RFC 3339 time such as 2026-11-26T04:00:00Z`,
  )
}

/** The units TIMEOUT takes ("90s", "30m", "1h30m", "250ms"). */
export const TIMEOUT_UNITS: readonly DurationUnit[] = ['ms', 's', 'm', 'h']

function validateTimeout(value: string): number {
  const ms = parseGoDuration(value, TIMEOUT_UNITS)
  if (ms === undefined || ms <= 0 || ms > 7 * 24 * 3_600_000) {
    throw new UsageError(
      `${label('timeout')} ${JSON.stringify(value)} is not a duration: use a number with a unit, ` +
        `such as 90s, 30m or 1h30m (at most 168h)`,
    )
  }
  return ms
}

function validateErrorGrace(value: string): number {
  const ms = parseGoDuration(value, TIMEOUT_UNITS)
  if (ms === undefined || ms < 1000 || ms > 24 * 3_600_000) {
    throw new UsageError(
      `${label('error-grace')} ${JSON.stringify(value)} is not a duration from 1s to 24h: use a number with a unit, ` +
        `such as 30s, 2m or 10m`,
    )
  }
  return ms
}

function validateBoolean(flag: Flag, value: string): boolean {
  if (value === '' || value === 'true') return true
  if (value === 'false') return false
  throw new UsageError(`${label(flag)} ${JSON.stringify(value)} must be true or false`)
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** SOURCE: an object name, a DNS-1123 subdomain (dots allowed) of at most 253 characters. */
function validateSourceName(value: string): string {
  if (!DNS1123_SUBDOMAIN.test(value) || value.length > 253) {
    throw new UsageError(
      `${label('source')} ${JSON.stringify(value)} is not a valid ReplicationSource name: use at most 253 ` +
        `lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
    )
  }
  return value
}

function validateKubeconfig(value: string): string {
  // A path is handed to kubectl as one argument (never through a shell), but a
  // control character is never part of a real path and only hides mistakes.
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new UsageError(`${label('kubeconfig')} must be a file path without control characters`)
  }
  return value
}

export type Flag =
  | 'app'
  | 'cluster'
  | 'namespace'
  | 'kubeconfig'
  | 'output'
  | 'timeout'
  | 'snapshot'
  | 'yes'
  | 'dry-run'
  | 'keep'
  | 'error-grace'
  | 'source'
  | 'dir'
  | 'file'
  | 'to'
  | 'force'
  | 'to-pvc'
  | 'to-namespace'
  | 'depth'
  | 'check'
  | 'scratch-size'
  | 'scratch-class'
  | 'stale-after'
  | 'lookback'
  | 'concurrency'
  | 'read-data'

interface FlagInfo {
  value: string
  /** what the flag means, one line (--help) */
  describe: string
  /** the Taskfile variable that carries it */
  variable: string
  /** what applies when it is not given (--help, and the Taskfile summary lists the same) */
  default?: string
  boolean?: boolean
}

/** How a flag is named in messages: "APP (--app)". */
export const label = (flag: Flag) => `${FLAGS[flag].variable} (--${flag})`

export const DEFAULT_CLUSTER = 'infra'

/** CLUSTER=all: every cluster this repository knows (lib/fleet.ts), for the commands whose spec says `fleet`. */
export const ALL_CLUSTERS = 'all'

const DEFAULT_TIMEOUT = '30m'

/** How long VolSync may report an error before a wait stops (lib/sync/engine.ts ERROR_GRACE_MS). */
const DEFAULT_ERROR_GRACE = '2m'

export const FLAGS: Record<Flag, FlagInfo> = {
  app: {
    value: '<app>', variable: 'APP',
    describe:
      `application (a Kubernetes name, at most ${APP_MAX_LENGTH} characters); its ReplicationSource is <app>-backup, ` +
      'else <app>, else the one labelled app.kubernetes.io/name=<app> or whose sourcePVC is <app> or <app>-data',
  },
  cluster: {
    value: '<cluster>', variable: 'CLUSTER', default: DEFAULT_CLUSTER,
    describe: 'the cluster to act on (README.md, "Choosing the cluster")',
  },
  namespace: {
    value: '<ns>', variable: 'NAMESPACE', default: 'found from the source',
    describe: "namespace of the app's ReplicationSource (needed when two namespaces have one)",
  },
  kubeconfig: {
    value: '<file>', variable: 'KUBECONFIG', default: 'kubeconfig-<cluster>, else the context <cluster>',
    describe: 'this kubeconfig file (through task: KUBECONFIG=<file> on its command line, not an exported one)',
  },
  output: { value: 'table|json', variable: 'OUTPUT', default: 'table', describe: 'table, or json: one JSON document alone on stdout' },
  timeout: { value: '<duration>', variable: 'TIMEOUT', describe: 'give up waiting after this long: 90s, 30m, 1h30m (at most 168h)' },
  snapshot: {
    value: '<selector>', variable: 'SNAPSHOT', default: 'the latest',
    describe: 'N = N before the latest (PREV of list); a restic id, 8 to 64 hex digits; or an RFC 3339 time',
  },
  yes: { value: '', variable: 'YES', default: 'false', describe: 'do not ask for confirmation', boolean: true },
  'dry-run': {
    value: '', variable: 'DRY_RUN', default: 'false', boolean: true,
    describe: 'print the plan and the ReplicationDestination, have the API server validate it, change nothing',
  },
  keep: {
    value: '', variable: 'KEEP', default: 'false', boolean: true,
    describe: 'keep the ReplicationDestination of a finished restore, for debugging',
  },
  'error-grace': {
    value: '<time>', variable: 'ERROR_GRACE', default: DEFAULT_ERROR_GRACE,
    describe: 'stop waiting once VolSync has reported an error (condition Synchronizing, reason Error) this long without a break',
  },
  source: {
    value: '<name>', variable: 'SOURCE', default: 'found from APP',
    describe: "the app's ReplicationSource, by name (needed when APP matches several, e.g. <app>-r2 and <app>-local)",
  },
  dir: {
    value: '<path>', variable: 'DIR', default: '/ (the PVC root)',
    describe: 'a directory of the PVC as the app sees it, from its root: /, /media, media/2026',
  },
  file: {
    value: '<path>', variable: 'FILE',
    describe: 'a file or directory of the PVC as the app sees it, from its root: /app.conf, media/2026',
  },
  to: {
    value: '<local path>', variable: 'TO',
    describe: 'where it goes on this machine; ending in / (or an existing directory): into that directory',
  },
  force: { value: '', variable: 'FORCE', default: 'false', boolean: true, describe: 'overwrite existing local files' },
  'to-pvc': {
    value: '<pvc>', variable: 'TO_PVC', default: 'the app\'s own PVC',
    describe: 'restore into this NEW PVC (created like the source PVC), leaving the app and its PVC alone',
  },
  'to-namespace': {
    value: '<ns>', variable: 'TO_NAMESPACE', default: 'the source\'s namespace',
    describe: 'the namespace of TO_PVC (the repository Secret must exist there)',
  },
  depth: {
    value: 'quick|deep', variable: 'DEPTH', default: 'deep',
    describe: 'quick: restic check --read-data-subset; deep: restore into scratch space and verify the files',
  },
  check: {
    value: '<command>', variable: 'CHECK', default: 'none',
    describe: 'a shell command run with the restored data read-only at /data (its working directory); exit 0 = good',
  },
  'scratch-size': {
    value: '<quantity>', variable: 'SCRATCH_SIZE', default: 'an emptyDir',
    describe: 'restore into a new PVC of this size (e.g. 50Gi) instead of an emptyDir, for large volumes',
  },
  'scratch-class': {
    value: '<class>', variable: 'SCRATCH_CLASS', default: 'the cluster default',
    describe: 'the StorageClass of that scratch PVC',
  },
  'stale-after': {
    value: '<age>', variable: 'STALE_AFTER', default: '30d',
    describe: 'a verification older than this needs attention: 30d, 12h, 90m',
  },
  lookback: {
    value: '<age>', variable: 'LOOKBACK', default: '24h',
    describe: 'how far back failed mover pods and Warning events count: 24h, 3d, 90m',
  },
  concurrency: {
    value: '<n>', variable: 'CONCURRENCY', default: '4',
    describe: 'how many sources are read at once (1 to 32), each by its own restic pod',
  },
  'read-data': {
    value: '<percent>', variable: 'READ_DATA', default: 'none',
    describe: 'also read back and check this share of the data packs: 1 to 100, e.g. 10 or 10%',
  },
}

/** --namespace of a command that reads a whole cluster (no --app). */
const NAMESPACE_SCOPE = { describe: 'only this namespace', default: 'all namespaces' }

/** What --flag means for this command (its description in --help). */
export function flagDescription(spec: CommandSpec, flag: Flag): string {
  if (flag === 'namespace' && !spec.flags.includes('app')) return NAMESPACE_SCOPE.describe
  if (flag === 'cluster' && spec.fleet) {
    return `${FLAGS.cluster.describe}; ${ALL_CLUSTERS}: every cluster this repository knows, at once (README.md, "Every cluster at once")`
  }
  if (flag === 'output' && spec.outputs?.includes('prometheus')) {
    return 'table; json: one JSON document alone on stdout; prometheus: metrics in the Prometheus text format'
  }
  return FLAGS[flag].describe
}

/**
 * What applies when the flag is not given, as --help and the Taskfile
 * summary state it; undefined for a required flag.
 */
export function flagDefault(spec: CommandSpec, flag: Flag): string | undefined {
  if (spec.required?.includes(flag)) return undefined
  if (flag === 'timeout') return spec.defaultTimeout ?? DEFAULT_TIMEOUT
  if (flag === 'namespace' && !spec.flags.includes('app')) return NAMESPACE_SCOPE.default
  // a command whose APP is optional (verify) acts on every source in scope without it
  if (flag === 'app') return 'every source in scope'
  return FLAGS[flag].default
}

export interface CommandSpec {
  /** script name, e.g. "status" */
  name: string
  /** one line: what the command does */
  summary: string
  /** flags the command accepts (besides --help) */
  flags: readonly Flag[]
  /** flags that must be given */
  required?: readonly Flag[]
  /** default for --timeout, e.g. "30m" */
  defaultTimeout?: string
  /** OUTPUT values besides table and json (status: prometheus) */
  outputs?: readonly 'prometheus'[]
  /** paragraphs shown after the flags in --help */
  notes?: readonly string[]
  /**
   * Validates environment variables the command reads (e.g. RESTIC_IMAGE);
   * runs with the flags, before any kubectl call, and throws a UsageError.
   */
  checkEnv?: (env: NodeJS.ProcessEnv) => void
  /**
   * Checks that need several flags or the terminal (restore: is there one to
   * ask on?); runs after checkEnv, before any kubectl call; throws a UsageError.
   */
  validate?: (opts: Options) => void
  examples: readonly string[]
  /** accepts CLUSTER=all: every known cluster at once (lib/fleet.ts) */
  fleet?: boolean
}

export interface Options {
  app?: string
  cluster: string
  namespace?: string
  kubeconfig?: string
  output: 'table' | 'json' | 'prometheus'
  timeoutMs: number
  snapshot: SnapshotSelector
  yes: boolean
  dryRun: boolean
  keep: boolean
  errorGraceMs: number
  /** SOURCE: the app's ReplicationSource by name (lib/volsync/sources.ts) */
  source?: string
  /** DIR, normalised: "/" or "/a/b" */
  dir: string
  /** FILE, normalised: "/a/b" */
  file?: string
  to?: string
  force: boolean
  toPvc?: string
  toNamespace?: string
  depth: 'quick' | 'deep'
  check?: string
  scratchSize?: string
  scratchClass?: string
  staleAfterMs: number
  /** TIMEOUT was given (not the command's default): restore's wait for its mover is bounded only then */
  timeoutGiven: boolean
  /** LOOKBACK: how far back doctor counts Warning events */
  lookbackMs: number
  /** CONCURRENCY: sources read at once */
  concurrency: number
  /** READ_DATA: percent of the data packs `restic check` reads back (1-100) */
  readData?: number
}

export type Parsed = { help: true } | { help: false; options: Options }

/**
 * argv (without node and the script) -> validated options.
 * An empty value counts as "not given", so a Taskfile can always pass
 * `--namespace={{q .NAMESPACE}}`.
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  const accepted = new Set<string>([...spec.flags, 'help'])
  const unknown: string[] = []
  const args = minimist([...argv], {
    string: [...spec.flags],
    boolean: ['help'],
    alias: { h: 'help' },
    unknown: (arg) => {
      unknown.push(arg)
      return false
    },
  })
  // minimist does not report what follows `--`
  unknown.push(...args._.map(String).filter((a) => !unknown.includes(a)))
  if (unknown.length > 0) {
    const [first] = unknown
    const what = first!.startsWith('-') ? `unknown flag ${first}` : `unexpected argument ${JSON.stringify(first)}`
    throw new UsageError(`${what}; run with --help to see the flags of ${spec.name}`)
  }
  if (args.help) return { help: true }

  const raw: Partial<Record<Flag, string>> = {}
  for (const [key, value] of Object.entries(args)) {
    if (key === '_' || key === 'help' || key === 'h' || !accepted.has(key)) continue
    if (Array.isArray(value)) throw new UsageError(`${label(key as Flag)} was given more than once`)
    // minimist reads --no-app as app=false; only the yes/no flags take that form
    if (typeof value === 'boolean' && !FLAGS[key as Flag].boolean) {
      throw new UsageError(`unknown flag --no-${key}; run with --help to see the flags of ${spec.name}`)
    }
    raw[key as Flag] = String(value)
  }
  for (const flag of spec.required ?? []) {
    if (!raw[flag]) throw new UsageError(`${label(flag)} is required (see --help)`)
  }

  const given = (flag: Flag): string | undefined => (raw[flag] === '' && !FLAGS[flag].boolean ? undefined : raw[flag])
  const app = given('app')
  const namespace = given('namespace')
  const kubeconfig = given('kubeconfig')
  const output = given('output') ?? 'table'
  const outputs = ['table', 'json', ...(spec.outputs ?? [])]
  if (!outputs.includes(output)) {
    throw new UsageError(`${label('output')} ${JSON.stringify(output)} must be ${outputs.slice(0, -1).join(', ')} or ${outputs.at(-1)}`)
  }
  const timeout = given('timeout') ?? spec.defaultTimeout ?? DEFAULT_TIMEOUT
  const snapshot = given('snapshot')
  const source = given('source')
  const cluster = validateName('cluster', given('cluster') ?? DEFAULT_CLUSTER)
  if (cluster === ALL_CLUSTERS && !spec.fleet) {
    throw new UsageError(
      `${label('cluster')} ${ALL_CLUSTERS} (every cluster at once) is not available for ${spec.name}: name one cluster`,
    )
  }
  if (cluster === ALL_CLUSTERS && kubeconfig !== undefined) {
    throw new UsageError(
      `${label('kubeconfig')} names one cluster: it cannot be combined with ${label('cluster')} ${ALL_CLUSTERS}`,
    )
  }

  return {
    help: false,
    options: {
      app: app === undefined ? undefined : validateName('app', app, APP_MAX_LENGTH),
      cluster,
      namespace: namespace === undefined ? undefined : validateName('namespace', namespace),
      kubeconfig: kubeconfig === undefined ? undefined : validateKubeconfig(kubeconfig),
      output: output as Options['output'],
      timeoutMs: validateTimeout(timeout),
      snapshot: parseSnapshotSelector(snapshot ?? ''),
      yes: raw.yes === undefined ? false : validateBoolean('yes', raw.yes),
      dryRun: raw['dry-run'] === undefined ? false : validateBoolean('dry-run', raw['dry-run']),
      keep: raw.keep === undefined ? false : validateBoolean('keep', raw.keep),
      errorGraceMs: validateErrorGrace(given('error-grace') ?? DEFAULT_ERROR_GRACE),
      source: source === undefined ? undefined : validateSourceName(source),
      dir: validateSnapshotPath('dir', given('dir') ?? '/'),
      file: given('file') === undefined ? undefined : validateSnapshotPath('file', given('file')!),
      to: given('to') === undefined ? undefined : validateLocalPath(given('to')!),
      force: raw.force === undefined ? false : validateBoolean('force', raw.force),
      toPvc: given('to-pvc') === undefined ? undefined : validateName('to-pvc', given('to-pvc')!),
      toNamespace: given('to-namespace') === undefined ? undefined : validateName('to-namespace', given('to-namespace')!),
      depth: validateDepth(given('depth') ?? 'deep'),
      check: given('check') === undefined ? undefined : validateCheck(given('check')!),
      scratchSize: given('scratch-size') === undefined ? undefined : validateQuantity(given('scratch-size')!),
      scratchClass: given('scratch-class') === undefined ? undefined : validateSubdomain('scratch-class', given('scratch-class')!),
      staleAfterMs: validateAge(given('stale-after') ?? '30d'),
      timeoutGiven: given('timeout') !== undefined,
      lookbackMs: validateAge(given('lookback') ?? '24h', 'lookback'),
      concurrency: validateConcurrency(given('concurrency') ?? '4'),
      readData: given('read-data') === undefined ? undefined : validateReadData(given('read-data')!),
    },
  }
}

/**
 * A path inside a snapshot, as the app sees its PVC (DIR, FILE): from the PVC
 * root, with or without a leading "/". Refused before anything runs: ".."
 * or "." components, control characters (a newline hides a second path),
 * glob characters (restic would not expand them; a person may think it does),
 * more than 4096 characters. Normalised to "/a/b" ("/" for the root).
 */
export function validateSnapshotPath(flag: 'dir' | 'file', value: string): string {
  const name = `${label(flag)} ${JSON.stringify(value)}`
  if (value.length > 4096) throw new UsageError(`${name} is longer than 4096 characters`)
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new UsageError(`${name} contains a control character (a newline, a tab...): give one path, as the app sees it`)
  }
  if (/[*?[\]{}]/.test(value)) {
    throw new UsageError(`${name} contains a glob character (* ? [ ] { }): give one exact path; list a directory with volsync:files`)
  }
  const parts = value.split('/').filter((p) => p !== '')
  if (parts.some((p) => p === '..' || p === '.')) {
    throw new UsageError(`${name} contains a "." or ".." component: give the path from the PVC root, such as /media/2026`)
  }
  if (flag === 'file' && parts.length === 0) {
    throw new UsageError(`${name} names the PVC root: give a file or directory in it (DIR=/ lists the root with volsync:files)`)
  }
  return `/${parts.join('/')}`
}

function validateLocalPath(value: string): string {
  if (/[\x00-\x1f\x7f]/.test(value)) throw new UsageError(`${label('to')} must be a path without control characters`)
  return value
}

function validateDepth(value: string): 'quick' | 'deep' {
  if (value === 'quick' || value === 'deep') return value
  throw new UsageError(`${label('depth')} ${JSON.stringify(value)} must be quick or deep`)
}

function validateCheck(value: string): string {
  if (value.includes('\x00')) throw new UsageError(`${label('check')} must not contain a NUL character`)
  if (value.length > 8192) throw new UsageError(`${label('check')} is longer than 8192 characters: put the script in the image`)
  if (value.trim() === '') throw new UsageError(`${label('check')} is empty`)
  return value
}

const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/

function validateQuantity(value: string): string {
  if (!QUANTITY.test(value)) {
    throw new UsageError(`${label('scratch-size')} ${JSON.stringify(value)} is not a size such as 20Gi or 500Mi`)
  }
  return value
}

function validateSubdomain(flag: Flag, value: string): string {
  if (!DNS1123_SUBDOMAIN.test(value) || value.length > 253) {
    throw new UsageError(`${label(flag)} ${JSON.stringify(value)} is not a valid Kubernetes name`)
  }
  return value
}

/** STALE_AFTER: days ("30d") or a duration ("12h", "90m"); at least a minute. */
export function validateAge(value: string, flag: Flag = 'stale-after'): number {
  const days = /^([1-9][0-9]{0,3})d$/.exec(value)
  const ms = days ? Number(days[1]) * 86_400_000 : parseGoDuration(value, ['s', 'm', 'h'])
  if (ms === undefined || ms < 60_000) {
    throw new UsageError(`${label(flag)} ${JSON.stringify(value)} is not an age such as 30d, 12h or 90m`)
  }
  return ms
}

function validateConcurrency(value: string): number {
  if (!/^[1-9][0-9]?$/.test(value) || Number(value) > 32) {
    throw new UsageError(`${label('concurrency')} ${JSON.stringify(value)} must be a whole number from 1 to 32`)
  }
  return Number(value)
}

/** READ_DATA: a whole percent from 1 to 100, with or without "%". */
export function validateReadData(value: string): number {
  const m = /^([1-9][0-9]?|100)%?$/.exec(value)
  if (!m) {
    throw new UsageError(`${label('read-data')} ${JSON.stringify(value)} must be a whole percent from 1 to 100, such as 10 or 10%`)
  }
  return Number(m[1])
}

/**
 * The script's own arguments from process.argv: everything after the
 * script's path. `tsx scripts/x.ts` and `node scripts/x.ts` put that path at
 * argv[1]; `zx scripts/x.ts` at argv[2] (after zx's own flags, if any).
 */
export function scriptArgs(argv: readonly string[], name: string): string[] {
  const script = new RegExp(`(^|[\\/])${name}\\.[cm]?[jt]s$`)
  const at = argv.findIndex((arg, i) => i >= 1 && script.test(arg))
  return argv.slice(at >= 1 ? at + 1 : 2)
}

/**
 * How snapshot, snapshot-all, unlock and restore notice a failing mover while
 * they wait for a sync: a paragraph of their --help.
 */
export const MOVER_WATCH_NOTES: readonly string[] = [
  'A failing mover: VolSync\'s mover Jobs (jobs.batch labelled app.kubernetes.io/created-by=volsync, whose',
  'controller ownerReference is the object waited for) are followed with one more watch. Each failed attempt',
  'is printed as it happens, with the end of its pod\'s log ("mover attempt 3 of 8 failed; VolSync retries',
  'it"); the Job controller spaces the 8 attempts out (10s doubling to 6min: about 20 minutes). A Job that',
  'fails all 8 ends the wait with exit 1 and the mover log, even when VolSync\'s Failed record looks exactly',
  'as before. Only failures seen during the wait count. This needs list/watch on jobs.batch, get/list on',
  'pods and get on pods/log (in the namespace; in the cluster for snapshot-all): without them one',
  '"note: cannot watch VolSync\'s mover Jobs (...)" says so and only the status is followed.',
]

const OUTPUT_NOTES: readonly string[] = [
  'Output: tables fit the terminal (off a terminal $COLUMNS, else 80 columns): columns that do not fit are',
  'left out and named under the table, or cut with \u2026. Colour only on a terminal, never with NO_COLOR set.',
  'With --output json, stdout is one JSON document; progress, notes and errors always go to stderr.',
]

const HELP_WIDTH = 104
/** where a flag's description starts: "  " + flag (22) + " " + variable (11) + " " */
const FLAG_INDENT = 37

/**
 * Words into lines of at most `width` characters; a longer word stays whole,
 * and so does `tail` ("(default: 30m)"), kept on one line for whoever greps.
 */
export function wrap(text: string, width: number, tail = ''): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of [...text.split(' '), ...(tail ? [tail] : [])]) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  return [...lines, line]
}

/** The --help text of a command: THE reference of its flags, defaults and behaviour. */
export function helpText(spec: CommandSpec): string {
  const rows: [string, string, string, string][] = spec.flags.map((flag) => {
    const info = FLAGS[flag]
    const def = flagDefault(spec, flag)
    const tail = spec.required?.includes(flag) ? '(required)' : def === undefined ? '' : `(default: ${def})`
    const value = flag === 'output' && spec.outputs?.length ? ['table', 'json', ...spec.outputs].join('|') : info.value
    return [`--${flag}${value ? ' ' + value : ''}`, info.variable, flagDescription(spec, flag), tail]
  })
  rows.push(['--help', '', 'show this help', ''])
  const required = (spec.required ?? []).map((f) => `${FLAGS[f].variable}=${FLAGS[f].value}`)
  return [
    `${spec.name}: ${spec.summary}`,
    '',
    'Usage:',
    `  ${['task -x', `volsync:${spec.name}`, ...required, '[VARIABLE=value ...]'].join(' ')}`,
    `  tsx scripts/${spec.name}.ts [flags]      (Node 20; Node 22.18+: zx scripts/${spec.name}.ts)`,
    '',
    'Flags, and the task variable that sets each (yes/no flags: VARIABLE=true or false):',
    ...rows.flatMap(([flag, variable, describe, tail]) =>
      wrap(describe, HELP_WIDTH - FLAG_INDENT, tail).map((line, i) =>
        (i === 0 ? `  ${flag.padEnd(22)} ${variable.padEnd(11)} ` : ' '.repeat(FLAG_INDENT)) + line,
      ),
    ),
    ...(spec.notes?.length ? ['', ...spec.notes] : []),
    ...(spec.flags.includes('output') ? ['', ...OUTPUT_NOTES] : []),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
    'Exit codes: 0 ok; 1 failed, or something needs attention; 2 bad usage, nothing changed; 130 interrupted',
    '(143 terminated), after the clean-up. Through task use task -x: plain task exits 201 on any failure.',
  ].join('\n')
}
