// The documentation checked against the code, never one copy against another.
// Each script's spec (scripts/*.ts) is the source: its --help is generated
// from it (lib/cli.ts helpText); the Taskfile summaries list the same
// variables and defaults, the tasks pass exactly the spec's flags with the
// script's own defaults, every example parses, and README.md, CONTRIBUTING.md
// and the runbook name only tasks that exist and link only to what exists.
// (test/e2e/runbook.bats runs the runbook's commands themselves.)
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'
import { parse } from 'yaml'
import { FLAGS, flagDefault, helpText, parseArgs, type CommandSpec, type Flag } from '../../lib/cli.ts'
import { EXIT } from '../../lib/errors.ts'
import { attemptNote, jobsUnavailableNote } from '../../lib/sync/view.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8')
const TASK = existsSync(path.join(ROOT, '.cache/bin/task')) ? path.join(ROOT, '.cache/bin/task') : 'task'
const PLAIN_ENV = { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC' }

// Importing a script runs `await runCommand(spec, ...)`: record the spec instead.
const specs: CommandSpec[] = vi.hoisted(() => [])
vi.mock('../../lib/run.ts', () => ({ runCommand: (spec: CommandSpec) => void specs.push(spec) }))
const scriptNames = readdirSync(path.join(ROOT, 'scripts'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort()
for (const name of scriptNames) await import(`../../scripts/${name}.ts`)
const specOf = (name: string) => specs.find((s) => s.name === name)!

interface Task {
  desc?: string
  summary?: string
  requires?: { vars?: string[] }
  vars?: Record<string, string>
  cmds?: (string | { cmd?: string; task?: string })[]
}
interface Taskfile {
  vars?: Record<string, string>
  tasks: Record<string, Task>
  includes?: Record<string, { taskfile: string }>
}
const VOLSYNC_FILE = '.taskfiles/volsync/Taskfile.yaml'
const volsync = parse(read(VOLSYNC_FILE)) as Taskfile
const root = parse(read('Taskfile.yaml')) as Taskfile
/** every task name as `task --list` shows it */
const allTasks = [
  ...Object.keys(root.tasks),
  ...Object.entries(root.includes ?? {}).flatMap(([ns, inc]) =>
    Object.keys((parse(read(inc.taskfile)) as Taskfile).tasks).map((t) => `${ns}:${t}`),
  ),
]
/** the volsync tasks that run a script, by script name */
const scriptTasks = Object.entries(volsync.tasks).filter(([, t]) => cmdText(t).includes('{{.RUN}}/') && !cmdText(t).includes('.ITEM'))

function cmdText(task: Task): string {
  return (task.cmds ?? []).map((c) => (typeof c === 'string' ? c : (c.cmd ?? ''))).join(' ')
}

/** The lines of a summary section ("Variables (default):", "Examples:") up to the next blank line. */
function section(summary: string, heading: string): string[] {
  const lines = summary.split('\n')
  const at = lines.findIndex((l) => l.trim() === heading)
  if (at < 0) return []
  const end = lines.findIndex((l, i) => i > at && l.trim() === '')
  return lines.slice(at + 1, end < 0 ? undefined : end).map((l) => l.trim())
}

const byVariable = (variable: string) => (Object.keys(FLAGS) as Flag[]).find((f) => FLAGS[f].variable === variable)

/**
 * A documented command line -> the script's argv: `task [-x] volsync:<name>
 * VAR=value ...` or `tsx scripts/<name>.ts --flag value ...`, with a leading
 * `ENV=value` and a trailing `| jq ...` allowed. Values are plain words or
 * single-quoted.
 */
function argvOf(line: string, name: string): { argv: string[]; env: Record<string, string> } {
  const words = [...line.split(' | ')[0]!.matchAll(/'[^']*'|\S+/g)].map((m) => m[0].replace(/^'(.*)'$/, '$1'))
  const env: Record<string, string> = {}
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [k, ...v] = words.shift()!.split('=')
    env[k!] = v.join('=')
  }
  if (words[0] === 'task') {
    const rest = words.slice(words[1] === '-x' ? 2 : 1)
    expect(rest[0], line).toBe(`volsync:${name}`)
    const argv = rest.slice(1).map((word) => {
      const [variable, ...value] = word.split('=')
      const flag = byVariable(variable!)
      expect(flag && specOf(name).flags.includes(flag), `${line}: ${variable} is not a variable of ${name}`).toBe(true)
      return `--${flag}=${value.join('=')}`
    })
    return { argv, env }
  }
  expect(words.slice(0, 2), line).toEqual(['tsx', `scripts/${name}.ts`])
  return { argv: words.slice(2), env }
}

/** A command line split into words as a POSIX shell would (plain and single-quoted words only). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/(?:'[^']*'|[^\s'])+/g)].map((m) => m[0].replace(/'([^']*)'/g, '$1'))
}

/** What task runs for `task volsync:<name> VARS...` (go-task's dry run), as the script's argv. */
function plannedArgv(name: string, vars: string[]): string[] {
  // go-task reads environment variables as task variables: an operator's plain shell
  const run = spawnSync(TASK, ['--dry', '--verbose', `volsync:${name}`, ...vars], { cwd: ROOT, env: PLAIN_ENV, encoding: 'utf8' })
  expect(run.status, run.stderr).toBe(0)
  const line = run.stdout + run.stderr
  const planned = line.split('\n').find((l) => l.includes(`/scripts/${name}.ts`))
  expect(planned, `task --dry volsync:${name}`).toBeDefined()
  const words = shellWords(planned!.replace(/^task: \[[^\]]*\] /, ''))
  return words.slice(words.findIndex((w) => w.endsWith(`/scripts/${name}.ts`)) + 1)
}

describe('the specs', () => {
  it('every script has a spec, and a task that runs it', () => {
    expect(specs.map((s) => s.name).sort()).toEqual(scriptNames)
    expect(scriptTasks.map(([name]) => name).sort()).toEqual(scriptNames)
    for (const [name, task] of scriptTasks) expect(cmdText(task)).toContain(`{{.RUN}}/${name}.ts `)
  })

  it.each(scriptNames)('every example in the --help of %s is a valid command line', (name) => {
    const spec = specOf(name)
    expect(spec.examples.length).toBeGreaterThanOrEqual(2)
    for (const example of spec.examples) {
      const { argv, env } = argvOf(example, name)
      expect(() => parseArgs(spec, argv), example).not.toThrow()
      expect(() => spec.checkEnv?.(env), example).not.toThrow()
    }
  })
})

describe.each(scriptNames)('the task volsync:%s', (name) => {
  const spec = specOf(name)
  const task = volsync.tasks[name]!
  const variables = spec.flags.map((f) => FLAGS[f].variable)

  it('passes exactly the flags of the spec, each from its own variable', () => {
    const cmd = cmdText(task).replace(/\{\{\.TARGET\}\}/g, volsync.vars!.TARGET!)
    const passed = [...cmd.matchAll(/--([a-z-]+)=(\{\{[^}]*\}\})/g)]
    expect(passed.map((m) => m[1]).sort()).toEqual([...spec.flags].sort())
    for (const [, flag, template] of passed) {
      // the template names the variable, or a Taskfile var built from it (KUBECONFIG_FLAG)
      const used = /\.([A-Z_]+)/.exec(template!)![1]!
      const from = used === FLAGS[flag as Flag].variable ? used : /\.([A-Z_]+)/.exec(volsync.vars![used] ?? '')?.[1]
      expect(from, `--${flag}=${template}`).toBe(FLAGS[flag as Flag].variable)
    }
  })

  it("gives the script its own defaults when a variable is not given, and each variable's value when it is", () => {
    const required = (spec.required ?? []).map((f) => `${FLAGS[f].variable}=odoo`)
    const bare = parseArgs(spec, plannedArgv(name, required))
    expect(bare).toEqual(parseArgs(spec, (spec.required ?? []).map((f) => `--${f}=odoo`)))
    const given: Partial<Record<Flag, string>> = {
      app: 'odoo', cluster: 'apps', namespace: 'business', kubeconfig: '/k/apps.yaml', output: 'json',
      timeout: '7m', snapshot: '7c2d9e41', yes: 'true', 'dry-run': 'true', keep: 'true', 'error-grace': '45s', source: 'odoo-r2',
      dir: '/media', file: '/app.conf', to: './out/', force: 'true', 'to-pvc': 'odoo-copy', 'to-namespace': 'forensics',
      depth: 'quick', check: 'test -s app.conf', 'scratch-size': '20Gi', 'scratch-class': 'fast', 'stale-after': '7d', lookback: '3d',
      concurrency: '6', 'read-data': '15%',
    }
    const vars = spec.flags.map((f) => `${FLAGS[f].variable}=${given[f]}`)
    expect(parseArgs(spec, plannedArgv(name, vars))).toEqual(parseArgs(spec, spec.flags.map((f) => `--${f}=${given[f]}`)))
  }, 60_000) // plannedArgv runs `task --dry` twice: seconds on a busy machine

  it('requires the variables of the required flags', () => {
    expect(task.requires?.vars ?? []).toEqual((spec.required ?? []).map((f) => FLAGS[f].variable))
  })

  it("has a desc naming the variables, and a summary listing each with the --help's default", () => {
    const listed = /\[([^\]]*)\]$/.exec(task.desc ?? '')?.[1]?.split(', ')
    expect(listed?.sort()).toEqual(variables.filter((v) => v !== 'KUBECONFIG').sort())
    const summary = task.summary ?? ''
    const documented = Object.fromEntries(section(summary, 'Variables (default):').map((l) => l.split(/ {2,}/)))
    expect(documented).toEqual(
      Object.fromEntries(spec.flags.map((f) => [FLAGS[f].variable, flagDefault(spec, f) ?? '(required)'])),
    )
    const help = helpText(spec)
    for (const f of spec.flags) {
      const def = flagDefault(spec, f)
      expect(help).toContain(def === undefined ? '(required)' : `(default: ${def})`)
    }
  })

  it('has two examples that are valid command lines, and points to the reference', () => {
    const summary = task.summary ?? ''
    const examples = section(summary, 'Examples:')
    expect(examples).toHaveLength(2)
    for (const example of examples) expect(() => parseArgs(spec, argvOf(example, name).argv), example).not.toThrow()
    expect(summary).toContain(`Reference: task volsync:help -- ${name}\n`)
  })
})

