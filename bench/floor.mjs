#!/usr/bin/env node
// The floor of the design (not the tool): Node, the same raw GET of the list,
// and JSON.parse of its answer; nothing else. With zx (the default) the GET
// goes through zx/core as the scripts' calls do; with --no-zx through Node's
// own child_process. Whatever `task volsync:status` costs above the zx row is
// the tool's own work; what these rows cost above the raw GET is the price of
// Node (+ zx) (+ go-task, when run from a Taskfile), which no change inside
// the scripts can remove.   usage: node bench/floor.mjs [--no-zx] KUBECTL ARGS...
import { spawn } from 'node:child_process'

const argv = process.argv.slice(2)
const plain = argv[0] === '--no-zx'
const [bin, ...args] = plain ? argv.slice(1) : argv

/** stdout of `bin args` through Node's child_process alone */
function read() {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const chunks = []
    child.stdout.on('data', (chunk) => chunks.push(chunk))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`exit ${code}`))))
  })
}

const text = plain ? await read() : (await (await import('zx/core')).$({ quiet: true })`${bin} ${args}`).stdout
const list = JSON.parse(text)
if (!Array.isArray(list.items)) process.exit(1)
