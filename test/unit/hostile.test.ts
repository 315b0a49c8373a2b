// Hostile input, every command: each variable a command takes, given shell
// metacharacters, quotes, spaces, newlines, ../, $(id), backticks, YAML and
// jsonpath breakers, upper case, too long, or empty where required, is a
// UsageError (exit 2) that names the variable and says what is allowed.
// The specs come from the scripts themselves (as in docs.test.ts), so a new
// command or a new flag of an old one is covered without a line here.
// test/bats/hostile.bats proves the wiring through the processes: the
// scripts and the tasks run this validation before any kubectl call.
import path from 'node:path'
import { readdirSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'
import { FLAGS, label, parseArgs, type CommandSpec, type Flag } from '../../lib/cli.ts'
import { UsageError } from '../../lib/errors.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const specs: CommandSpec[] = vi.hoisted(() => [])
vi.mock('../../lib/run.ts', () => ({ runCommand: (spec: CommandSpec) => void specs.push(spec) }))
const scriptNames = readdirSync(path.join(ROOT, 'scripts'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort()
for (const name of scriptNames) await import(`../../scripts/${name}.ts`)

/** values that none of the variables below accepts */
export const COMMON = [
  'a;id', 'a|id&', '$(id)', '`id`', "a'b", 'a"b', 'a b', 'a\nb', '../etc', 'a: b', '- x', '{}', '{.items[*]}', ']', '*',
  'a\\b', '--help', 'Odoo', 'a'.repeat(300),
]
const NAME_RULE = (max: number) =>
  `is not a valid Kubernetes name: use at most ${max} lower-case letters, digits and '-', starting and ending with a letter or digit`
const BOOLEAN = ['yes', 'no', '1', '0', 'TRUE', 'y']

/** per variable: more values it must refuse ('' where it is required), and what the message must say is allowed */
const HOSTILE: Partial<Record<Flag, { values: string[]; allowed: string }>> = {
  app: { values: ['a'.repeat(41), 'a-', '-a', 'a.b', 'a_b'], allowed: NAME_RULE(40) },
  cluster: { values: ['a'.repeat(64), 'a-', 'a.b', 'a_b'], allowed: NAME_RULE(63) },
  namespace: { values: ['a'.repeat(64), 'a-', 'a.b', 'a_b'], allowed: NAME_RULE(63) },
  'to-namespace': { values: ['a'.repeat(64), 'a-', 'a.b', 'a_b'], allowed: NAME_RULE(63) },
  'to-pvc': { values: ['a'.repeat(64), 'a-', 'a.b', 'a_b'], allowed: NAME_RULE(63) },
  output: { values: ['yaml', 'JSON', 'wide'], allowed: 'must be table' },
  timeout: {
    values: ['30', '0s', '-5m', '1d', '169h', '1h30', '5M'],
    allowed: 'is not a duration: use a number with a unit, such as 90s, 30m or 1h30m (at most 168h)',
  },
  snapshot: {
    values: ['-1', '01', 'latest', 'ABCDEF12', 'abc1234', '2026-02-30T00:00:00Z', '2026-11-26', '2026-11-26T04:00:00'],
    allowed:
      'is not a snapshot selector: use an offset (0 = latest, 1 = the one before, ...), a restic snapshot id ' +
      '(8 to 64 hex digits, as shown by volsync:list) or an RFC 3339 time such as 2026-11-26T04:00:00Z',
  },
  yes: { values: BOOLEAN, allowed: 'must be true or false' },
  'dry-run': { values: BOOLEAN, allowed: 'must be true or false' },
  keep: { values: BOOLEAN, allowed: 'must be true or false' },
  force: { values: BOOLEAN, allowed: 'must be true or false' },
  source: {
    values: ['a'.repeat(254), 'a..b', '.a', 'a.', 'a-', 'a_b'],
    allowed: "is not a valid ReplicationSource name: use at most 253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
  },
  'error-grace': { values: ['90', '500ms', '25h'], allowed: 'is not a duration' },
}

/** good values for what a spec requires, so that only the variable under test is wrong */
const VALID: Partial<Record<Flag, string>> = { app: 'odoo', file: '/a', to: 'out', 'to-pvc': 'copy', dir: '/' }

/** one case per command and variable: all of its hostile values */
const cases = specs.flatMap((spec) =>
  spec.flags
    .filter((flag) => HOSTILE[flag])
    .map((flag) => {
      const required = (spec.required ?? []).includes(flag)
      const values = [...COMMON, ...HOSTILE[flag]!.values, ...(required ? [''] : [])]
      return { command: spec.name, spec, flag, values, required }
    }),
)

/** the UsageError parseArgs throws for argv, or a failure naming what it returned instead */
function refusal(spec: CommandSpec, argv: string[]): UsageError {
  try {
    parseArgs(spec, argv)
  } catch (err) {
    if (err instanceof UsageError) return err
    throw err
  }
  return Object.assign(new UsageError(`accepted: ${argv.join(' ')}`), { exitCode: 0 })
}

describe('hostile values', () => {
  it('cover every command and each of its name, choice, duration, selector and yes/no variables', () => {
    expect(specs.map((s) => s.name).sort()).toEqual(scriptNames)
    const covered = new Set(cases.map((c) => `${c.command} ${c.flag}`))
    for (const spec of specs) {
      for (const flag of spec.flags) {
        if (HOSTILE[flag]) expect(covered.has(`${spec.name} ${flag}`)).toBe(true)
      }
      // every script takes at least the cluster
      expect(covered.has(`${spec.name} cluster`), spec.name).toBe(true)
    }
    expect(cases.reduce((n, c) => n + c.values.length, 0)).toBeGreaterThan(1000)
  })

  it.each(cases.map((c) => [c.command, FLAGS[c.flag].variable, c] as const))(
    '%s refuses every hostile %s with exit 2, saying what is allowed',
    (_command, _variable, { spec, flag, values, required }) => {
      const others = (spec.required ?? []).filter((f) => f !== flag).map((f) => `--${f}=${VALID[f] ?? 'x'}`)
      const wrong: string[] = []
      for (const value of values) {
        const err = refusal(spec, [...others, `--${flag}=${value}`])
        const ok =
          err.exitCode === 2 &&
          (value === '' && required
            ? err.message === `${label(flag)} is required (see --help)`
            : err.message.startsWith(`${label(flag)} `) && err.message.includes(HOSTILE[flag]!.allowed))
        if (!ok) wrong.push(`${JSON.stringify(value)}: exit ${err.exitCode}: ${err.message}`)
      }
      expect(wrong).toEqual([])
    },
  )
})