describe('task volsync:help', () => {
  it("prints the script's --help, the same text as the spec's", () => {
    const run = spawnSync(TASK, ['volsync:help', '--', 'unlock'], { cwd: ROOT, env: PLAIN_ENV, encoding: 'utf8' })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toBe(helpText(specOf('unlock')) + '\n')
  })

  it('every task has a desc', () => {
    for (const file of ['Taskfile.yaml', VOLSYNC_FILE, '.taskfiles/sandbox/Taskfile.yaml']) {
      for (const [name, task] of Object.entries((parse(read(file)) as Taskfile).tasks)) {
        expect(task.desc, `${file}: ${name}`).toBeTruthy()
      }
    }
  })
})

describe('README.md, CONTRIBUTING.md and the runbook', () => {
  const DOCS = ['README.md', 'CONTRIBUTING.md', 'docs/runbooks/volsync.md', 'test/e2e/README.md']
  const runbook = read('docs/runbooks/volsync.md')

  it('README.md has a line for every task', () => {
    const readme = read('README.md')
    for (const name of allTasks.filter((t) => t.includes(':'))) {
      expect(readme, name).toMatch(new RegExp(`^.*\\b${name}\\b.*$`, 'm'))
    }
  })

  it.each(DOCS)('%s names only tasks that exist', (doc) => {
    for (const [, name] of read(doc).matchAll(/\b((?:volsync|sandbox):[a-z-]+)/g)) expect(allTasks, `${doc}: ${name}`).toContain(name)
  })

  it.each(DOCS)('%s links only to files and headings that exist', (doc) => {
    const text = read(doc)
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue
      const [file, anchor] = target!.split('#')
      const resolved = file ? path.join(path.dirname(doc), file) : doc
      expect(existsSync(path.join(ROOT, resolved)), `${doc}: ${target}`).toBe(true)
      if (anchor) expect(anchorsOf(read(resolved)), `${doc}: ${target}`).toContain(anchor)
    }
  })

  it('README.md gives every exit code the scripts use, and the runbook has a procedure for every task', () => {
    const readme = read('README.md')
    for (const code of Object.values(EXIT)) expect(readme).toMatch(new RegExp(`\\b${code}\\b`))
    const fenced = [...runbook.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n')
    for (const name of scriptNames) expect(fenced, name).toMatch(new RegExp(`task -x volsync:${name}\\b`))
  })

  it("the runbook quotes the mover-Job messages as the commands print them", () => {
    const job = { uid: 'u', name: 'volsync-src-odoo-backup', namespace: 'business', owner: 'o', firstFailed: 0, failed: 3, limit: 8 }
    const attempt = attemptNote('business/odoo-backup', job, 'ours', '')
    expect(runbook).toContain('`' + attempt.split(' (')[0] + ' ...`')
    expect(runbook).toContain('`' + jobsUnavailableNote('x').split(' (')[0] + ' (...)`')
  })
})

/** GitHub's anchors of a markdown file's headings. */
function anchorsOf(markdown: string): string[] {
  return [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#+ (.*)$/gm)].map((m) =>
    m[1]!
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-'),
  )
}
