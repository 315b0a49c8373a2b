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
 * APP names the ReplicationSource `<app>-backup` and the restore object
 * `<app>-restore-<14-digit timestamp>`; both must stay valid names, so the
 * app itself is limited to 63 - "-restore-".length - 14 = 40 characters.
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

function validateBoolean(flag: Flag, value: string): boolean {
  if (value === '' || value === 'true') return true
  if (value === 'false') return false
  throw new UsageError(`${label(flag)} ${JSON.stringify(value)} must be true or false`)
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

interface FlagInfo {
  value: string
  describe: string
  /** the Taskfile variable that carries it */
  variable: string
  boolean?: boolean
}

/** How a flag is named in messages: "APP (--app)". */
export const label = (flag: Flag) => `${FLAGS[flag].variable} (--${flag})`

export const FLAGS: Record<Flag, FlagInfo> = {
  app: { value: '<app>', variable: 'APP', describe: 'application: its ReplicationSource is <app>-backup' },
  cluster: { value: '<cluster>', variable: 'CLUSTER', describe: 'cluster to act on (default: infra)' },
  namespace: { value: '<ns>', variable: 'NAMESPACE', describe: 'namespace (default: found from the ReplicationSource)' },
  kubeconfig: {
    value: '<file>', variable: 'KUBECONFIG',
    describe: 'kubeconfig to use (default: kubeconfig-<cluster>, else context <cluster>)',
  },
  output: { value: 'table|json', variable: 'OUTPUT', describe: 'output format (default: table)' },
  timeout: { value: '<duration>', variable: 'TIMEOUT', describe: 'give up waiting after this long, e.g. 30m' },
  snapshot: {
    value: '<selector>', variable: 'SNAPSHOT',
    describe: 'offset (0 = latest), restic snapshot id, or RFC 3339 time',
  },
  yes: { value: '', variable: 'YES', describe: 'do not ask for confirmation', boolean: true },
  'dry-run': { value: '', variable: 'DRY_RUN', describe: 'print the plan and change nothing', boolean: true },
  keep: { value: '', variable: 'KEEP', describe: 'keep the ReplicationDestination for debugging', boolean: true },
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
}

export interface Options {
  app?: string
  cluster: string
  namespace?: string
  kubeconfig?: string
  output: 'table' | 'json'
  timeoutMs: number
  snapshot: SnapshotSelector
  yes: boolean
  dryRun: boolean
  keep: boolean
}

export const DEFAULT_CLUSTER = 'infra'

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
  if (output !== 'table' && output !== 'json') {
    throw new UsageError(`${label('output')} ${JSON.stringify(output)} must be table or json`)
  }
  const timeout = given('timeout') ?? spec.defaultTimeout ?? '30m'
  const snapshot = given('snapshot')

  return {
    help: false,
    options: {
      app: app === undefined ? undefined : validateName('app', app, APP_MAX_LENGTH),
      cluster: validateName('cluster', given('cluster') ?? DEFAULT_CLUSTER),
      namespace: namespace === undefined ? undefined : validateName('namespace', namespace),
      kubeconfig: kubeconfig === undefined ? undefined : validateKubeconfig(kubeconfig),
      output,
      timeoutMs: validateTimeout(timeout),
      snapshot: parseSnapshotSelector(snapshot ?? ''),
      yes: raw.yes === undefined ? false : validateBoolean('yes', raw.yes),
      dryRun: raw['dry-run'] === undefined ? false : validateBoolean('dry-run', raw['dry-run']),
      keep: raw.keep === undefined ? false : validateBoolean('keep', raw.keep),
    },
  }
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

/** The --help text of a command. */
export function helpText(spec: CommandSpec): string {
  const flagLines = [...spec.flags, 'help' as const].map((flag) => {
    const info = flag === 'help' ? { value: '', describe: 'show this help' } : FLAGS[flag]
    const left = `--${flag}${info.value ? ' ' + info.value : ''}`
    const required = spec.required?.includes(flag as Flag) ? ' (required)' : ''
    const def = flag === 'timeout' && spec.defaultTimeout ? ` (default: ${spec.defaultTimeout})` : ''
    return `  ${left.padEnd(26)} ${info.describe}${required}${def}`
  })
  return [
    `${spec.name}: ${spec.summary}`,
    '',
    'Usage:',
    `  tsx scripts/${spec.name}.ts [flags]      (Node 20; Node 22.18+: zx scripts/${spec.name}.ts)`,
    '',
    'Flags:',
    ...flagLines,
    ...(spec.notes?.length ? ['', ...spec.notes] : []),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
    'Exit codes: 0 ok, 1 failed or needs attention, 2 bad usage (nothing changed), 130 interrupted.',
  ].join('\n')
}
