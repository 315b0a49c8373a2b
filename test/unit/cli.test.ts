import { describe, expect, it } from 'vitest'
import {
  APP_MAX_LENGTH,
  FLAGS,
  TIMEOUT_UNITS,
  flagDefault,
  flagDescription,
  helpText,
  label,
  parseArgs,
  parseSnapshotSelector,
  scriptArgs,
  validateName,
  wrap,
  type CommandSpec,
  type Options,
  validateAge,
  validateSnapshotPath,
} from '../../lib/cli.ts'
import { parseGoDuration } from '../../lib/duration.ts'
import { EXIT, OperationError, UsageError } from '../../lib/errors.ts'

/** A command that takes every flag, like restore will. */
const every: CommandSpec = {
  name: 'every',
  summary: 'takes every flag',
  flags: ['app', 'cluster', 'namespace', 'kubeconfig', 'output', 'timeout', 'snapshot', 'yes', 'dry-run', 'keep', 'error-grace', 'source'],
  required: ['app'],
  defaultTimeout: '45m',
  notes: ['A note line.'],
  examples: ['tsx scripts/every.ts --app odoo'],
}
/** A command like status: no APP, no timeout default of its own. */
const statusLike: CommandSpec = {
  name: 'status',
  summary: 'status',
  flags: ['cluster', 'namespace', 'kubeconfig', 'output'],
  examples: [],
}

const defaults: Options = {
  app: 'odoo',
  cluster: 'infra',
  namespace: undefined,
  kubeconfig: undefined,
  output: 'table',
  timeoutMs: 45 * 60_000,
  snapshot: { kind: 'latest' },
  yes: false,
  dryRun: false,
  keep: false,
  errorGraceMs: 120_000,
  dir: '/',
  force: false,
  depth: 'deep',
  staleAfterMs: 30 * 86_400_000,
  timeoutGiven: false,
  lookbackMs: 24 * 3_600_000,
  concurrency: 4,
}

function options(spec: CommandSpec, argv: string[]): Options {
  const parsed = parseArgs(spec, argv)
  if (parsed.help) throw new Error('unexpected --help')
  return parsed.options
}

function usageError(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).exitCode).toBe(EXIT.USAGE)
    return (err as Error).message
  }
  throw new Error('expected a UsageError')
}

