// withOffsets / resolveRestorePoint against the VolSync mover itself: a real
// restic repository with awkward snapshots, and entry.sh's own
// select_restic_snapshot_to_restore (run from the Go module cache, never
// copied: VolSync is AGPL) asked for every offset and for the times we
// would send as restoreAsOf. setup.sh installs restic 0.18.1 and downloads
// VolSync v0.16.0; without them this file is skipped and says why.
import path from 'node:path'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../../lib/cluster.ts'
import {
  moverChain,
  parseSnapshots,
  resolveRestorePoint,
  withOffsets,
  type ListedSnapshot,
} from '../../../lib/snapshots/restic.ts'

const run = promisify(execFile)

function findRestic(): string | undefined {
  const local = path.join(REPO_ROOT, '.cache/bin/restic')
  if (existsSync(local)) return local
  try {
    return execFileSync('bash', ['-c', 'command -v restic'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

function findEntrySh(): string | undefined {
  let modcache = path.join(process.env.HOME ?? '/root', 'go/pkg/mod')
  try {
    modcache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim() || modcache
  } catch {
    // no go: try the default place
  }
  const entry = path.join(modcache, 'github.com/backube/volsync@v0.16.0/mover-restic/entry.sh')
  return existsSync(entry) ? entry : undefined
}

const restic = findRestic()
const entrySh = findEntrySh()
const missing = [!restic && 'restic (run ./setup.sh)', !entrySh && 'VolSync v0.16.0 in the Go module cache (run ./setup.sh)']
  .filter(Boolean)
  .join(', ')
if (missing) console.warn(`mover-selection.test.ts skipped: missing ${missing}`)

describe.skipIf(missing !== '')('the VolSync mover selects what withOffsets predicts', () => {
  // no "data" in this directory's own path: only the backed-up dirs carry it
  const dir = mkdtempSync(path.join(tmpdir(), 'volsync-ops-mover-'))
  const env = {
    ...process.env,
    RESTIC_REPOSITORY: path.join(dir, 'repo'),
    RESTIC_PASSWORD: 'test',
    RESTIC_CACHE_DIR: path.join(dir, 'cache'),
    PATH: `${path.dirname(restic ?? '/')}:${process.env.PATH}`,
    TZ: 'UTC',
  }
  const src = (name: string) => path.join(dir, 'src', name)
  const backup = (paths: string[], extra: string[] = []) =>
    run(restic!, ['backup', '--host', 'volsync', '--no-scan', '-q', ...extra, ...paths], { env })

  /** entry.sh's functions, sourced from the module cache, asked for one selection. */
  async function moverSelects(previous: number, restoreAsOf = ''): Promise<string> {
    const script = [
      `source <(sed -n '/^function trim_timestamp()/,/^}/p; /^function get_epoch_from_timestamp()/,/^}/p; ` +
        `/^function reverse_array()/,/^}/p; /^function select_restic_snapshot_to_restore()/,/^}/p' "$ENTRY_SH")`,
      'function error { echo "error $*" >&2; exit 1; }',
      'RESTIC=(restic)',
      'select_restic_snapshot_to_restore',
    ].join('\n')
    const { stdout } = await run('bash', ['-c', script], {
      env: { ...env, ENTRY_SH: entrySh!, SELECT_PREVIOUS: String(previous), RESTORE_AS_OF: restoreAsOf },
    })
    return stdout.trim()
  }

  let listed: ListedSnapshot[] = []
  let sharedSecond = false

  beforeAll(async () => {
    for (const name of ['data', 'other', 'a']) {
      mkdirSync(src(name), { recursive: true })
      writeFileSync(path.join(src(name), 'file'), name)
    }
    await run(restic!, ['init', '-q'], { env })
    await backup([src('data')], ['--time', '2026-11-25 04:00:09'])
    await backup([src('other')], ['--time', '2026-11-25 08:00:00']) // no /data: skipped
    await backup([src('other')], ['--time', '2026-11-25 10:00:00', '--tag', '/data']) // /data as a tag: kept
    await backup([src('a'), src('data')], ['--time', '2026-11-25 12:00:00']) // /data on a line of its own
    await backup([src('data')], ['--time', '2026-11-25 16:00:00'])
    // two snapshots in one second (they differ in nanoseconds): start them
    // together. A pair that lands in two seconds (a busy machine) is forgotten
    // before the next try: the repository holds exactly the cases above plus one pair.
    for (let attempt = 0; attempt < 5 && !sharedSecond; attempt++) {
      await Promise.all([backup([src('data')]), backup([src('data')])])
      const snaps = withOffsets(parseSnapshots((await run(restic!, ['snapshots', '--json', '--no-lock'], { env })).stdout))
      sharedSecond = snaps[0]!.epoch === snaps[1]!.epoch
      if (!sharedSecond) await run(restic!, ['forget', '-q', snaps[0]!.id, snaps[1]!.id], { env })
    }
    const { stdout } = await run(restic!, ['snapshots', '--json', '--no-lock'], { env })
    listed = withOffsets(parseSnapshots(stdout))
  }, 120_000)

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('the repository has the awkward cases (a shared second among them)', () => {
    expect(sharedSecond).toBe(true)
    expect(listed.filter((s) => s.previous === null).length).toBeGreaterThanOrEqual(3)
  })

  it('every offset selects the snapshot we predict, one past the end selects nothing', async () => {
    const chain = moverChain(listed)
    const offsets = Array.from({ length: chain.length + 1 }, (_, i) => i)
    const selections = await Promise.all(offsets.map((offset) => moverSelects(offset)))
    for (const offset of offsets) {
      const selected = selections[offset]
      const entry = chain[offset]
      if (!entry) expect(selected, `offset ${offset}`).toBe('')
      // a multi-path snapshot's extra line: the mover "selects" a path, not an id
      else if (!entry.snapshot) expect(selected, `offset ${offset}`).toMatch(/^\//)
      else expect(selected, `offset ${offset}`).toBe(entry.snapshot.short_id)
    }
  }, 60_000)

  it('the PREV column is the offset that selects each snapshot', async () => {
    const reachable = listed.filter((s) => s.previous !== null)
    const selections = await Promise.all(reachable.map((s) => moverSelects(s.previous!)))
    expect(selections).toEqual(reachable.map((s) => s.short_id))
  }, 60_000)

  it('restoring an id through restoreAsOf selects that snapshot', async () => {
    let checked = 0
    for (const s of listed) {
      let point
      try {
        point = resolveRestorePoint(listed, { kind: 'id', id: s.short_id })
      } catch (err) {
        // refused: not selectable, or the walk would pass the multi-path line
        expect((err as Error).message).toMatch(/cannot be selected by the VolSync mover|cannot predict what/)
        continue
      }
      expect(await moverSelects(point.previous, point.restoreAsOf), s.short_id).toBe(s.short_id)
      checked++
    }
    expect(checked).toBe(2) // 16:00 and the winner of the shared second
  }, 60_000)

  it.each(['2026-11-25T16:30:00Z', '2026-11-25T17:00:00+01:00', '2026-11-25T16:00:00.999Z', '2030-01-01T00:00:00Z'])(
    'restoreAsOf %s selects what we predict',
    async (time) => {
      const selector = { kind: 'time' as const, time: new Date(time), text: time }
      const point = resolveRestorePoint(listed, selector)
      expect(await moverSelects(point.previous, point.restoreAsOf)).toBe(point.snapshot.short_id)
    },
    60_000,
  )

  it('a time whose walk passes the multi-path line is refused: the mover would see a bogus time there', async () => {
    const time = '2026-11-25T10:30:00Z'
    expect(() => resolveRestorePoint(listed, { kind: 'time', time: new Date(time), text: time })).toThrow(/^cannot predict/)
  })
})
