import { describe, expect, it } from 'vitest'
import { painter } from '../../../lib/output.ts'
import { afterPatch, liftFence, observe, startRun, type Purpose, type SourceRun } from '../../../lib/sync/machine.ts'
import {
  failureList,
  phaseText,
  progressLine,
  snapshotReport,
  startNotes,
  stoppedDetails,
  summaryLine,
  summaryRow,
  summaryTable,
  transitionNote,
  unlockReport,
  type TriggerFate,
} from '../../../lib/sync/view.ts'
import type { MoverStatus, ReplicationSource } from '../../../lib/volsync/objects.ts'

const NOW = new Date('2026-11-26T04:10:00Z')
const plain = painter(false)
const HINTS = { cluster: 'apps', app: 'odoo' }
const LOCKED: MoverStatus = {
  result: 'Failed',
  logs: '=== Starting backup ===\nunable to create lock in backend: repository is already locked by PID 27 on volsync-src-odoo-backup-x2k8p',
}
const BADPASS: MoverStatus = {
  result: 'Failed',
  logs: 'Fatal: wrong password or no key found\nERROR: failure connecting to repository, incorrect password',
}
const SAVED = 'processed 1547 files, 815.902 MiB in 0:05\nsnapshot 1a2b3c4d saved\nRestic completed in 9s'
const EMPTY = '== Directory is empty skipping backup ==='

function rs(
  name = 'odoo-backup',
  s: { manual?: string; running?: string; lastManualSync?: string; mover?: MoverStatus; paused?: boolean; schedule?: boolean; lastUnlocked?: string; rv?: string } = {},
): ReplicationSource {
  return {
    metadata: { name, namespace: 'business', resourceVersion: s.rv ?? '1' },
    spec: {
      trigger: { ...(s.schedule === false ? {} : { schedule: '0 */8 * * *' }), ...(s.manual ? { manual: s.manual } : {}) },
      ...(s.paused ? { paused: true } : {}),
    },
    status: {
      ...(s.running ? { lastSyncStartTime: s.running } : {}),
      ...(s.lastManualSync ? { lastManualSync: s.lastManualSync } : {}),
      lastSyncDuration: '1m12.5s',
      latestMoverStatus: s.mover ?? { result: 'Successful', logs: SAVED },
      ...(s.lastUnlocked ? { restic: { lastUnlocked: s.lastUnlocked } } : {}),
    },
  }
}

/** A run that succeeded with mover logs `logs`. */
function succeeded(purpose: Purpose, logs: string, name = 'odoo-backup', schedule = true): SourceRun {
  let run = liftFence(afterPatch(purpose, startRun(purpose, rs(name, { schedule })), 'tok', rs(name, { manual: 'tok', schedule })))
  run = observe(purpose, run, rs(name, {
    manual: 'tok', lastManualSync: 'tok', schedule, lastUnlocked: 'tok', mover: { result: 'Successful', logs },
  }))
  expect(run.phase.kind).toBe('succeeded')
  return run
}

function failed(mover: MoverStatus, name = 'odoo-backup', purpose: Purpose = 'snapshot'): SourceRun {
  let run = liftFence(afterPatch(purpose, startRun(purpose, rs(name)), 'tok', rs(name, { manual: 'tok' })))
  run = observe(purpose, run, rs(name, { manual: 'tok', running: '2026-11-26T04:00:00Z', mover }))
  expect(run.phase.kind).toBe('failed')
  return run
}

/** Our sync runs (the patch response showed none running: it is ours). */
const syncing = (name = 'odoo-backup') =>
  observe(
    'snapshot',
    afterPatch('snapshot', startRun('snapshot', rs(name)), 'tok', rs(name, { manual: 'tok', rv: '2' })),
    rs(name, { manual: 'tok', running: '2026-11-26T04:09:00Z', rv: '2' }),
  )
const busy = (name = 'jellyfin-backup', mover?: MoverStatus) => startRun('snapshot', rs(name, { running: '2026-11-26T04:05:00Z', mover }))
const paused = (name = 'wiki-backup') => startRun('snapshot', rs(name, { paused: true }))
const REMOVED: TriggerFate = { kind: 'removed' }

