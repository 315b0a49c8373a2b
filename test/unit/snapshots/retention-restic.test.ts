// The keep decision of lib/snapshots/retention.ts against restic itself: a
// local repository with snapshots at chosen times (one recorded with a +01:00
// offset, one by another host), then `restic forget --dry-run --json` with the
// options VolSync builds from each retain policy, compared snapshot by
// snapshot, reasons included. restic is the one ./setup.sh puts into .cache/bin
// (0.18.1, the mover's). Each restic run spends most of its time deriving the
// key (about 0.5 s), so the repository is built once and kept in
// .cache/retention-restic/<hash of the snapshot list> (built anew when TAKEN
// changes); the forget runs, the comparison, are run every time.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseSnapshots, type ResticSnapshot } from '../../../lib/snapshots/restic.ts'
import { applyPolicy, forgetFlags, policySnapshot, retainPolicy, type RetainPolicy } from '../../../lib/snapshots/retention.ts'

const run = promisify(execFile)
const RESTIC = path.resolve(import.meta.dirname, '../../../.cache/bin/restic')

// [local time as restic's --time reads it, TZ, host]
const TAKEN: [string, string, string][] = [
  ['2025-06-15 10:00:00', 'UTC', 'volsync'],
  ['2025-12-31 23:30:00', 'UTC', 'volsync'],
  ['2026-03-31 12:00:00', 'UTC', 'volsync'],
  ['2026-06-01 08:00:00', 'UTC', 'volsync'],
  ['2026-11-20 08:00:00', 'UTC', 'volsync'],
  // 23:30 UTC on the 24th, but the 25th on the clock it was recorded with
  ['2026-11-25 00:30:00', 'Europe/Berlin', 'volsync'],
  ['2026-11-25 04:00:09', 'UTC', 'volsync'],
  ['2026-11-25 04:40:00', 'UTC', 'volsync'],
  ['2026-11-25 12:00:00', 'UTC', 'volsync'],
  ['2026-11-29 20:00:00', 'UTC', 'volsync'],
  ['2026-11-30 20:00:00', 'UTC', 'volsync'],
  ['2026-11-30 20:10:00', 'UTC', 'volsync'],
  ['2026-11-30 21:00:00', 'UTC', 'laptop'],
]

// spec.restic.retain as written in a ReplicationSource
const POLICIES: Record<string, unknown>[] = [
  { hourly: 24, daily: 7 },
  { hourly: 3, daily: 3 },
  { hourly: 24, daily: 7, weekly: 4, monthly: 6, yearly: 2 },
  { within: '5d', last: '2' },
  { daily: 2, monthly: 3 },
  { within: '1m', weekly: 2 },
  { within: '1y2m', yearly: 1 },
  {},
  { last: 'unlimited' },
]

const CACHE = path.resolve(import.meta.dirname, '../../../.cache/retention-restic')

const envOf = (dir: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: dir,
  RESTIC_REPOSITORY: path.join(dir, 'repo'),
  RESTIC_PASSWORD_FILE: path.join(dir, 'password'),
  RESTIC_CACHE_DIR: path.join(dir, 'cache'),
})

/** A repository with the snapshots of TAKEN, built in a temporary directory and then moved into place. */
async function buildRepository(dir: string): Promise<void> {
  mkdirSync(CACHE, { recursive: true })
  const tmp = mkdtempSync(path.join(CACHE, 'building-'))
  try {
    mkdirSync(path.join(tmp, 'data'))
    writeFileSync(path.join(tmp, 'data', 'file'), 'content\n')
    writeFileSync(path.join(tmp, 'password'), 'retention-test\n')
    const env = envOf(tmp)
    await run(RESTIC, ['init', '--quiet'], { env })
    // two at a time (backups take a shared lock)
    for (let i = 0; i < TAKEN.length; i += 2) {
      await Promise.all(
        TAKEN.slice(i, i + 2).map(([time, tz, host]) =>
          run(RESTIC, ['backup', '--quiet', '--host', host, '--time', time, 'data'], { env: { ...env, TZ: tz }, cwd: tmp }),
        ),
      )
    }
    rmSync(dir, { recursive: true, force: true })
    renameSync(tmp, dir)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

let env: NodeJS.ProcessEnv
let snapshots: ResticSnapshot[]

beforeAll(async () => {
  if (!existsSync(RESTIC)) throw new Error(`${RESTIC} is missing: run ./setup.sh`)
  const dir = path.join(CACHE, createHash('sha256').update(JSON.stringify(TAKEN)).digest('hex').slice(0, 16))
  if (!existsSync(path.join(dir, 'repo', 'config'))) await buildRepository(dir)
  env = envOf(dir)
  const { stdout } = await run(RESTIC, ['snapshots', '--json', '--no-lock'], { env })
  snapshots = parseSnapshots(stdout)
}, 120_000)

interface ForgetGroup {
  host: string
  paths: string[]
  keep: ResticSnapshot[] | null
  remove: ResticSnapshot[] | null
  reasons: { snapshot: ResticSnapshot; matches: string[] }[] | null
}

describe('retention against restic forget --dry-run --json', () => {
  it('recorded one snapshot with its +01:00 offset and one by another host', () => {
    expect(snapshots).toHaveLength(TAKEN.length)
    expect(snapshots.some((s) => s.time.startsWith('2026-11-25T00:30:00+01:00'))).toBe(true)
    expect(snapshots.filter((s) => s.hostname === 'laptop')).toHaveLength(1)
  })

  it('keeps and forgets what restic does, for the same reasons', async () => {
    const results = await Promise.all(
      POLICIES.map(async (retain) => {
        const flags = forgetFlags(retain)
        const started = Date.now()
        const { stdout } = await run(
          RESTIC,
          ['forget', '--dry-run', '--json', '--no-lock', '--host', 'volsync', ...flags],
          { env },
        )
        return { retain, flags, groups: JSON.parse(stdout) as ForgetGroup[], now: started }
      }),
    )
    for (const { retain, flags, groups, now } of results) {
      const policy = retainPolicy(retain) as RetainPolicy
      expect(policy, JSON.stringify(retain)).not.toHaveProperty('error')
      expect(groups, flags.join(' ')).toHaveLength(1)
      // restic's JSON reasons carry the snapshot without its id: match by time
      const byTime = new Map(snapshots.map((s) => [s.time, s.id]))
      const resticKept = Object.fromEntries(
        (groups[0]!.reasons ?? []).map((r) => [byTime.get(r.snapshot.time)!, r.matches]),
      )
      const ours = Object.fromEntries(
        applyPolicy(
          snapshots.filter((s) => s.hostname === 'volsync').map(policySnapshot).sort((a, b) => b.seconds - a.seconds),
          policy,
          now,
        ),
      )
      expect(ours, `retain ${JSON.stringify(retain)} (${flags.join(' ')})`).toEqual(resticKept)
      const removed = (groups[0]!.remove ?? []).map((s) => s.id)
      expect(removed.sort()).toEqual(
        snapshots.filter((s) => s.hostname === 'volsync' && !(s.id in ours)).map((s) => s.id).sort(),
      )
    }
  }, 60_000)
})
