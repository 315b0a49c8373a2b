// The layout is part of the design (CONTRIBUTING.md, "Layout"): these tests
// keep it. They read the import statements of lib/ and scripts/ as text.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')

function tsFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .sort()
}

interface Edge {
  from: string
  to: string
  /** `import type`, or every name imported as `type X` */
  typeOnly: boolean
}

/** The relative imports of a file, resolved to repository paths. */
export function importsOf(file: string, text: string): Edge[] {
  const edges: Edge[] = []
  for (const m of text.matchAll(/^import (type )?(?:\{([^}]*)\}|[\w*$ ]+)\s*from '(\.[^']+)'/gm)) {
    const names = (m[2] ?? '').split(',').map((n) => n.trim()).filter(Boolean)
    const typeOnly = Boolean(m[1]) || (names.length > 0 && names.every((n) => n.startsWith('type ')))
    edges.push({ from: file, to: path.normalize(path.join(path.dirname(file), m[3]!)), typeOnly })
  }
  return edges
}

const files = [...tsFiles('lib'), ...tsFiles('scripts')]
const edges = files.flatMap((f) => importsOf(f, readFileSync(path.join(ROOT, f), 'utf8')))
const folder = (f: string) => path.dirname(f)
const CONCERNS = ['lib/volsync', 'lib/snapshots', 'lib/sync', 'lib/restore', 'lib/recover', 'lib/doctor']
/** What each concern folder may import besides itself and the cross-cutting lib/*.ts. */
const MAY_IMPORT: Record<string, string[]> = {
  'lib/volsync': [],
  'lib/snapshots': ['lib/volsync'],
  'lib/sync': ['lib/volsync'],
  'lib/restore': ['lib/volsync', 'lib/snapshots', 'lib/sync'],
  'lib/recover': ['lib/volsync', 'lib/snapshots', 'lib/sync', 'lib/restore'],
  'lib/doctor': ['lib/volsync', 'lib/snapshots'],
}
/** Cross-cutting modules that act (run processes, wait, ask): pure modules may import their types only. */
const ACTING = ['lib/kubectl.ts', 'lib/run.ts', 'lib/wait.ts', 'lib/cleanup.ts', 'lib/prompt.ts', 'lib/fleet.ts']

describe('layout', () => {
  it('lib/ has only the cross-cutting modules and the concern folders', () => {
    const folders = [...new Set(tsFiles('lib').map(folder))].filter((f) => f !== 'lib').sort()
    expect(folders).toEqual([...CONCERNS].sort())
  })

  it('has no import cycles', () => {
    const next = new Map<string, string[]>()
    for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to])
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].join(' -> '))
        return
      }
      state.set(f, 'open')
      for (const to of next.get(f) ?? []) visit(to, [...trail, f])
      state.set(f, 'done')
    }
    for (const f of files) visit(f, [])
    expect(cycles).toEqual([])
  })

  it('cross-cutting modules (lib/*.ts) import nothing from the concern folders', () => {
    const up = edges.filter((e) => folder(e.from) === 'lib' && folder(e.to) !== 'lib')
    expect(up.map((e) => `${e.from} -> ${e.to}`)).toEqual([])
  })

  it('concern folders import only the folders below them', () => {
    const wrong = edges.filter((e) => {
      const [a, b] = [folder(e.from), folder(e.to)]
      return CONCERNS.includes(a) && a !== b && b !== 'lib' && !MAY_IMPORT[a]!.includes(b)
    })
    expect(wrong.map((e) => `${e.from} -> ${e.to}`)).toEqual([])
  })

  it('pure modules (every file in a concern folder not named *.io.ts) never act: no .io.ts, and the acting modules as types only', () => {
    const pure = (f: string) => CONCERNS.includes(folder(f)) && !f.endsWith('.io.ts')
    const wrong = edges.filter(
      (e) => pure(e.from) && (e.to.endsWith('.io.ts') || (ACTING.includes(e.to) && !e.typeOnly)),
    )
    expect(wrong.map((e) => `${e.from} -> ${e.to}`)).toEqual([])
  })

  it('scripts import lib/, never each other', () => {
    const wrong = edges.filter((e) => e.from.startsWith('scripts/') && e.to.startsWith('scripts/'))
    expect(wrong).toEqual([])
  })

  it('reads imports as written (the reader itself)', () => {
    const text = "import type { A } from './a.ts'\nimport { b, type C } from '../c.ts'\nimport { type D, type E } from './d.ts'\n"
    expect(importsOf('lib/sync/x.ts', text)).toEqual([
      { from: 'lib/sync/x.ts', to: 'lib/sync/a.ts', typeOnly: true },
      { from: 'lib/sync/x.ts', to: 'lib/c.ts', typeOnly: false },
      { from: 'lib/sync/x.ts', to: 'lib/sync/d.ts', typeOnly: true },
    ])
  })
})

describe('the sandbox', () => {
  // users run the sandbox (task sandbox:*); the e2e tier uses its control
  // plane. The arrow points from test/ to sandbox/, never back.
  const files = readdirSync(path.join(ROOT, 'sandbox'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(sh|bash|go|mod)$/.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))

  it('lives outside test/ and is what task sandbox:* runs', () => {
    expect(files).toContain('sandbox/sandbox.sh')
    expect(files).toContain('sandbox/controlplane.sh')
    expect(readFileSync(path.join(ROOT, '.taskfiles/sandbox/Taskfile.yaml'), 'utf8')).toContain('/../../sandbox/sandbox.sh')
  })

  it.each(files)('%s uses nothing under test/ (comments aside)', (file) => {
    const code = readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(#|\/\/)/.test(line))
    expect(code.filter((line) => /(^|[^a-z_])test\//.test(line))).toEqual([])
  })
})