describe('progress', () => {
  it('says what one source is doing', () => {
    expect(phaseText(busy())).toBe('waiting for the running sync to end')
    expect(phaseText(busy('j', LOCKED))).toBe(
      'waiting for the running sync to end; its mover failed before and VolSync is retrying ' +
        '(unable to create lock in backend: repository is already locked by PID 27 on volsync-src-odoo-backup-x2k8p)',
    )
    expect(phaseText(syncing())).toBe('syncing')
    expect(phaseText(startRun('snapshot', rs()))).toBe('triggering')
    const foreign = afterPatch('snapshot', startRun('snapshot', rs()), 'tok', rs('odoo-backup', { manual: 'tok', running: 'x' }))
    expect(phaseText(foreign)).toBe('a sync that started just before our trigger is running; ours follows')
    expect(phaseText(paused())).toBe('skipped: paused (spec.paused is true): no sync can run until it is unpaused')
  })

  it('counts over many sources', () => {
    const runs = [succeeded('snapshot', SAVED, 'a'), failed(LOCKED, 'b'), syncing('c'), busy('d'), paused('e')]
    expect(progressLine(runs)).toBe('2/4 finished (1 failed), 1 syncing, 1 waiting for a running sync to end')
    expect(progressLine([syncing('c')])).toBe('syncing')
  })
})

describe('notes', () => {
  it('explains why a running sync is waited for', () => {
    expect(startNotes('snapshot', busy(), NOW)).toEqual([
      'a sync of business/jellyfin-backup is already running (started 5m ago): waiting for it to end before triggering, ' +
        'so that its completion is not taken for ours',
    ])
  })

  it('says that an unlock joins a stuck sync', () => {
    const run = startRun('unlock', rs('odoo-backup', { running: 'x', mover: LOCKED }))
    expect(startNotes('unlock', run, NOW)).toEqual([
      'a sync of business/odoo-backup is running and its mover has failed: the unlock joins it (VolSync restarts its mover with `restic unlock` first)',
    ])
  })

  it('mentions a manual trigger left beside a schedule, but not the usual one of a manual-only source', () => {
    expect(startNotes('snapshot', startRun('snapshot', rs('o', { manual: 'old' })), NOW)).toEqual([
      'business/o had a manual trigger left set ("old"), so its schedule was being ignored; this run replaces it and removes it afterwards',
    ])
    expect(startNotes('snapshot', startRun('snapshot', rs('o', { manual: 'old', schedule: false })), NOW)).toEqual([])
  })

  it('narrates transitions; per-source results only when there are many', () => {
    const b = busy('odoo-backup')
    const ready = observe('snapshot', b, rs('odoo-backup', { rv: '2' }))
    expect(transitionNote('snapshot', b, ready, false)).toBe('the sync that was running on business/odoo-backup ended; triggering ours now')
    const s = syncing()
    const done = observe('snapshot', s, rs('odoo-backup', { manual: 'tok', lastManualSync: 'tok', rv: '3' }))
    expect(transitionNote('snapshot', s, done, false)).toBe('')
    expect(transitionNote('snapshot', s, done, true)).toBe('business/odoo-backup: done in 1m13s: snapshot 1a2b3c4d saved')
    const bad = observe('snapshot', s, rs('odoo-backup', { manual: 'tok', running: 'x', mover: BADPASS, rv: '3' }))
    expect(transitionNote('snapshot', s, bad, true)).toBe(
      'business/odoo-backup: FAILED: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting): ' +
        'ERROR: failure connecting to repository, incorrect password',
    )
  })
})

