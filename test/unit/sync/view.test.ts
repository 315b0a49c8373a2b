import { describe, expect, it } from 'vitest'
import { painter } from '../../../lib/output.ts'
import {
  afterTrigger,
  liftFence,
  moverGaveUp,
  observe,
  startRun,
  triggerRefused,
  type Failure,
  type Phase,
  type Purpose,
  type SyncRun,
  type LeftWhy,
  type TriggerFate,
} from '../../../lib/sync/engine.ts'
import type { JobTrack } from '../../../lib/sync/jobs.ts'
import {
  attemptNote,
  failureList,
  failureReason,
  gaveUpWords,
  jobsUnavailableNote,
  cleanupWhat,
  errorNote,
  fateText,
  leftWords,
  logExcerpt,
  phaseText,
  progressLine,
  restoreHoldWarnings,
  restoreSyncError,
  snapshotReport,
  startNotes,
  stoppedDetails,
  summaryLine,
  summaryRow,
  summaryTable,
  syncProgress,
  tookText,
  transitionNote,
  unlockReport,
  whereToLook,
} from '../../../lib/sync/view.ts'
import type { MoverStatus, ReplicationDestination, ReplicationSource, SyncStatus } from '../../../lib/volsync/objects.ts'

const NOW = new Date('2026-11-26T04:10:00Z')
const T0 = NOW.getTime()
const plain = painter(false)
/** a run given KUBECONFIG='/k/kube config' explicitly */
const TARGET = { kubectl: { kubeconfig: '/k/kube config' }, task: { cluster: 'apps', kubeconfig: '/k/kube config' } }
const HINTS = { ...TARGET, app: 'odoo' }
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
function succeeded(purpose: Purpose, logs: string, name = 'odoo-backup', schedule = true): SyncRun {
  let run = liftFence(afterTrigger(startRun(purpose, rs(name, { schedule })), 'tok', rs(name, { manual: 'tok', schedule })))
  run = observe(run, rs(name, {
    manual: 'tok', lastManualSync: 'tok', schedule, lastUnlocked: 'tok', mover: { result: 'Successful', logs },
  }), T0)
  expect(run.phase.kind).toBe('succeeded')
  return run
}

function failed(mover: MoverStatus, name = 'odoo-backup', purpose: Purpose = 'snapshot'): SyncRun {
  let run = liftFence(afterTrigger(startRun(purpose, rs(name)), 'tok', rs(name, { manual: 'tok' })))
  run = observe(run, rs(name, { manual: 'tok', running: '2026-11-26T04:00:00Z', mover }), T0)
  expect(run.phase.kind).toBe('failed')
  return run
}

/** Our sync runs (the patch response showed none running: it is ours). */
const syncing = (name = 'odoo-backup') =>
  observe(
    afterTrigger(startRun('snapshot', rs(name)), 'tok', rs(name, { manual: 'tok', rv: '2' })),
    rs(name, { manual: 'tok', running: '2026-11-26T04:09:00Z', rv: '2' }), T0,
  )
/** Triggered; VolSync never started the sync (its controller is down). */
const notStarted = (name = 'odoo-backup') =>
  observe(
    afterTrigger(startRun('snapshot', rs(name)), 'tok', rs(name, { manual: 'tok', rv: '2' })),
    rs(name, { manual: 'tok', rv: '2' }),
    T0,
  )
const busy = (name = 'jellyfin-backup', mover?: MoverStatus) => startRun('snapshot', rs(name, { running: '2026-11-26T04:05:00Z', mover }))
const paused = (name = 'wiki-backup') => startRun('snapshot', rs(name, { paused: true }))
const REMOVED: TriggerFate = { kind: 'removed', schedule: '0 */8 * * *' }

/** A source paused by a restore of this tool: its record (lib/restore/marker.ts) on the ReplicationSource. */
const RECORD = {
  v: 1,
  token: 'volsync-ops-restore-20261126T040000Z-abcde',
  started: '2026-11-26T04:00:00Z',
  by: 'ops@laptop',
  snapshot: { id: '7c2d9e41b8a7f6e5', time: '2026-11-25T20:00:05Z' },
  destination: 'odoo-restore-20261126040000',
  pvc: 'odoo-data',
}
function heldBy(record: object | string, purpose: Purpose = 'snapshot', name = 'odoo-backup'): SyncRun {
  const o = rs(name, { paused: true })
  o.metadata.annotations = { 'volsync-ops/restore': typeof record === 'string' ? record : JSON.stringify(record) }
  return startRun(purpose, o)
}
const HELD = { ...RECORD, state: 'held', reason: 'the mover failed' }
const RUNNING = { ...RECORD, state: 'running' }

