#!/usr/bin/env node
// The Taskfile's way to start a script fast: `node bin/run.mjs scripts/<name>.ts [flags]`.
// Node 20 cannot run TypeScript by itself, and loading tsx plus zx's module
// graph costs ~0.25 s of CPU on every run. This launcher runs a bundle of the
// script instead (.cache/dist/<name>.mjs, built with esbuild, the compiler
// tsx itself uses), rebuilding it whenever a file in scripts/ or lib/, or the
// lockfile, is newer. The bundle is the same code: scripts/*.ts still run
// directly with tsx (Node 20) or zx (Node 22.18+). See bench/README.md.
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const script = process.argv[2]
if (!script || !/^[a-z][a-z-]*\.ts$/.test(path.basename(script))) {
  console.error('usage: node bin/run.mjs scripts/<name>.ts [flags]')
  process.exit(2)
}
const name = path.basename(script, '.ts')
const source = path.join(root, 'scripts', `${name}.ts`)
const bundle = path.join(root, '.cache', 'dist', `${name}.mjs`)

/** Newest modification time among the inputs of a bundle (scripts/ and lib/, recursively, and the lockfile). */
function newestInput() {
  let newest = statSync(path.join(root, 'package-lock.json')).mtimeMs
  for (const dir of ['scripts', 'lib']) {
    for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
      newest = Math.max(newest, statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs)
    }
  }
  return newest
}

if (!existsSync(source)) {
  console.error(`no such script: scripts/${name}.ts`)
  process.exit(2)
}
if (!existsSync(bundle) || statSync(bundle).mtimeMs < newestInput()) {
  const { build } = await import('esbuild')
  mkdirSync(path.dirname(bundle), { recursive: true })
  // built beside, then renamed: a run in parallel never loads half a file
  const partial = `${bundle}.${process.pid}.tmp`
  await build({
    entryPoints: [source],
    outfile: partial,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // for the CommonJS inside zx's dependencies
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  })
  renameSync(partial, bundle)
}
await import(pathToFileURL(bundle).href)