describe('parseArgs', () => {
  it.each<[string, string[], Partial<Options>]>([
    ['only the required flag: defaults everywhere else', ['--app', 'odoo'], {}],
    ['--flag=value form', ['--app=odoo', '--cluster=apps'], { cluster: 'apps' }],
    ['an empty value counts as not given', ['--app=odoo', '--namespace=', '--kubeconfig=', '--cluster=', '--output=', '--timeout=', '--snapshot='], {}],
    ['namespace', ['--app=odoo', '--namespace', 'business'], { namespace: 'business' }],
    ['kubeconfig with spaces is a path, passed as is', ['--app=odoo', '--kubeconfig', '/tmp/my dir/kube config'], { kubeconfig: '/tmp/my dir/kube config' }],
    ['output json', ['--app=odoo', '--output', 'json'], { output: 'json' }],
    ['timeout', ['--app=odoo', '--timeout', '1h30m'], { timeoutMs: 90 * 60_000, timeoutGiven: true }],
    ['a timeout equal to the default is given all the same', ['--app=odoo', '--timeout', '45m'], { timeoutGiven: true }],
    ['snapshot offset', ['--app=odoo', '--snapshot', '3'], { snapshot: { kind: 'offset', previous: 3 } }],
    ['snapshot id', ['--app=odoo', '--snapshot', '7c2d9e41'], { snapshot: { kind: 'id', id: '7c2d9e41' } }],
    ['--yes alone is true', ['--app=odoo', '--yes'], { yes: true }],
    ['--yes=true', ['--app=odoo', '--yes=true'], { yes: true }],
    ['--yes=false', ['--app=odoo', '--yes=false'], { yes: false }],
    ['--yes= (empty) is the bare flag: true', ['--app=odoo', '--yes='], { yes: true }],
    ['--no-yes is false', ['--app=odoo', '--no-yes'], { yes: false }],
    ['--dry-run and --keep', ['--app=odoo', '--dry-run', '--keep'], { dryRun: true, keep: true }],
    ['--dry-run=false --keep=false', ['--app=odoo', '--dry-run=false', '--keep=false'], { dryRun: false, keep: false }],
    ['order does not matter', ['--output', 'json', '--app', 'odoo', '--cluster', 'apps'], { output: 'json', cluster: 'apps' }],
    ['an app of exactly 40 characters', ['--app', 'a'.repeat(APP_MAX_LENGTH)], { app: 'a'.repeat(APP_MAX_LENGTH) }],
    ['an all-digit app is a valid DNS-1123 label', ['--app', '1234'], { app: '1234' }],
    ['error grace', ['--app=odoo', '--error-grace', '30s'], { errorGraceMs: 30_000 }],
    ['an empty error grace is the default', ['--app=odoo', '--error-grace='], {}],
    ['source', ['--app=odoo', '--source', 'odoo-r2'], { source: 'odoo-r2' }],
    ['a source name may have dots (a DNS-1123 subdomain)', ['--app=odoo', '--source=odoo.r2'], { source: 'odoo.r2' }],
    ['a source of 253 characters', ['--app=odoo', `--source=${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
      { source: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}` }],
  ])('%s', (_name, argv, expected) => {
    expect(options(every, argv)).toEqual({ ...defaults, ...expected })
  })

  it('uses 30m when the command names no default timeout', () => {
    expect(options(statusLike, []).timeoutMs).toBe(30 * 60_000)
  })

  it('defaults CLUSTER to infra', () => {
    expect(options(statusLike, []).cluster).toBe('infra')
  })

  it('takes CLUSTER=all where the spec reads every cluster (fleet), not with an explicit KUBECONFIG', () => {
    const fleet: CommandSpec = { ...statusLike, fleet: true }
    expect(options(fleet, ['--cluster=all']).cluster).toBe('all')
    expect(usageError(() => parseArgs(fleet, ['--cluster=all', '--kubeconfig=/k/a']))).toBe(
      'KUBECONFIG (--kubeconfig) names one cluster: it cannot be combined with CLUSTER (--cluster) all',
    )
    expect(flagDescription(fleet, 'cluster')).toMatch(/; all: every cluster this repository knows, at once/)
    expect(flagDescription(statusLike, 'cluster')).not.toMatch(/all:/)
  })

  it.each([[['--help']], [['-h']], [['--app=odoo', '--help']], [['--help', '--cluster=NOT VALID']]])(
    '%j asks for help (before validating values)',
    (argv) => {
      expect(parseArgs(every, argv)).toEqual({ help: true })
    },
  )

  it.each<[string, string[], RegExp]>([
    ['an unknown flag', ['--app=odoo', '--bogus'], /^unknown flag --bogus; run with --help to see the flags of every$/],
    ['an unknown short flag', ['--app=odoo', '-a'], /^unknown flag -a;/],
    ['an unknown flag even with --help', ['--help', '--bogus'], /^unknown flag --bogus;/],
    ['a flag of another command', ['--app=odoo'], /^unknown flag --app=odoo;/],
    ['a positional argument', ['--app=odoo', 'extra'], /^unexpected argument "extra";/],
    ['a positional argument after --', ['--app=odoo', '--', 'extra'], /^unexpected argument "extra";/],
    ['a flag given twice', ['--app=odoo', '--app=odoo'], /^APP \(--app\) was given more than once$/],
    ['a boolean given twice', ['--app=odoo', '--yes', '--yes'], /^YES \(--yes\) was given more than once$/],
    ['--no- on a value flag', ['--app=odoo', '--no-cluster'], /^unknown flag --no-cluster;/],
    ['the required flag missing', [], /^APP \(--app\) is required \(see --help\)$/],
    ['the required flag empty', ['--app='], /^APP \(--app\) is required/],
    ['the required flag without a value', ['--app'], /^APP \(--app\) is required/],
    ['a bad output', ['--app=odoo', '--output=yaml'], /^OUTPUT \(--output\) "yaml" must be table or json$/],
    ['a bad boolean', ['--app=odoo', '--yes=no'], /^YES \(--yes\) "no" must be true or false$/],
    ['a bad dry-run', ['--app=odoo', '--dry-run=1'], /^DRY_RUN \(--dry-run\) "1" must be true or false$/],
    ['a bad keep', ['--app=odoo', '--keep=yes'], /^KEEP \(--keep\) "yes" must be true or false$/],
    ['a bad timeout', ['--app=odoo', '--timeout=30'], /^TIMEOUT \(--timeout\) "30" is not a duration: use a number with a unit, such as 90s, 30m or 1h30m \(at most 168h\)$/],
    ['a zero timeout', ['--app=odoo', '--timeout=0s'], /^TIMEOUT \(--timeout\) "0s" is not a duration/],
    ['a timeout over a week', ['--app=odoo', '--timeout=169h'], /^TIMEOUT \(--timeout\) "169h" is not a duration/],
    ['a bad snapshot', ['--app=odoo', '--snapshot=latest'], /^SNAPSHOT \(--snapshot\) "latest" is not a snapshot selector/],
    ['an upper-case app', ['--app=Odoo'], /^APP \(--app\) "Odoo" is not a valid Kubernetes name: use at most 40 /],
    ['an app too long', ['--app=' + 'a'.repeat(41)], /^APP \(--app\) "a{41}" is not a valid Kubernetes name: use at most 40 /],
    ['a bad cluster', ['--app=odoo', '--cluster=a_b'], /^CLUSTER \(--cluster\) "a_b" is not a valid Kubernetes name: use at most 63 /],
    ['a bad namespace', ['--app=odoo', '--namespace=../etc'], /^NAMESPACE \(--namespace\) "..\/etc" is not a valid Kubernetes name/],
    ['a kubeconfig with a newline', ['--app=odoo', '--kubeconfig=/tmp/a\nb'], /^KUBECONFIG \(--kubeconfig\) must be a file path without control characters$/],
    ['an error grace without a unit', ['--app=odoo', '--error-grace=90'], /^ERROR_GRACE \(--error-grace\) "90" is not a duration from 1s to 24h/],
    ['an error grace under a second', ['--app=odoo', '--error-grace=500ms'], /^ERROR_GRACE \(--error-grace\) "500ms" is not a duration/],
    ['an upper-case source', ['--app=odoo', '--source=Odoo'], /^SOURCE \(--source\) "Odoo" is not a valid ReplicationSource name: use at most 253 lower-case letters, digits, '-' and '\.', starting and ending with a letter or digit$/],
    ['a source with an empty label', ['--app=odoo', '--source=a..b'], /^SOURCE \(--source\) "a\.\.b" is not a valid ReplicationSource name/],
    ['a source ending in a dot', ['--app=odoo', '--source=a.'], /^SOURCE \(--source\) "a\." is not a valid ReplicationSource name/],
    ['a source too long', ['--app=odoo', `--source=${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`], /^SOURCE \(--source\) "a{63}/],
    ['CLUSTER=all for a command that reads one cluster', ['--app=odoo', '--cluster=all'],
      /^CLUSTER \(--cluster\) all \(every cluster at once\) is not available for every: name one cluster$/],
  ])('rejects %s with exit 2', (_name, argv, message) => {
    const spec = _name === 'a flag of another command' ? statusLike : every
    expect(usageError(() => parseArgs(spec, argv))).toMatch(message)
  })
})

describe('validateName', () => {
  it.each([
    ['a', 63],
    ['odoo', 63],
    ['my-app-2', 63],
    ['0', 63],
    ['a'.repeat(63), 63],
    ['a'.repeat(40), 40],
  ])('accepts %j (max %i)', (value, max) => {
    expect(validateName('namespace', value, max)).toBe(value)
  })

  it.each([
    ['', 63],
    ['-a', 63],
    ['a-', 63],
    ['A', 63],
    ['a.b', 63],
    ['a_b', 63],
    ['a b', 63],
    ['a\nb', 63],
    ['é', 63],
    ['a'.repeat(64), 63],
    ['a'.repeat(41), 40],
  ])('rejects %j (max %i), saying what is allowed', (value, max) => {
    expect(usageError(() => validateName('cluster', value, max))).toBe(
      `CLUSTER (--cluster) ${JSON.stringify(value)} is not a valid Kubernetes name: use at most ${max} ` +
        `lower-case letters, digits and '-', starting and ending with a letter or digit`,
    )
  })

  it('keeps APP short enough for <app>-restore-<14-digit timestamp> to stay a valid name', () => {
    expect(`${'a'.repeat(APP_MAX_LENGTH)}-restore-20261126040000`.length).toBe(63)
  })
})

describe('parseSnapshotSelector', () => {
  it.each([
    ['', { kind: 'latest' }],
    ['0', { kind: 'offset', previous: 0 }],
    ['1', { kind: 'offset', previous: 1 }],
    ['42', { kind: 'offset', previous: 42 }],
    ['9999999', { kind: 'offset', previous: 9999999 }],
    // eight digits are a short restic id: no repository keeps ten million snapshots
    ['12345678', { kind: 'id', id: '12345678' }],
    ['7c2d9e41', { kind: 'id', id: '7c2d9e41' }],
    ['1234567a', { kind: 'id', id: '1234567a' }],
    ['7c2d9e41b8a7', { kind: 'id', id: '7c2d9e41b8a7' }],
    ['a'.repeat(64), { kind: 'id', id: 'a'.repeat(64) }],
  ])('%j -> %j', (value, expected) => {
    expect(parseSnapshotSelector(value)).toEqual(expected)
  })

  it.each([
    ['2026-11-26T04:00:00Z', '2026-11-26T04:00:00.000Z'],
    ['2026-11-26t04:00:00z', '2026-11-26T04:00:00.000Z'],
    ['2026-11-26T04:00:00.5Z', '2026-11-26T04:00:00.500Z'],
    ['2026-11-26T04:00:00.123456789Z', '2026-11-26T04:00:00.123Z'],
    ['2026-11-26T05:00:00+01:00', '2026-11-26T04:00:00.000Z'],
    ['2026-11-26T04:00:00.25-02:30', '2026-11-26T06:30:00.250Z'],
    ['2026-11-26T04:00:00-23:59', '2026-11-27T03:59:00.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
  ])('RFC 3339 %j is the time %s', (value, iso) => {
    const sel = parseSnapshotSelector(value)
    expect(sel.kind).toBe('time')
    if (sel.kind !== 'time') return
    expect(sel.time.toISOString()).toBe(iso)
    expect(sel.text).toBe(value)
  })

  it.each([
    ['latest'],
    ['-1'],
    ['01'],
    ['00'],
    ['1.5'],
    ['7C2D9E41'],
    ['7c2d9e4'], // 7 hex digits that are not all decimal: neither offset nor id
    ['g2d9e41b'],
    ['a'.repeat(65)],
    ['2026-11-26'],
    ['2026-11-26 04:00:00Z'],
    ['2026-11-26T04:00:00'],
    ['2026-11-26T04:00Z'],
    ['2026-02-29T00:00:00Z'],
    ['2026-02-30T00:00:00Z'],
    ['2026-04-31T00:00:00Z'],
    ['2026-13-01T00:00:00Z'],
    ['2026-00-10T00:00:00Z'],
    ['2026-11-00T00:00:00Z'],
    ['2026-11-26T24:00:00Z'],
    ['2026-11-26T04:60:00Z'],
    ['2026-11-26T23:59:60Z'],
    ['2026-11-26T04:00:00+24:00'],
    ['2026-11-26T04:00:00+05:99'],
    ['2026-11-26T04:00:00.Z'],
    ['2026-11-26T04:00:00.1234567890Z'],
    ['1969-12-31T23:59:59Z'],
    [' 1'],
    ['1\n'],
    ['$(id)'],
  ])('rejects %j, saying what is allowed', (value) => {
    expect(usageError(() => parseSnapshotSelector(value))).toBe(
      `SNAPSHOT (--snapshot) ${JSON.stringify(value)} is not a snapshot selector: use an offset (0 = latest, ` +
        `1 = the one before, ...), a restic snapshot id (8 to 64 hex digits, as shown by volsync:list) or an ` +
        `RFC 3339 time such as 2026-11-26T04:00:00Z`,
    )
  })
})

describe('errors and labels', () => {
  it('names a flag by its Taskfile variable and its script flag', () => {
    expect(label('dry-run')).toBe('DRY_RUN (--dry-run)')
    expect(Object.values(FLAGS).map((f) => f.variable)).toEqual([
      'APP', 'CLUSTER', 'NAMESPACE', 'KUBECONFIG', 'OUTPUT', 'TIMEOUT', 'SNAPSHOT', 'YES', 'DRY_RUN', 'KEEP', 'ERROR_GRACE', 'SOURCE',
      'DIR', 'FILE', 'TO', 'FORCE', 'TO_PVC', 'TO_NAMESPACE', 'DEPTH', 'CHECK', 'SCRATCH_SIZE', 'SCRATCH_CLASS', 'STALE_AFTER', 'LOOKBACK',
      'CONCURRENCY', 'READ_DATA',
    ])
  })

  it('carries exit codes 1 and 2 and extra details', () => {
    const op = new OperationError('it failed', 'log tail')
    expect([op.exitCode, op.details, new OperationError('x').details]).toEqual([1, 'log tail', ''])
    expect(new UsageError('bad').exitCode).toBe(2)
    expect(EXIT).toEqual({ OK: 0, FAILED: 1, USAGE: 2, INTERRUPTED: 130, TERMINATED: 143 })
  })
})

describe('helpText', () => {
  it('lists both usages, every flag with its task variable, required mark or default, notes, output, examples and exit codes', () => {
    expect(helpText(every)).toBe(
      [
        'every: takes every flag',
        '',
        'Usage:',
        '  task -x volsync:every APP=<app> [VARIABLE=value ...]',
        '  tsx scripts/every.ts [flags]      (Node 20; Node 22.18+: zx scripts/every.ts)',
        '',
        'Flags, and the task variable that sets each (yes/no flags: VARIABLE=true or false):',
        '  --app <app>            APP         application (a Kubernetes name, at most 40 characters); its',
        '                                     ReplicationSource is <app>-backup, else <app>, else the one',
        '                                     labelled app.kubernetes.io/name=<app> or whose sourcePVC is <app>',
        '                                     or <app>-data (required)',
        '  --cluster <cluster>    CLUSTER     the cluster to act on (README.md, "Choosing the cluster")',
        '                                     (default: infra)',
        '  --namespace <ns>       NAMESPACE   namespace of the app\'s ReplicationSource (needed when two',
        '                                     namespaces have one) (default: found from the source)',
        '  --kubeconfig <file>    KUBECONFIG  this kubeconfig file (through task: KUBECONFIG=<file> on its',
        '                                     command line, not an exported one)',
        '                                     (default: kubeconfig-<cluster>, else the context <cluster>)',
        '  --output table|json    OUTPUT      table, or json: one JSON document alone on stdout (default: table)',
        '  --timeout <duration>   TIMEOUT     give up waiting after this long: 90s, 30m, 1h30m (at most 168h)',
        '                                     (default: 45m)',
        '  --snapshot <selector>  SNAPSHOT    N = N before the latest (PREV of list); a restic id, 8 to 64 hex',
        '                                     digits; or an RFC 3339 time (default: the latest)',
        '  --yes                  YES         do not ask for confirmation (default: false)',
        '  --dry-run              DRY_RUN     print the plan and the ReplicationDestination, have the API server',
        '                                     validate it, change nothing (default: false)',
        '  --keep                 KEEP        keep the ReplicationDestination of a finished restore, for',
        '                                     debugging (default: false)',
        '  --error-grace <time>   ERROR_GRACE stop waiting once VolSync has reported an error (condition',
        '                                     Synchronizing, reason Error) this long without a break',
        '                                     (default: 2m)',
        '  --source <name>        SOURCE      the app\'s ReplicationSource, by name (needed when APP matches',
        '                                     several, e.g. <app>-r2 and <app>-local) (default: found from APP)',
        '  --help                             show this help',
        '',
        'A note line.',
        '',
        'Output: tables fit the terminal (off a terminal $COLUMNS, else 80 columns): columns that do not fit are',
        'left out and named under the table, or cut with \u2026. Colour only on a terminal, never with NO_COLOR set.',
        'With --output json, stdout is one JSON document; progress, notes and errors always go to stderr.',
        '',
        'Examples:',
        '  tsx scripts/every.ts --app odoo',
        '',
        'Exit codes: 0 ok; 1 failed, or something needs attention; 2 bad usage, nothing changed; 130 interrupted',
        '(143 terminated), after the clean-up. Through task use task -x: plain task exits 201 on any failure.',
      ].join('\n'),
    )
  })

  it('scopes --namespace of a command without --app to the cluster, and leaves out notes and output when there are none', () => {
    const text = helpText({ ...statusLike, flags: ['cluster', 'namespace', 'kubeconfig'] })
    expect(text).toContain('  --namespace <ns>       NAMESPACE   only this namespace (default: all namespaces)\n')
    expect(text).not.toContain('--app')
    expect(text).not.toContain('Output:')
    expect(text).toContain('  task -x volsync:status [VARIABLE=value ...]\n')
    expect(text).toMatch(/show this help\n\nExamples:\n\nExit codes:/)
  })

  it('keeps every line within 104 characters, and each "(default: ...)" whole on one line', () => {
    for (const line of helpText(every).split('\n')) expect(line.length).toBeLessThanOrEqual(104)
    expect(helpText(every)).toContain('\n                                     (default: kubeconfig-<cluster>, else the context <cluster>)\n')
  })
})

describe('flagDefault', () => {
  it('states the default parseArgs applies when the flag is not given', () => {
    const given = options(every, ['--app=odoo'])
    expect(flagDefault(every, 'cluster')).toBe(given.cluster)
    expect(flagDefault(every, 'output')).toBe(given.output)
    expect(parseGoDuration(flagDefault(every, 'timeout')!, TIMEOUT_UNITS)).toBe(given.timeoutMs)
    expect(parseGoDuration(flagDefault(statusLike, 'timeout')!, TIMEOUT_UNITS)).toBe(options(statusLike, []).timeoutMs)
    expect(flagDefault(every, 'snapshot')).toBe('the latest')
    expect(parseGoDuration(flagDefault(every, 'error-grace')!, TIMEOUT_UNITS)).toBe(given.errorGraceMs)
    expect(given.snapshot).toEqual({ kind: 'latest' })
    for (const flag of ['yes', 'dry-run', 'keep'] as const) {
      expect(flagDefault(every, flag)).toBe('false')
      expect(options(every, ['--app=odoo', `--${flag}=false`])).toEqual(given)
    }
  })

  it('has none for a required flag, and scopes NAMESPACE by whether the command takes an app', () => {
    expect(flagDefault(every, 'app')).toBeUndefined()
    expect(flagDefault(every, 'namespace')).toBe('found from the source')
    expect(flagDefault(statusLike, 'namespace')).toBe('all namespaces')
    expect(flagDescription(statusLike, 'namespace')).toBe('only this namespace')
  })
})

describe('wrap', () => {
  it.each<[string, number, string, string[]]>([
    ['a b c', 3, '', ['a b', 'c']],
    ['a b c', 80, '(default: x)', ['a b c (default: x)']],
    ['aaaa bb', 3, '', ['aaaa', 'bb']],
    ['a b', 5, '(default: x)', ['a b', '(default: x)']],
  ])('%j in %i columns, tail %j', (text, width, tail, lines) => {
    expect(wrap(text, width, tail)).toEqual(lines)
  })
})

describe('scriptArgs', () => {
  it.each<[string, string[], string[]]>([
    ['tsx', ['/usr/bin/node', '/repo/scripts/status.ts', '--cluster', 'apps'], ['--cluster', 'apps']],
    ['node --import tsx', ['/usr/bin/node', '/repo/scripts/status.ts'], []],
    ['zx', ['/usr/bin/node', '/repo/node_modules/zx/build/cli.js', 'scripts/status.ts', '--help'], ['--help']],
    ['zx with its own flags first', ['node', 'zx', '--quiet', '--shell', '/bin/bash', 'scripts/status.ts', '-h'], ['-h']],
    ['a value that looks like the script', ['node', '/r/scripts/status.ts', '--kubeconfig', '/x/status.ts'], ['--kubeconfig', '/x/status.ts']],
    ['a compiled script', ['node', '/r/dist/status.js', '--cluster=a'], ['--cluster=a']],
    ['a name with a dash', ['node', 'zx', 'scripts/snapshot-all.ts', '--yes'], ['--yes']],
    ['not found: everything after argv[1]', ['node', '-e', '--cluster', 'a'], ['--cluster', 'a']],
    ['another script of a similar name is not it', ['node', 'zx', 'scripts/mystatus.ts', '--x'], ['scripts/mystatus.ts', '--x']],
  ])('%s', (_name, argv, expected) => {
    const name = _name === 'a name with a dash' ? 'snapshot-all' : 'status'
    expect(scriptArgs(argv, name)).toEqual(expected)
  })
})

describe('the recover flags', () => {
  const recover: CommandSpec = {
    name: 'files',
    summary: 'files',
    flags: ['app', 'dir', 'file', 'to', 'force', 'to-pvc', 'to-namespace', 'depth', 'check', 'scratch-size', 'scratch-class', 'stale-after'],
    examples: [],
  }

  it.each<[string, string]>([
    ['/', '/'],
    ['', '/'],
    ['media', '/media'],
    ['/media/', '/media'],
    ['//media//2026/', '/media/2026'],
    ['docs/name with spaces.txt', '/docs/name with spaces.txt'],
    ['caf\u00e9/ü', '/caf\u00e9/ü'],
    ['.hidden/..dots', '/.hidden/..dots'],
  ])('DIR %j -> %j', (value, expected) => {
    expect(validateSnapshotPath('dir', value)).toBe(expected)
  })

  it.each<[string, string]>([
    ['..', 'contains a "." or ".." component'],
    ['/media/../../etc', 'contains a "." or ".." component'],
    ['./media', 'contains a "." or ".." component'],
    ['media\n/etc/passwd', 'contains a control character'],
    ['a\tb', 'contains a control character'],
    ['a\u0000b', 'contains a control character'],
    ['*.db', 'contains a glob character'],
    ['media/202?', 'contains a glob character'],
    ['[ab]', 'contains a glob character'],
    ['{a,b}', 'contains a glob character'],
    ['a'.repeat(4097), 'is longer than 4096 characters'],
  ])('hostile %j is refused with exit 2 (%s)', (value, why) => {
    expect(() => validateSnapshotPath('file', value)).toThrow(UsageError)
    expect(() => validateSnapshotPath('file', value)).toThrow(why)
  })

  it('FILE cannot be the PVC root', () => {
    expect(() => validateSnapshotPath('file', '/')).toThrow('names the PVC root')
  })

  it('parses every recover flag', () => {
    expect(
      options(recover, [
        '--app', 'odoo', '--dir', 'media', '--file', '/app.conf', '--to', './out/', '--force', 'true', '--to-pvc', 'odoo-copy',
        '--to-namespace', 'scratch', '--depth', 'quick', '--check', 'sqlite3 db "PRAGMA integrity_check"', '--scratch-size', '20Gi',
        '--scratch-class', 'fast.ssd', '--stale-after', '7d',
      ]),
    ).toMatchObject({
      dir: '/media', file: '/app.conf', to: './out/', force: true, toPvc: 'odoo-copy', toNamespace: 'scratch', depth: 'quick',
      check: 'sqlite3 db "PRAGMA integrity_check"', scratchSize: '20Gi', scratchClass: 'fast.ssd', staleAfterMs: 7 * 86_400_000,
    })
  })

  it.each<[string[], string]>([
    [['--depth', 'medium'], 'DEPTH (--depth) "medium" must be quick or deep'],
    [['--scratch-size', '20GB'], 'SCRATCH_SIZE (--scratch-size) "20GB" is not a size such as 20Gi or 500Mi'],
    [['--scratch-class', 'Fast'], 'SCRATCH_CLASS (--scratch-class) "Fast" is not a valid Kubernetes name'],
    [['--stale-after', '30'], 'STALE_AFTER (--stale-after) "30" is not an age such as 30d, 12h or 90m'],
    [['--stale-after', '10s'], 'STALE_AFTER (--stale-after) "10s" is not an age'],
    [['--to-pvc', 'Odoo_Copy'], 'TO_PVC (--to-pvc) "Odoo_Copy" is not a valid Kubernetes name'],
    [['--to', 'a\nb'], 'TO (--to) must be a path without control characters'],
    [['--check', ' '], 'CHECK (--check) is empty'],
    [['--force', 'yes'], 'FORCE (--force) "yes" must be true or false'],
  ])('%j is exit 2: %s', (argv, message) => {
    expect(usageError(() => options(recover, ['--app', 'odoo', ...argv]))).toContain(message)
  })

  it.each<[string, number]>([
    ['30d', 30 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['90m', 90 * 60_000],
    ['1h30m', 90 * 60_000],
  ])('STALE_AFTER %s', (value, ms) => {
    expect(validateAge(value)).toBe(ms)
  })
})

describe('CONCURRENCY and READ_DATA', () => {
  const statsLike: CommandSpec = { name: 'stats', summary: 's', flags: ['cluster', 'concurrency', 'read-data'], examples: [] }
  it.each([
    ['--concurrency=1', { concurrency: 1 }],
    ['--concurrency=32', { concurrency: 32 }],
    ['--read-data=10', { readData: 10 }],
    ['--read-data=10%', { readData: 10 }],
    ['--read-data=100%', { readData: 100 }],
    ['--read-data=1', { readData: 1 }],
  ])('%s', (arg, want) => {
    expect(options(statsLike, [arg])).toMatchObject(want)
  })
  it.each(['--concurrency=0', '--concurrency=33', '--concurrency=two', '--read-data=0', '--read-data=101', '--read-data=5.5', '--read-data=10%%', '--read-data=-5', '--read-data=%'])(
    '%s is refused',
    (arg) => {
      expect(() => parseArgs(statsLike, [arg])).toThrow(UsageError)
    },
  )
  it('defaults: 4 at once, no data read back', () => {
    expect(options(statsLike, [])).toMatchObject({ concurrency: 4, readData: undefined })
  })
})