describe('progress', () => {
  it('says what one source is doing', () => {
    expect(phaseText(busy(), TARGET)).toBe('waiting for the running sync to end')
    expect(phaseText(busy('j', LOCKED), TARGET)).toBe(
      'waiting for the running sync to end; its mover failed before and VolSync is retrying ' +
        '(unable to create lock in backend: repository is already locked by PID 27 on volsync-src-odoo-backup-x2k8p)',
    )
    expect(phaseText(syncing(), TARGET)).toBe('syncing')
    expect(phaseText(startRun('snapshot', rs()), TARGET)).toBe('triggering')
    const foreign = afterTrigger(startRun('snapshot', rs()), 'tok', rs('odoo-backup', { manual: 'tok', running: 'x' }))
    expect(phaseText(foreign, TARGET)).toBe('a sync that started just before our trigger is running; ours follows')
    expect(phaseText(paused(), TARGET)).toBe('skipped: paused (spec.paused is true): no sync can run until it is unpaused')
  })

  it('counts over many sources', () => {
    const runs = [succeeded('snapshot', SAVED, 'a'), failed(LOCKED, 'b'), syncing('c'), busy('d'), paused('e')]
    expect(progressLine(runs, TARGET)).toBe('2/4 finished (1 failed), 1 syncing, 1 waiting for a running sync to end')
    expect(progressLine([syncing('c')], TARGET)).toBe('syncing')
  })
})

describe('notes', () => {
  it('explains why a running sync is waited for', () => {
    expect(startNotes(busy(), NOW)).toEqual([
      'a sync of business/jellyfin-backup is already running (started 5m ago): waiting for it to end before triggering, ' +
        'so that its completion is not taken for ours',
    ])
  })

  it('says that an unlock joins a stuck sync', () => {
    const run = startRun('unlock', rs('odoo-backup', { running: 'x', mover: LOCKED }))
    expect(startNotes(run, NOW)).toEqual([
      'a sync of business/odoo-backup is running and its mover has failed: the unlock joins it (VolSync restarts its mover with `restic unlock` first)',
    ])
  })

  it('says what becomes of the manual trigger found: a leftover of ours, a parked source, a continuously syncing one', () => {
    expect(startNotes(startRun('snapshot', rs('o', { manual: 'volsync-ops-snapshot-old' })), NOW)).toEqual([
      'business/o had a manual trigger of an earlier run of this tool left set ("volsync-ops-snapshot-old"), so its schedule ' +
        'was being ignored; this run replaces it and removes it afterwards',
    ])
    expect(startNotes(startRun('snapshot', rs('o', { manual: 'hold' })), NOW)).toEqual([
      'business/o has a manual trigger set ("hold"), so its schedule is ignored: this run puts it back while its own sync runs, ' +
        'so that the sync records it and no further sync starts',
    ])
    expect(startNotes(startRun('snapshot', rs('o', { manual: 'v1', schedule: false })), NOW)).toEqual([
      'business/o has a manual trigger set ("v1"): this run puts it back while its own sync runs, so that the sync records it ' +
        'and no further sync starts',
    ])
    expect(startNotes(startRun('snapshot', rs('o', { schedule: false })), NOW)).toEqual([
      'business/o has neither a schedule nor a manual trigger: VolSync syncs it continuously. This run sets a manual trigger ' +
        '(which holds that) and removes it afterwards, so continuous syncing resumes',
    ])
    expect(startNotes(startRun('snapshot', rs('o')), NOW)).toEqual([])
    expect(startNotes(startRun('snapshot', rs('o', { manual: 'hold', paused: true })), NOW)).toEqual([])
  })

  it("shows VolSync's error as it appears, changes and goes", () => {
    const s = syncing()
    const err = (message?: string) =>
      observe(s, { ...rs('odoo-backup', { manual: 'tok', running: 'x', rv: '5' }), status: {
        lastSyncStartTime: 'x',
        conditions: message ? [{ type: 'Synchronizing', status: 'False', reason: 'Error', message }] : [],
      } }, T0)
    const a = err('PersistentVolumeClaim "odoo-data" not found')
    expect(errorNote(s, a)).toBe(
      'business/odoo-backup: VolSync reports an error: PersistentVolumeClaim "odoo-data" not found (it retries; waiting stops if the error lasts 2m)',
    )
    expect(errorNote(a, a)).toBe('')
    const b = observe(a, { ...a.seen, status: { ...a.seen.status, conditions: [{ type: 'Synchronizing', status: 'False', reason: 'Error', message: 'Secret "x" not found' }] } }, T0)
    expect(errorNote(a, b)).toBe(
      'business/odoo-backup: VolSync reports another error: Secret "x" not found (it retries; waiting stops if the error lasts 2m)',
    )
    const gone = observe(b, rs('odoo-backup', { manual: 'tok', running: 'x', rv: '6' }), T0)
    expect(errorNote(b, gone)).toBe('business/odoo-backup: VolSync no longer reports an error')
    expect(phaseText(a, TARGET)).toBe('VolSync reports an error (it retries): PersistentVolumeClaim "odoo-data" not found')
  })

  it('narrates transitions; per-source results only when there are many', () => {
    const b = busy('odoo-backup')
    const ready = observe(b, rs('odoo-backup', { rv: '2' }), T0)
    expect(transitionNote(b, ready, false, TARGET)).toBe('the sync that was running on business/odoo-backup ended; triggering ours now')
    const s = syncing()
    const done = observe(s, rs('odoo-backup', { manual: 'tok', lastManualSync: 'tok', rv: '3' }), T0)
    expect(transitionNote(s, done, false, TARGET)).toBe('')
    expect(transitionNote(s, done, true, TARGET)).toBe('business/odoo-backup: done in 1m13s: snapshot 1a2b3c4d saved')
    const bad = observe(s, rs('odoo-backup', { manual: 'tok', running: 'x', mover: BADPASS, rv: '3' }), T0)
    expect(transitionNote(s, bad, true, TARGET)).toBe(
      'business/odoo-backup: FAILED: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting): ' +
        'ERROR: failure connecting to repository, incorrect password',
    )
  })
})