describe('summary of snapshot-all', () => {
  it('has one row per source, whatever its outcome', () => {
    const rows = [
      summaryRow(succeeded('snapshot', SAVED, 'odoo-backup'), REMOVED, undefined),
      summaryRow(succeeded('snapshot', EMPTY, 'jellyfin-backup'), REMOVED, undefined),
      summaryRow(failed(BADPASS, 'plex-backup'), REMOVED, undefined),
      summaryRow(succeeded('snapshot', SAVED, 'git-backup', false), { kind: 'kept', token: 'tok' }, undefined),
      summaryRow(paused(), { kind: 'untouched' }, undefined),
    ]
    expect(rows.map((r) => [r.name, r.result, r.durationSeconds, r.snapshot, r.message, r.ok, r.trigger])).toEqual([
      ['odoo-backup', 'ok', 73, '1a2b3c4d', '', true, 'removed'],
      ['jellyfin-backup', 'empty', 73, null, 'empty source: no snapshot taken', true, 'removed'],
      ['plex-backup', 'FAILED', null, null, 'ERROR: failure connecting to repository, incorrect password', false, 'removed'],
      ['git-backup', 'ok', 73, '1a2b3c4d', 'no schedule: trigger kept', true, 'kept'],
      ['wiki-backup', 'skipped', null, null, 'paused: not backed up', true, 'untouched'],
    ])
    expect(summaryLine(rows)).toBe('2 backed up, 1 empty (no snapshot), 1 failed, 1 skipped')
  })

  it('names how waiting stopped for the sources that had not settled', () => {
    for (const [stop, word] of [['timeout', 'timed out'], ['interrupted', 'interrupted'], ['lost-contact', 'unknown']] as const) {
      expect(summaryRow(syncing(), REMOVED, stop)).toMatchObject({
        result: word,
        ok: false,
        message: 'triggered, not finished: VolSync completes the sync on its own',
      })
    }
    expect(summaryRow(busy(), { kind: 'untouched' }, 'timeout').message).toBe('the sync that was running did not end: not triggered')
    expect(summaryRow(syncing(), { kind: 'pending', error: 'x' }, 'lost-contact').message).toBe(
      'triggered, not finished: VolSync completes the sync on its own; trigger NOT removed (see below)',
    )
    expect(summaryRow(failed(LOCKED), { kind: 'left', reason: 'changed' }, undefined).message).toBe(
      'unable to create lock in backend: repository is already locked by PID 27 on volsync-src-odoo-backup-x2k8p; trigger left: changed',
    )
    expect(summaryLine([summaryRow(syncing(), REMOVED, 'timeout')])).toBe('0 backed up, 1 unfinished')
  })

  it('fits the table in 80 columns', () => {
    const rows = [
      summaryRow(succeeded('snapshot', SAVED, 'a-rather-long-application-name-backup'), REMOVED, undefined),
      summaryRow(failed(LOCKED, 'plex-backup'), REMOVED, undefined),
    ]
    const table = summaryTable(rows, 80, plain)
    for (const line of table.text.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    expect(table.text.split('\n')[0]).toMatch(/^SOURCE +RESULT +(TOOK +)?SNAPSHOT +MESSAGE$/)
    expect(summaryTable(rows, 200, plain).hidden).toEqual([])
  })

  it('lists each failure with its error lines and, for a lock, the unlock command', () => {
    const text = failureList([succeeded('snapshot', SAVED), failed(LOCKED, 'plex-backup'), failed(BADPASS, 'wiki')], { cluster: 'apps' }, plain)
    expect(text.split('\n')).toEqual([
      '! business/plex-backup: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)',
      '    unable to create lock in backend: repository is already locked by PID 27 on volsync-src-odoo-backup-x2k8p',
      '    the repository is locked: task volsync:unlock APP=plex CLUSTER=apps NAMESPACE=business',
      '! business/wiki: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)',
      '    Fatal: wrong password or no key found',
      '    ERROR: failure connecting to repository, incorrect password',
    ])
  })
})

describe('snapshotReport', () => {
  it('reports the new snapshot', () => {
    expect(snapshotReport(succeeded('snapshot', SAVED), HINTS)).toEqual({
      ok: true,
      lines: ['Backup of business/odoo-backup finished: Successful, took 1m13s.', 'New restic snapshot: 1a2b3c4d'],
      warnings: [],
    })
  })

  it('never claims a snapshot for an empty source directory', () => {
    const r = snapshotReport(succeeded('snapshot', EMPTY), HINTS)
    expect(r.ok).toBe(true)
    expect(r.lines.join('\n')).not.toMatch(/snapshot:/i)
    expect(r.warnings).toEqual([
      'the source directory of business/odoo-backup was empty: VolSync skipped the backup, so NO new snapshot was taken',
    ])
  })

  it('says so when the log names no snapshot', () => {
    expect(snapshotReport(succeeded('snapshot', ''), HINTS).warnings).toEqual([
      'the mover log of business/odoo-backup names no new snapshot (no "snapshot <id> saved" line); check the repository with  task volsync:list APP=odoo CLUSTER=apps',
    ])
  })

  it('turns a failure into an error with the mover log and what to run next', () => {
    const r = snapshotReport(failed(LOCKED), HINTS)
    expect(r.ok).toBe(false)
    expect(r.error?.message).toBe('backup of business/odoo-backup: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)')
    expect(r.error?.details.split('\n')).toEqual([
      'The mover log:',
      '  === Starting backup ===',
      '  unable to create lock in backend: repository is already locked by PID 27 on volsync-src-odoo-backup-x2k8p',
      'VolSync keeps retrying this sync until it succeeds.',
      'The repository is locked: clear a stale lock with  task volsync:unlock APP=odoo CLUSTER=apps',
      'See the state of every source with  task volsync:status CLUSTER=apps',
    ])
  })

  it('refuses a paused source and says how to unpause it', () => {
    const r = snapshotReport(paused('odoo-backup'), HINTS)
    expect(r.error?.message).toBe('business/odoo-backup is paused (spec.paused is true): no sync can run until it is unpaused. Nothing was changed.')
    expect(r.error?.details).toContain(`kubectl patch replicationsources.volsync.backube odoo-backup -n business --type merge -p '{"spec":{"paused":false}}'`)
  })
})

describe('unlockReport', () => {
  it('reports the removed locks and the backup that followed', () => {
    const r = unlockReport(succeeded('unlock', `successfully removed 2 locks\n${SAVED}`), HINTS)
    expect(r.lines).toEqual([
      'Unlocked business/odoo-backup: the sync that ran `restic unlock` finished in 1m13s (status.restic.lastUnlocked = tok).',
      'restic removed 2 stale lock(s).',
      'The backup that followed saved snapshot 1a2b3c4d.',
    ])
  })

  it('says when there was no stale lock', () => {
    expect(unlockReport(succeeded('unlock', EMPTY), HINTS).lines.slice(1)).toEqual([
      'restic found no stale lock to remove.',
      'The backup that followed was skipped: the source directory is empty.',
    ])
  })

  it('explains that a live lock survives a plain unlock', () => {
    const r = unlockReport(failed(LOCKED, 'odoo-backup', 'unlock'), HINTS)
    expect(r.error?.message).toBe('unlock of business/odoo-backup: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)')
    expect(r.error?.details).toContain('The repository is still locked: `restic unlock` removes stale locks only; a lock held by a live process')
    const other = unlockReport(failed(BADPASS, 'odoo-backup', 'unlock'), HINTS)
    expect(other.error?.details).not.toContain('still locked')
  })
})

describe('stoppedDetails', () => {
  it('says what was left running, and shows a Failed mover log', () => {
    expect(stoppedDetails('snapshot', busy(), HINTS).split('\n')[0]).toBe(
      'The sync that was already running did not end, so no snapshot was triggered.',
    )
    const s = syncing()
    expect(stoppedDetails('snapshot', s, HINTS).split('\n')).toEqual([
      'Our sync (token tok) had not finished when waiting stopped; VolSync completes it on its own.',
      'See the state of every source with  task volsync:status CLUSTER=apps',
    ])
    const stale = observe('snapshot', s, rs('odoo-backup', { manual: 'tok', running: 'x', mover: LOCKED, rv: '9' }))
    expect(stale.phase.kind).toBe('failed')
    const waiting = busy('odoo-backup', LOCKED)
    expect(stoppedDetails('snapshot', waiting, HINTS)).toContain('The mover reports Failed (VolSync retries; a retry that fails with the same log looks the same). Its log:')
    expect(stoppedDetails('snapshot', waiting, HINTS)).toContain('task volsync:unlock APP=odoo CLUSTER=apps')
  })
})