describe('summary of snapshot-all', () => {
  it('has one row per source, whatever its outcome', () => {
    const rows = [
      summaryRow(succeeded('snapshot', SAVED, 'odoo-backup'), REMOVED, undefined, TARGET),
      summaryRow(succeeded('snapshot', EMPTY, 'jellyfin-backup'), REMOVED, undefined, TARGET),
      summaryRow(failed(BADPASS, 'plex-backup'), REMOVED, undefined, TARGET),
      summaryRow(succeeded('snapshot', SAVED, 'git-backup', false), { kind: 'put-back', manual: 'v1', synced: true }, undefined, TARGET),
      summaryRow(paused(), { kind: 'untouched' }, undefined, TARGET),
    ]
    expect(rows.map((r) => [r.name, r.result, r.durationSeconds, r.snapshot, r.message, r.ok, r.trigger])).toEqual([
      ['odoo-backup', 'ok', 73, '1a2b3c4d', '', true, 'removed'],
      ['jellyfin-backup', 'empty', 73, null, 'empty source: no snapshot taken', true, 'removed'],
      ['plex-backup', 'FAILED', null, null, 'ERROR: failure connecting to repository, incorrect password', false, 'removed'],
      ['git-backup', 'ok', 73, '1a2b3c4d', 'trigger put back ("v1")', true, 'put-back'],
      ['wiki-backup', 'skipped', null, null, 'paused: not backed up', true, 'untouched'],
    ])
    expect(summaryLine(rows)).toBe('2 backed up, 1 empty (no snapshot), 1 failed, 1 skipped')
  })

  it('says which skipped sources a restore of this tool holds, with the command that gives each back', () => {
    const runs = [paused(), heldBy(HELD), heldBy(RUNNING, 'snapshot', 'erp-backup'), heldBy('not json', 'snapshot', 'crm-backup')]
    expect(runs.map((run) => summaryRow(run, { kind: 'untouched' }, undefined, TARGET)).map((r) => [r.name, r.result, r.message, r.ok])).toEqual([
      ['wiki-backup', 'skipped', 'paused: not backed up', true],
      ['odoo-backup', 'skipped', 'HELD by an unfinished restore: not backed up', true],
      ['erp-backup', 'skipped', 'paused by a running restore: not backed up', true],
      ['crm-backup', 'skipped', 'paused: not backed up', true],
    ])
    expect(restoreHoldWarnings([...runs, succeeded('snapshot', SAVED)], TARGET)).toEqual([
      'business/odoo-backup is HELD by an unfinished restore (odoo-data may be partially restored): give the app back with  ' +
        "task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps KUBECONFIG='/k/kube config'",
      'business/erp-backup is paused by a running restore: back it up after the restore ends (if that run was killed:  ' +
        "task volsync:resume APP=erp NAMESPACE=business CLUSTER=apps KUBECONFIG='/k/kube config')",
    ])
  })

  it('names how waiting stopped for the sources that had not settled, and what really happened', () => {
    for (const [stop, word] of [['timeout', 'timed out'], ['interrupted', 'interrupted'], ['lost-contact', 'unknown']] as const) {
      expect(summaryRow(syncing(), REMOVED, stop, TARGET)).toMatchObject({
        result: word,
        ok: false,
        message: 'triggered, still syncing: VolSync completes the sync on its own',
      })
    }
    // VolSync never started it (its controller was down), and the trigger is gone again
    expect(summaryRow(notStarted(), REMOVED, 'timeout', TARGET).message).toBe(
      'triggered, but VolSync never started the sync; trigger removed, so none will run',
    )
    expect(summaryRow(notStarted(), { kind: 'put-back', manual: 'hold', synced: false }, 'timeout', TARGET).message).toBe(
      'triggered, but VolSync never started the sync; trigger put back ("hold")',
    )
    expect(summaryRow(notStarted(), { kind: 'pending', error: 'x' }, 'lost-contact', TARGET).message).toBe(
      'triggered, but VolSync had not started the sync; trigger NOT removed (see below)',
    )
    expect(summaryRow(busy(), { kind: 'untouched' }, 'timeout', TARGET).message).toBe('the sync that was running did not end: not triggered')
    expect(summaryRow(syncing(), { kind: 'pending', error: 'x' }, 'lost-contact', TARGET).message).toBe(
      'triggered, still syncing: VolSync completes the sync on its own; trigger NOT removed (see below)',
    )
    expect(summaryRow(failed(LOCKED), { kind: 'left', why: { kind: 'theirs', manual: 'x' } }, undefined, TARGET).message).toBe(
      'unable to create lock in backend: repository is already locked by PID 27 on volsync-src-odoo-backup-x2k8p; ' +
        'trigger left: spec.trigger.manual now holds "x", set by someone else: left as it is',
    )
    expect(summaryLine([summaryRow(syncing(), REMOVED, 'timeout', TARGET)])).toBe('0 backed up, 1 unfinished')
  })

  it('fits the table in 80 columns', () => {
    const rows = [
      summaryRow(succeeded('snapshot', SAVED, 'a-rather-long-application-name-backup'), REMOVED, undefined, TARGET),
      summaryRow(failed(LOCKED, 'plex-backup'), REMOVED, undefined, TARGET),
    ]
    const table = summaryTable(rows, 80, plain)
    for (const line of table.text.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
    expect(table.text.split('\n')[0]).toMatch(/^SOURCE +RESULT +(TOOK +)?SNAPSHOT +MESSAGE$/)
    expect(summaryTable(rows, 200, plain).hidden).toEqual([])
  })

  it('lists each failure with its error lines and, for a lock, the unlock command', () => {
    const text = failureList([succeeded('snapshot', SAVED), failed(LOCKED, 'plex-backup'), failed(BADPASS, 'wiki')], TARGET, plain)
    expect(text.split('\n')).toEqual([
      '! business/plex-backup: the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)',
      '    unable to create lock in backend: repository is already locked by PID 27 on volsync-src-odoo-backup-x2k8p',
      "    the repository is locked: task volsync:unlock APP=plex NAMESPACE=business CLUSTER=apps KUBECONFIG='/k/kube config'",
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
      `the mover log of business/odoo-backup names no new snapshot (no "snapshot <id> saved" line); check the repository with  task volsync:list APP=odoo CLUSTER=apps KUBECONFIG='/k/kube config'`,
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
      "The repository is locked: clear a stale lock with  task volsync:unlock APP=odoo CLUSTER=apps KUBECONFIG='/k/kube config'",
      "See the state of every source with  task volsync:status CLUSTER=apps KUBECONFIG='/k/kube config'",
    ])
  })

  it("names the run's cluster the way it was found: a context, and no KUBECONFIG when none was given", () => {
    const hints = { kubectl: { context: 'apps' }, task: { cluster: 'apps' }, app: 'odoo' }
    expect(snapshotReport(failed(LOCKED), hints).error?.details.split('\n').slice(-2)).toEqual([
      'The repository is locked: clear a stale lock with  task volsync:unlock APP=odoo CLUSTER=apps',
      'See the state of every source with  task volsync:status CLUSTER=apps',
    ])
    expect(snapshotReport(paused('odoo-backup'), hints).error?.details).toContain(
      `  kubectl --context apps patch replicationsources.volsync.backube odoo-backup -n business --type merge -p '{"spec":{"paused":false}}'`,
    )
  })

  it('refuses a source HELD by an unfinished restore with the resume command, never the unpause one', () => {
    const r = snapshotReport(heldBy(HELD), HINTS)
    expect(r.ok).toBe(false)
    expect(r.error?.message).toBe(
      'business/odoo-backup is HELD by an unfinished restore (spec.paused is true): no backup runs until the app is given back. Nothing was changed.',
    )
    expect(r.error?.details).toBe(
      [
        'the restore of snapshot 7c2d9e41 started 2026-11-26 04:00:00 UTC by ops@laptop (ReplicationDestination odoo-restore-20261126040000) stopped (the mover failed).',
        'odoo-data may be partially restored: do not unpause the source by hand (a backup now would save the PVC as',
        'that restore left it, and the app would stay stopped). Restore again, or give the app back as it is (this',
        'unpauses the source and puts back everything the restore changed), then back up:',
        "  task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps KUBECONFIG='/k/kube config'",
      ].join('\n'),
    )
    // unlock says the same: its sync cannot run either
    expect(unlockReport(heldBy(HELD, 'unlock'), HINTS).error).toEqual(r.error)
  })

  it('refuses a source paused by a running restore: back up after it ends, resume only if that run was killed', () => {
    const r = snapshotReport(heldBy(RUNNING), HINTS)
    expect(r.error?.message).toBe(
      'business/odoo-backup is paused by a running restore (spec.paused is true): no backup runs until it ends. Nothing was changed.',
    )
    expect(r.error?.details).toBe(
      'the restore of snapshot 7c2d9e41 started 2026-11-26 04:00:00 UTC by ops@laptop (ReplicationDestination ' +
        'odoo-restore-20261126040000): back up after it ends. If that run was killed, give the app back with:\n' +
        "  task volsync:resume APP=odoo NAMESPACE=business CLUSTER=apps KUBECONFIG='/k/kube config'",
    )
    expect(r.error?.details).not.toContain('paused":false')
  })

  it('a volsync-ops/restore annotation that is not a record of ours is a plain pause (the unpause command, if whoever paused it agrees)', () => {
    expect(snapshotReport(heldBy('not json'), HINTS).error).toEqual(snapshotReport(paused('odoo-backup'), HINTS).error)
  })

  it('refuses a paused source and says how to unpause it', () => {
    const r = snapshotReport(paused('odoo-backup'), HINTS)
    expect(r.error?.message).toBe('business/odoo-backup is paused (spec.paused is true): no sync can run until it is unpaused. Nothing was changed.')
    expect(r.error?.details).toBe(
      'Unpause it first (if whoever paused it agrees):\n' +
        `  kubectl --kubeconfig '/k/kube config' patch replicationsources.volsync.backube odoo-backup -n business --type merge -p '{"spec":{"paused":false}}'`,
    )
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

describe('stoppedDetails: what really happened when waiting stopped', () => {
  it('a running sync that did not end: nothing was triggered', () => {
    expect(stoppedDetails(busy(), { kind: 'untouched' }, HINTS).split('\n')[0]).toBe(
      'The sync that was already running did not end, so no snapshot was triggered.',
    )
  })

  it('our sync runs: VolSync completes it; the trigger is removed', () => {
    expect(stoppedDetails(syncing(), REMOVED, HINTS).split('\n')).toEqual([
      'Our sync (token tok) was running when waiting stopped; VolSync completes it on its own. Its trigger was removed: the schedule applies again.',
      "See the state of every source with  task volsync:status CLUSTER=apps KUBECONFIG='/k/kube config'",
    ])
  })

  it('VolSync never started it (the controller stopped): no sync ran, and none will', () => {
    expect(stoppedDetails(notStarted(), REMOVED, HINTS).split('\n')[0]).toBe(
      'VolSync had not started the sync for our trigger (token tok) when waiting stopped (is its controller running?). ' +
        'No sync ran for it, and none will: the trigger is gone again. Its trigger was removed: the schedule applies again.',
    )
    expect(stoppedDetails(notStarted(), { kind: 'put-back', manual: 'hold', synced: false }, HINTS).split('\n')[0]).toBe(
      'VolSync had not started the sync for our trigger (token tok) when waiting stopped (is its controller running?). ' +
        'No sync ran for it, and none will: the trigger is gone again. spec.trigger.manual is "hold" again, as found.',
    )
    expect(stoppedDetails(notStarted(), { kind: 'pending', error: 'x' }, HINTS).split('\n')[0]).toBe(
      'VolSync had not started the sync for our trigger (token tok) when waiting stopped (is its controller running?). ' +
        'Its trigger could not be cleaned up (see below).',
    )
  })

  it('a sync that started before our trigger was still running', () => {
    const foreign = afterTrigger(startRun('snapshot', rs()), 'tok', rs('odoo-backup', { manual: 'tok', running: 'x' }))
    expect(stoppedDetails(foreign, REMOVED, HINTS).split('\n')[0]).toBe(
      'A sync that started before our trigger (token tok) was still running when waiting stopped; ours had not started. ' +
        'Its trigger was removed: the schedule applies again.',
    )
  })

  it("shows VolSync's error and a Failed mover log", () => {
    const withError = observe(syncing(), { ...rs('odoo-backup', { manual: 'tok', running: 'x', rv: '5' }), status: {
      lastSyncStartTime: 'x', conditions: [{ type: 'Synchronizing', status: 'False', reason: 'Error', message: 'Secret "r2" not found' }],
    } }, T0)
    expect(stoppedDetails(withError, REMOVED, HINTS)).toContain(
      'VolSync reports an error: Secret "r2" not found (it keeps retrying; look at the ReplicationSource and what it names).',
    )
    const waiting = busy('odoo-backup', LOCKED)
    expect(stoppedDetails(waiting, { kind: 'untouched' }, HINTS)).toContain('The mover reports Failed (VolSync retries; a retry that fails with the same log looks the same). Its log:')
    expect(stoppedDetails(waiting, { kind: 'untouched' }, HINTS)).toContain('task volsync:unlock APP=odoo CLUSTER=apps')
  })
})

describe('failureReason: why a run failed, in words', () => {
  const JOB: JobTrack = { uid: 'j', name: 'volsync-src-odoo-backup', namespace: 'business', owner: 'o', firstFailed: 0, failed: 8, limit: 8 }
  const WHERE =
    "; its log could not be read here; VolSync records it in status.latestMoverStatus.logs: kubectl --kubeconfig '/k/kube config' get replicationsources.volsync.backube odoo-backup -n business -o 'jsonpath={.status.latestMoverStatus.logs}'"
  /** a snapshot run of odoo-backup that failed so, with `logs` and `triggers` */
  const as = (failure: Failure, logs = 'x', purpose: Purpose = 'snapshot', triggers = 1): [SyncRun, Extract<Phase, { kind: 'failed' }>] => {
    const phase = { kind: 'failed' as const, failure, logs, triggered: true }
    return [{ ...startRun(purpose, rs()), triggers, phase }, phase]
  }
  it.each([
    { failure: { kind: 'trigger-refused', error: 'forbidden' }, reason: 'could not set the manual trigger: forbidden' },
    { failure: { kind: 'deleted' }, reason: 'the ReplicationSource was deleted while waiting' },
    { failure: { kind: 'paused' }, reason: 'the ReplicationSource was paused (spec.paused) while waiting: no sync can finish' },
    {
      failure: { kind: 'running-failed' },
      reason: 'the sync that was already running failed (VolSync keeps retrying it); no snapshot was triggered',
    },
    {
      failure: { kind: 'running-gave-up', job: JOB },
      reason:
        'the sync that was already running failed again (its mover Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying it); no snapshot was triggered',
    },
    { failure: { kind: 'raced' }, triggers: 3, reason: 'a sync started just before each of our 3 triggers; giving up (try again later)' },
    { failure: { kind: 'completed-failed' }, reason: 'the sync finished but the mover reports Failed' },
    {
      failure: { kind: 'unlock-not-recorded', lastUnlocked: 'older' },
      reason: 'the sync finished without recording the unlock (status.restic.lastUnlocked is "older")',
    },
    { failure: { kind: 'trigger-removed' }, reason: 'someone else removed spec.trigger.manual while waiting: this sync will not report back' },
    { failure: { kind: 'trigger-changed', manual: 'theirs' }, reason: 'someone else changed spec.trigger.manual to "theirs" while waiting' },
    { failure: { kind: 'mover-failed' }, reason: 'the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)' },
    {
      failure: { kind: 'mover-gave-up', job: JOB },
      reason: 'the mover failed (Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying this sync with a new Job; stopped waiting)',
    },
    {
      failure: { kind: 'mover-gave-up', job: JOB },
      logs: '',
      reason:
        'the mover failed (Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying this sync with a new Job; stopped waiting)' + WHERE,
    },
    {
      failure: { kind: 'running-gave-up', job: JOB },
      logs: '',
      reason:
        'the sync that was already running failed again (its mover Job volsync-src-odoo-backup failed 8 of 8 attempts; VolSync keeps retrying it); no snapshot was triggered' +
        WHERE,
    },
    {
      failure: { kind: 'sync-error', message: 'PersistentVolumeClaim "odoo-data" not found', forMs: 120_000 },
      reason: 'VolSync reports an error for 2m: PersistentVolumeClaim "odoo-data" not found (VolSync keeps retrying this sync; stopped waiting)',
    },
    {
      failure: { kind: 'running-error', message: 'Secret "volsync-r2-secret" not found', forMs: 125_000 },
      reason:
        'the sync that was already running cannot go on: VolSync reports an error for 2m5s: Secret "volsync-r2-secret" not found ' +
        '(VolSync keeps retrying it); no snapshot was triggered',
    },
  ] as { failure: Failure; logs?: string; triggers?: number; reason: string }[])('$failure.kind (logs $logs): $reason', ({ failure, logs, triggers, reason }) => {
    const [run, phase] = as(failure, logs, 'snapshot', triggers)
    expect(failureReason(run, phase, TARGET)).toBe(reason)
  })

  it('names the kind of object a restore follows', () => {
    const run = observe(startRun('restore', rd()), rd(), T0, true)
    expect(run.phase.kind === 'failed' && failureReason(run, run.phase, TARGET)).toBe('the ReplicationDestination was deleted while waiting')
  })
})

describe('the clean-up of the trigger, in words', () => {
  const run = startRun('snapshot', rs())
  it.each([
    { why: { kind: 'gone' }, before: null, text: 'the ReplicationSource no longer exists' },
    { why: { kind: 'not-set' }, before: 'old', text: 'spec.trigger.manual is already gone (removed by someone else)' },
    { why: { kind: 'not-set' }, before: null, text: 'spec.trigger.manual is not set: ours was never set, or someone else removed it' },
    { why: { kind: 'still-before', manual: 'old' }, before: 'old', text: 'spec.trigger.manual still holds its value from before this run: ours was never set' },
    { why: { kind: 'theirs', manual: 'theirs' }, before: null, text: 'spec.trigger.manual now holds "theirs", set by someone else: left as it is' },
    {
      why: { kind: 'schedule-changed', from: '0 */8 * * *', to: '0 3 * * *' },
      before: null,
      text: 'the schedule changed ("0 */8 * * *" -> "0 3 * * *") during the run: remove spec.trigger.manual by hand once you are sure',
    },
    {
      why: { kind: 'schedule-changed', from: '0 */8 * * *', to: null },
      before: null,
      text: 'the schedule was removed during the run: without one, removing spec.trigger.manual would make VolSync sync continuously',
    },
    {
      why: { kind: 'synced-first', token: 'tok', manual: 'hold' },
      before: 'hold',
      text:
        'our sync finished before "hold" could be put back, and putting it back now would start another sync (VolSync syncs ' +
        'when spec.trigger.manual differs from status.lastManualSync): spec.trigger.manual stays "tok", which holds the ' +
        'source as parked as before',
    },
  ] as { why: LeftWhy; before: string | null; text: string }[])('left alone: $why.kind', ({ why, before, text }) => {
    expect(leftWords({ ...run, manualBefore: before }, why)).toBe(text)
  })

  it('names the step by what it does, and says what it did', () => {
    const parked = startRun('snapshot', rs('odoo-backup', { manual: 'hold' }))
    const continuous = startRun('snapshot', rs('odoo-backup', { schedule: false }))
    expect(cleanupWhat(run)).toBe('remove the manual trigger of business/odoo-backup (its schedule applies again)')
    expect(cleanupWhat(continuous)).toBe('remove the manual trigger of business/odoo-backup (it syncs continuously again)')
    expect(cleanupWhat(parked)).toBe('put back spec.trigger.manual "hold" of business/odoo-backup')
    expect(fateText(run, REMOVED)).toBe('removed; scheduled backups resume (0 */8 * * *)')
    expect(fateText(continuous, { kind: 'removed', schedule: null })).toBe(
      'removed; the source has no schedule: VolSync syncs it continuously again, as before',
    )
    expect(fateText(parked, { kind: 'put-back', manual: 'hold', synced: true })).toBe(
      'put back while our sync ran: its completion records "hold", so no further sync starts',
    )
    expect(fateText(parked, { kind: 'put-back', manual: 'hold', synced: false })).toBe(
      'put back; no sync of ours had started, so the source is as it was',
    )
    expect(fateText(run, { kind: 'left', why: { kind: 'gone' } })).toBe('left alone: the ReplicationSource no longer exists')
  })
})

describe('mover Jobs', () => {
  const LIVE_LOCK = [
    'repo already locked, waiting up to 0s for the lock',
    'unable to create lock in backend: repository is already locked exclusively by PID 4121 on nas-01 by backup (UID 1000, GID 1000)',
    'lock was created at 2026-11-26 03:50:02 (12m3.118s ago)',
  ].join('\n')
  const BADPASS_LOG = 'Testing mandatory env variables\nFatal: wrong password or no key found\nERROR: failure connecting to repository, incorrect password'
  const track = (failed: number): JobTrack => ({
    uid: 'b7e1c9a2-3f4d-4e5a-8b6c-7d8e9f0a1b2c', name: 'volsync-src-odoo-backup', namespace: 'business', owner: 'o', firstFailed: 0, failed, limit: 8,
  })

  it.each([
    { name: 'the ERROR / Fatal lines', log: BADPASS_LOG, lines: ['Fatal: wrong password or no key found', 'ERROR: failure connecting to repository, incorrect password'] },
    { name: 'a lock failure', log: LIVE_LOCK, lines: [LIVE_LOCK.split('\n')[1]] },
    { name: 'else the last three lines', log: 'a\nb\n\nc\nd\n', lines: ['b', 'c', 'd'] },
    { name: 'nothing', log: '', lines: [] },
  ])('logExcerpt: $name', ({ log, lines }) => {
    expect(logExcerpt(log)).toEqual(lines)
  })

  const head = 'business/odoo-backup: mover attempt 3 of 8 failed; VolSync retries it (it reports Failed after 8)'
  it.each([
    { name: 'with the end of its log', of: 'ours' as const, log: BADPASS_LOG, previous: undefined, text: `${head}. Its log ends:\n    Fatal: wrong password or no key found\n    ERROR: failure connecting to repository, incorrect password` },
    { name: 'a log that changed', of: 'ours' as const, log: LIVE_LOCK, previous: BADPASS_LOG, text: `${head}. Its log ends:\n    ${LIVE_LOCK.split('\n')[1]}` },
    { name: 'the same log as before, not again', of: 'ours' as const, log: BADPASS_LOG, previous: BADPASS_LOG, text: `${head}; same log as the attempt before` },
    { name: 'no log', of: 'ours' as const, log: '', previous: BADPASS_LOG, text: head },
    {
      name: 'the running sync’s mover',
      of: 'running' as const,
      log: '',
      previous: undefined,
      text: "business/odoo-backup: the running sync's mover attempt 3 of 8 failed; VolSync retries it (it reports Failed after 8)",
    },
  ])('attemptNote: $name', ({ of, log, previous, text }) => {
    expect(attemptNote('business/odoo-backup', track(3), of, log, previous)).toBe(text)
  })

  it('gaveUpWords names the Job and its attempts', () => {
    expect(gaveUpWords(track(8))).toBe('Job volsync-src-odoo-backup failed 8 of 8 attempts')
  })

  it('whereToLook gives a command that prints the log VolSync records', () => {
    expect(whereToLook({ resource: 'replicationsources.volsync.backube', name: 'odoo-backup', namespace: 'business' }, TARGET)).toBe(
      "its log could not be read here; VolSync records it in status.latestMoverStatus.logs: kubectl --kubeconfig '/k/kube config' get replicationsources.volsync.backube odoo-backup -n business -o 'jsonpath={.status.latestMoverStatus.logs}'",
    )
  })

  it.each([
    {
      stderr: 'Error from server (Forbidden): jobs.batch is forbidden: User "a" cannot list resource "jobs" in API group "batch" in the namespace "b"\n',
      why: 'Error from server (Forbidden): jobs.batch is forbidden: User "a" cannot list resource "jobs" in API group "batch" in the namespace "b"',
    },
    { stderr: '\n  error: first\nsecond', why: 'error: first' },
    { stderr: '', why: 'unknown error' },
  ])('jobsUnavailableNote is one line: $why', ({ stderr, why }) => {
    const note = jobsUnavailableNote(stderr)
    expect(note).toBe(
      `note: cannot watch VolSync's mover Jobs (${why}); waiting on the status alone, ` +
        'which shows a failing mover only once VolSync records a Failed that differs from the last one',
    )
    expect(note).not.toContain('\n')
  })
})

describe("a restore's sync", () => {
  const LOCKED_LOG = 'unable to create lock in backend: repository is already locked by PID 27'
  const JOB: JobTrack = { uid: 'j', name: 'volsync-dst-odoo-restore-20261126040000', namespace: 'business', owner: 'rd-uid', firstFailed: 0, failed: 8, limit: 8 }

  it('its progress line says what VolSync says', () => {
    expect(phaseText(startRun('restore', rd({ lastSyncStartTime: '2026-11-26T04:00:00Z' })), TARGET)).toBe('syncing since 2026-11-26T04:00:00Z')
    expect(syncProgress(rd({ conditions: [{ type: 'Synchronizing', status: 'False', reason: 'WaitingForManual', message: 'Waiting for manual trigger' }] }))).toBe(
      'WaitingForManual: Waiting for manual trigger',
    )
    expect(syncProgress(rd({}))).toBe('waiting for VolSync')
  })

  it('a failed mover: the error names the destination and puts the mover log under it', () => {
    const run = observe(startRun('restore', rd()), rd({ lastSyncStartTime: 'x', latestMoverStatus: { result: 'Failed', logs: LOCKED_LOG } }), T0)
    expect(run.phase.kind).toBe('failed')
    expect(run.phase.kind === 'failed' && restoreSyncError(run, run.phase, TARGET)).toEqual({
      message: 'the mover of business/odoo-restore-20261126040000 failed (VolSync keeps retrying it; stopped waiting). Its log:',
      details: LOCKED_LOG,
    })
  })

  it('a mover Job out of attempts: its log, or where VolSync keeps it', () => {
    const start = startRun('restore', rd())
    const withLog = moverGaveUp(start, JOB, 'Fatal: wrong password')
    const without = moverGaveUp(start, JOB, '')
    const head =
      'the mover of business/odoo-restore-20261126040000 failed (Job volsync-dst-odoo-restore-20261126040000 failed 8 of 8 attempts; VolSync keeps retrying it with a new Job; stopped waiting). '
    expect(withLog.phase.kind === 'failed' && restoreSyncError(withLog, withLog.phase, TARGET)).toEqual({
      message: `${head}Its log:`,
      details: 'Fatal: wrong password',
    })
    expect(without.phase.kind === 'failed' && restoreSyncError(without, without.phase, TARGET)).toEqual({
      message:
        `${head}its log could not be read here; VolSync records it in status.latestMoverStatus.logs: ` +
        "kubectl --kubeconfig '/k/kube config' get replicationdestinations.volsync.backube odoo-restore-20261126040000 -n business -o 'jsonpath={.status.latestMoverStatus.logs}'.",
      details: '',
    })
  })

  it('any other failure says what happened to the destination', () => {
    const run = triggerRefused(startRun('restore', rd()), 'x')
    const gone = observe(startRun('restore', rd()), rd(), T0, true)
    expect(gone.phase.kind === 'failed' && restoreSyncError(gone, gone.phase, TARGET)).toEqual({
      message: 'the restore of business/odoo-restore-20261126040000: the ReplicationDestination was deleted while waiting',
      details: '',
    })
    expect(run.phase.kind).toBe('failed')
  })

  it('says how long a sync took, or nothing', () => {
    expect(tookText({ durationMs: 73_000 })).toBe('took 1m13s')
    expect(tookText({ durationMs: null })).toBe('')
  })
})

/** The ReplicationDestination a restore created (its trigger set), with `status`. */
function rd(status: SyncStatus = {}): ReplicationDestination {
  return {
    metadata: { name: 'odoo-restore-20261126040000', namespace: 'business', uid: 'rd-uid', resourceVersion: '1' },
    spec: { trigger: { manual: 'restore-tok' } },
    status,
  }
}
