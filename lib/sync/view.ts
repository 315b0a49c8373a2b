// Everything the sync engine says: progress, notes, why a run failed, the
// mover Jobs' attempts, the reports of snapshot, snapshot-all and unlock, and
// the error of a restore's sync. Pure functions of the runs
// (lib/sync/engine.ts) and what became of their triggers; every command
// printed for the operator is built by lib/hints.ts for this run's cluster.
import { kubectlHint, taskHint, type HintTarget } from '../hints.ts'
import { formatAge, renderTable, type Cell, type Column, type Paint, type Table } from '../output.ts'
import { restoreMark, restoreMarkText, resumeCommand, type RestoreMark } from '../volsync/health.ts'
import { readMoverLogs } from '../volsync/mover-log.ts'
import { RD, syncCondition } from '../volsync/objects.ts'
import {
  removedLocks,
  type LeftWhy,
  type Phase,
  type Purpose,
  type Stop,
  type SyncOutcome,
  type SyncRun,
  type Syncable,
  type TriggerFate,
} from './engine.ts'
import type { JobTrack } from './jobs.ts'

/** This run's cluster (for printed commands) and, for the single-app commands, its APP. */
export interface Hints extends HintTarget {
  app?: string
}

type Failed = Extract<Phase, { kind: 'failed' }>
type Succeeded = Extract<Phase, { kind: 'succeeded' }>

const PAUSED = 'paused (spec.paused is true): no sync can run until it is unpaused'

const kindOf = (run: SyncRun) => (run.purpose === 'restore' ? 'ReplicationDestination' : 'ReplicationSource')

const lastErrorLine = (logs: string) => readMoverLogs(logs).errorSummary

// ---------------------------------------------------------------- --help

/** How snapshot and unlock leave spec.trigger.manual: a paragraph of their --help. */
export const TRIGGER_NOTES: readonly string[] = [
  'Afterwards (also on failure, timeout and Ctrl-C) spec.trigger.manual is left as it was found, by JSON',
  "patches whose test ops make each apply only to the state it was planned for (a value someone else set",
  'meanwhile is left alone; a refused patch is recognised by reading the source again):',
  '- schedule, no manual trigger: ours is removed; the schedule applies again.',
  '- neither schedule nor manual trigger (VolSync then syncs continuously, one sync after the other): ours is',
  '  removed, and continuous syncing resumes. Such a source is always syncing: it is triggered at once, and',
  '  the sync that was running is waited for before ours.',
  '- a manual trigger set on purpose (a parked source, or one without a schedule that is synced by hand): that',
  '  value is put back while our sync runs, so that the sync records it and no further sync starts. A value',
  '  this tool left beside a schedule (an earlier run that could not clean up) is removed instead.',
  'When the clean-up cannot finish, the kubectl command that finishes it is printed.',
]

/** How the waits of snapshot, snapshot-all, unlock and restore treat VolSync's errors: a paragraph of their --help. */
export const SYNC_ERROR_NOTES: readonly string[] = [
  "VolSync's errors: a sync that cannot go on (source PVC or repository Secret missing, destination PVC gone)",
  'shows in the condition Synchronizing with reason Error, and VolSync retries it for ever. Its message is',
  'printed as it appears; once VolSync has reported an error for ERROR_GRACE (default 2m) without a break, the',
  'wait stops with exit 1 and that message. A passing error (VolSync reports some for a moment) does not.',
]

// ---------------------------------------------------------------- why a run failed

/** Why a run failed, in words; a mover log that could not be read here is pointed at. */
export function failureReason(run: SyncRun, p: Failed, hints: HintTarget): string {
  const f = p.failure
  const where = p.logs ? '' : `; ${whereToLook(run, hints)}`
  switch (f.kind) {
    case 'trigger-refused':
      return `could not set the manual trigger: ${f.error}`
    case 'deleted':
      return `the ${kindOf(run)} was deleted while waiting`
    case 'paused':
      return `the ${kindOf(run)} was paused (spec.paused) while waiting: no sync can finish`
    case 'running-failed':
      return `the sync that was already running failed (VolSync keeps retrying it); no ${run.purpose} was triggered`
    case 'running-gave-up':
      return (
        `the sync that was already running failed again (its mover ${gaveUpWords(f.job)}; VolSync keeps retrying it); ` +
        `no ${run.purpose} was triggered${where}`
      )
    case 'raced':
      return `a sync started just before each of our ${run.triggers} triggers; giving up (try again later)`
    case 'completed-failed':
      return 'the sync finished but the mover reports Failed'
    case 'unlock-not-recorded':
      return `the sync finished without recording the unlock (status.restic.lastUnlocked is ${JSON.stringify(f.lastUnlocked)})`
    case 'trigger-removed':
      return 'someone else removed spec.trigger.manual while waiting: this sync will not report back'
    case 'trigger-changed':
      return `someone else changed spec.trigger.manual to ${JSON.stringify(f.manual)} while waiting`
    case 'mover-failed':
      return 'the mover failed (VolSync keeps retrying this sync until it succeeds; stopped waiting)'
    case 'mover-gave-up':
      return `the mover failed (${gaveUpWords(f.job)}; VolSync keeps retrying this sync with a new Job; stopped waiting)${where}`
    case 'running-error':
      return (
        `the sync that was already running cannot go on: VolSync reports an error for ${formatAge(f.forMs)}: ${f.message} ` +
        `(VolSync keeps retrying it); no ${run.purpose} was triggered`
      )
    case 'sync-error':
      return (
        `VolSync reports an error for ${formatAge(f.forMs)}: ${f.message} ` +
        `(VolSync keeps retrying this sync; stopped waiting)`
      )
  }
}

/** Why the clean-up left the manual trigger alone, in words (`run`: its value before, its schedule). */
export function leftWords(run: Pick<SyncRun, 'manualBefore' | 'resource'>, why: LeftWhy): string {
  switch (why.kind) {
    case 'gone':
      return `the ${run.resource === RD ? 'ReplicationDestination' : 'ReplicationSource'} no longer exists`
    case 'not-set':
      return run.manualBefore === null
        ? 'spec.trigger.manual is not set: ours was never set, or someone else removed it'
        : 'spec.trigger.manual is already gone (removed by someone else)'
    case 'still-before':
      return 'spec.trigger.manual still holds its value from before this run: ours was never set'
    case 'theirs':
      return `spec.trigger.manual now holds ${JSON.stringify(why.manual)}, set by someone else: left as it is`
    case 'schedule-changed':
      return why.to
        ? `the schedule changed (${JSON.stringify(why.from)} -> ${JSON.stringify(why.to)}) during the run: remove spec.trigger.manual by hand once you are sure`
        : 'the schedule was removed during the run: without one, removing spec.trigger.manual would make VolSync sync continuously'
    case 'synced-first':
      return (
        `our sync finished before ${JSON.stringify(why.manual)} could be put back, and putting it back now would start another ` +
        `sync (VolSync syncs when spec.trigger.manual differs from status.lastManualSync): spec.trigger.manual stays ` +
        `${JSON.stringify(why.token)}, which holds the source as parked as before`
      )
  }
}

// ---------------------------------------------------------------- mover Jobs

/** The lines worth showing from a mover log: its ERROR/Fatal lines, else its last three. */
export function logExcerpt(log: string): string[] {
  const errors = readMoverLogs(log).errorLines
  if (errors.length) return errors
  return log
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-3)
}

/**
 * "business/odoo-backup: mover attempt 3 of 8 failed; VolSync retries it
 * (it reports Failed after 8)", then the end of its log (unless it is the
 * same as the attempt before, or could not be read).
 */
export function attemptNote(subject: string, job: JobTrack, of: 'running' | 'ours', log: string, previous?: string): string {
  const whose = of === 'running' ? "the running sync's mover" : 'mover'
  const head = `${subject}: ${whose} attempt ${job.failed} of ${job.limit} failed; VolSync retries it (it reports Failed after ${job.limit})`
  if (!log) return head
  if (log === previous) return `${head}; same log as the attempt before`
  return [`${head}. Its log ends:`, ...logExcerpt(log).map((l) => `    ${l}`)].join('\n')
}

/** "Job volsync-src-x failed 8 of 8 attempts" */
export function gaveUpWords(job: JobTrack): string {
  return `Job ${job.name} failed ${job.failed} of ${job.limit} attempts`
}

/** Where the log of a failed mover is, when it could not be read here. */
export function whereToLook(run: Pick<SyncRun, 'resource' | 'name' | 'namespace'>, hints: HintTarget): string {
  const get = ['get', run.resource, run.name, '-n', run.namespace, '-o', 'jsonpath={.status.latestMoverStatus.logs}']
  return `its log could not be read here; VolSync records it in status.latestMoverStatus.logs: ${kubectlHint(hints.kubectl, get)}`
}

/** The one line said when the jobs watch cannot be used: the wait goes on without it. */
export function jobsUnavailableNote(error: string): string {
  const why = error.split('\n').map((l) => l.trim()).find(Boolean) ?? 'unknown error'
  return (
    `note: cannot watch VolSync's mover Jobs (${why}); waiting on the status alone, ` +
    'which shows a failing mover only once VolSync records a Failed that differs from the last one'
  )
}

// ---------------------------------------------------------------- progress

/** "its mover failed before (...): <error>" when the remembered failure is still the current one. */
function staleFailure(run: SyncRun): string {
  const mover = run.seen.status?.latestMoverStatus
  if (mover?.result !== 'Failed') return ''
  const why = lastErrorLine(mover.logs ?? '')
  return `; its mover failed before and VolSync is retrying${why ? ` (${why})` : ''}`
}

/** What the sync state of an object looks like, in a few words (a restore's progress line). */
export function syncProgress(o: Syncable): string {
  const cond = syncCondition(o)
  if (o.status?.lastSyncStartTime) return `syncing since ${o.status.lastSyncStartTime}`
  return cond?.reason ? `${cond.reason}${cond.message ? `: ${cond.message}` : ''}` : 'waiting for VolSync'
}

/** One run's state in a few words. */
export function phaseText(run: SyncRun, hints: HintTarget): string {
  const p = run.phase
  switch (p.kind) {
    case 'skipped':
      return `skipped: ${PAUSED}`
    case 'busy':
      // no age here: a progress line keeps its text until the next event
      if (run.error) return `waiting for the running sync to end; VolSync reports an error: ${run.error.message}`
      return `waiting for the running sync to end${staleFailure(run)}`
    case 'ready':
      return 'triggering'
    case 'syncing': {
      if (run.error) return `VolSync reports an error (it retries): ${run.error.message}`
      if (run.purpose === 'restore') return syncProgress(run.seen)
      if (p.foreign) return 'a sync that started just before our trigger is running; ours follows'
      const running = Boolean(run.seen.status?.lastSyncStartTime)
      const cond = syncCondition(run.seen)
      const state = running ? 'syncing' : cond?.reason === 'CleaningUp' ? 'cleaning up' : 'waiting for VolSync to start the sync'
      return state + staleFailure(run)
    }
    case 'succeeded':
      return 'done'
    case 'failed':
      return `FAILED: ${failureReason(run, p, hints)}`
  }
}

/** The progress line: one run's state, or counts over many. */
export function progressLine(runs: readonly SyncRun[], hints: HintTarget): string {
  if (runs.length === 1) return phaseText(runs[0]!, hints)
  const count = (kinds: Phase['kind'][]) => runs.filter((r) => kinds.includes(r.phase.kind)).length
  const finished = count(['succeeded', 'failed'])
  const failed = count(['failed'])
  const parts = [`${finished}/${count(['succeeded', 'failed', 'busy', 'ready', 'syncing'])} finished${failed ? ` (${failed} failed)` : ''}`]
  const syncing = count(['syncing', 'ready'])
  const busy = count(['busy'])
  if (syncing) parts.push(`${syncing} syncing`)
  if (busy) parts.push(`${busy} waiting for a running sync to end`)
  return parts.join(', ')
}

/** "triggered 3 of 4 ReplicationSources; waiting for them (TIMEOUT 1h)" */
export function triggeredManyNote(runs: readonly SyncRun[], timeoutMs: number): string {
  const triggered = runs.filter((r) => r.triggers > 0).length
  return `triggered ${triggered} of ${runs.length} ReplicationSources; waiting for them (TIMEOUT ${timeoutText(timeoutMs)})`
}

function timeoutText(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`
}

// ---------------------------------------------------------------- notes

/** Said when a run starts: why it waits first, or what it replaces. Empty when nothing to say. */
export function startNotes(run: SyncRun, now: Date): string[] {
  const notes: string[] = []
  const p = run.phase
  if (p.kind === 'busy') {
    notes.push(
      `a sync of ${run.ref} is already running (started ${formatAge(now.getTime() - Date.parse(p.since))} ago): ` +
        `waiting for it to end before triggering, so that its completion is not taken for ours` +
        staleFailure(run),
    )
  }
  if (run.purpose === 'unlock' && p.kind === 'ready' && run.seen.status?.lastSyncStartTime) {
    notes.push(
      `a sync of ${run.ref} is running and its mover has failed: the unlock joins it ` +
        `(VolSync restarts its mover with \`restic unlock\` first)`,
    )
  }
  if (p.kind === 'skipped') return notes
  const a = run.afterwards
  if (a.kind === 'remove' && run.manualBefore) {
    notes.push(
      `${run.ref} had a manual trigger of an earlier run of this tool left set (${JSON.stringify(run.manualBefore)}), so its ` +
        `schedule was being ignored; this run replaces it and removes it afterwards`,
    )
  } else if (a.kind === 'remove' && a.schedule === null) {
    notes.push(
      `${run.ref} has neither a schedule nor a manual trigger: VolSync syncs it continuously. This run sets a manual ` +
        `trigger (which holds that) and removes it afterwards, so continuous syncing resumes`,
    )
  } else if (a.kind === 'put-back') {
    notes.push(
      `${run.ref} has a manual trigger set (${JSON.stringify(a.manual)})${run.schedule ? ', so its schedule is ignored' : ''}: ` +
        `this run puts it back while its own sync runs, so that the sync records it and no further sync starts`,
    )
  }
  return notes
}

export function triggeredNote(run: SyncRun, token: string): string {
  const what = run.purpose === 'unlock' ? `spec.restic.unlock and spec.trigger.manual` : 'spec.trigger.manual'
  return `triggered ${run.ref}: ${what} = ${token}`
}

/** Said when a run moves from `before` to `after` during the wait (empty: nothing worth saying). */
export function transitionNote(before: SyncRun, after: SyncRun, many: boolean, hints: HintTarget): string {
  const a = after.phase
  const b = before.phase
  if (b.kind === 'busy' && a.kind === 'ready') {
    return `the sync that was running on ${after.ref} ended; triggering ${after.purpose === 'unlock' ? 'the unlock' : 'ours'} now`
  }
  if (b.kind === 'syncing' && b.foreign && a.kind === 'ready') {
    return `the sync of ${after.ref} that started before our trigger ended; triggering again for a backup of now`
  }
  if (!many) return ''
  if (a.kind === 'succeeded' && b.kind !== 'succeeded') return `${after.ref}: ${outcomeWords(after.purpose, a)}`
  if (a.kind === 'failed' && b.kind !== 'failed') return `${after.ref}: FAILED: ${failureWords(after, a, hints)}`
  return ''
}

export function foreignNote(run: SyncRun): string {
  const since = run.seen.status?.lastSyncStartTime
  return (
    `a sync of ${run.ref} started just before our trigger${since ? ` (at ${since})` : ''}: its completion will carry ` +
    `our token but not data from after the trigger, so it is triggered again once that sync ends`
  )
}

/** Said when VolSync's error appears, changes or goes while waiting (empty: nothing new). */
export function errorNote(before: SyncRun, after: SyncRun): string {
  const b = before.error
  const a = after.error
  if (a && a.message !== b?.message) {
    return (
      `${after.ref}: VolSync reports ${b ? 'another' : 'an'} error: ${a.message} ` +
      `(it retries; waiting stops if the error lasts ${formatAge(after.errorGraceMs)})`
    )
  }
  if (b && !a && (after.phase.kind === 'busy' || after.phase.kind === 'syncing' || after.phase.kind === 'ready')) {
    return `${after.ref}: VolSync no longer reports an error`
  }
  return ''
}

/** Said when the value found in spec.trigger.manual was put back while our sync runs. */
export function putBackNote(run: SyncRun, manual: string): string {
  return `${run.ref}: spec.trigger.manual is ${JSON.stringify(manual)} again (put back while our sync runs: its completion records it)`
}

/** Said when putting the value back during the wait did not apply. */
export function putBackRefusedNote(run: SyncRun, manual: string, error: string): string {
  return `${run.ref}: could not put ${JSON.stringify(manual)} back into spec.trigger.manual yet (${error}); tried again when waiting ends`
}

/** What the clean-up step of a run's trigger is called ("clean-up: <what>: removed"). */
export function cleanupWhat(run: SyncRun): string {
  const a = run.afterwards
  if (a.kind === 'put-back') return `put back spec.trigger.manual ${JSON.stringify(a.manual)} of ${run.ref}`
  if (a.kind === 'remove' && a.schedule === null) return `remove the manual trigger of ${run.ref} (it syncs continuously again)`
  return `remove the manual trigger of ${run.ref} (its schedule applies again)`
}

/** What the clean-up did to the trigger, after "clean-up: <what>: ". */
export function fateText(run: SyncRun, fate: TriggerFate): string {
  switch (fate.kind) {
    case 'removed':
      return fate.schedule
        ? `removed; scheduled backups resume (${fate.schedule})`
        : 'removed; the source has no schedule: VolSync syncs it continuously again, as before'
    case 'put-back':
      return fate.synced
        ? `put back while our sync ran: its completion records ${JSON.stringify(fate.manual)}, so no further sync starts`
        : `put back; no sync of ours had started, so the source is as it was`
    case 'left':
      return `left alone: ${leftWords(run, fate.why)}`
    case 'pending':
      return `failed (${fate.error})`
    case 'untouched':
      return 'nothing to do'
  }
}

// ---------------------------------------------------------------- outcomes

function outcomeWords(purpose: Purpose, p: Succeeded): string {
  const facts = p.outcome.facts
  const took = p.outcome.durationMs === null ? '' : ` in ${formatAge(p.outcome.durationMs)}`
  const backup = facts.savedSnapshot
    ? `snapshot ${facts.savedSnapshot} saved`
    : facts.emptySource
      ? 'source directory empty: no snapshot taken'
      : 'no snapshot id in the mover log'
  if (purpose === 'unlock') {
    const n = removedLocks(p.outcome.logs)
    return `unlocked${took} (${n ? `${n} stale lock(s) removed` : 'no stale lock found'}); ${backup}`
  }
  return `done${took}: ${backup}`
}

function failureWords(run: SyncRun, p: Failed, hints: HintTarget): string {
  const why = lastErrorLine(p.logs)
  const reason = failureReason(run, p, hints)
  return why ? `${reason}: ${why}` : reason
}

/** Whether a sync of ours was running when waiting stopped (not one that started before our trigger). */
const ourSyncRunning = (run: SyncRun) =>
  run.phase.kind === 'syncing' && !run.phase.foreign && Boolean(run.seen.status?.lastSyncStartTime)

/**
 * What the stop left behind, for one unsettled run, as far as the object and
 * the clean-up of its trigger show it: a sync that never started and whose
 * trigger is gone again will not run; one that runs is completed by VolSync.
 */
function unsettledWords(run: SyncRun, fate: TriggerFate): string {
  const p = run.phase
  switch (p.kind) {
    case 'busy':
      return 'the sync that was running did not end: not triggered'
    case 'ready':
      return 'not triggered'
    case 'syncing': {
      const triggerGone = fate.kind === 'removed' || fate.kind === 'put-back'
      if (ourSyncRunning(run)) return 'triggered, still syncing: VolSync completes the sync on its own'
      if (p.foreign) {
        return triggerGone
          ? 'a sync that started before our trigger was running; ours never started and will not run'
          : 'a sync that started before our trigger was running; ours had not started'
      }
      if (fate.kind === 'removed') return 'triggered, but VolSync never started the sync; trigger removed, so none will run'
      return triggerGone ? 'triggered, but VolSync never started the sync' : 'triggered, but VolSync had not started the sync'
    }
    default:
      return ''
  }
}

const STOP_WORD: Record<Stop, string> = { timeout: 'timed out', interrupted: 'interrupted', 'lost-contact': 'unknown' }

export interface SummaryRow {
  namespace: string
  name: string
  /** ok, empty, FAILED, skipped, timed out, interrupted, unknown */
  result: string
  durationSeconds: number | null
  snapshot: string | null
  emptySource: boolean
  message: string
  /** counts as success for the exit code */
  ok: boolean
  trigger: TriggerFate['kind']
}

function fateWords(run: SyncRun, fate: TriggerFate): string {
  switch (fate.kind) {
    case 'put-back':
      return `trigger put back (${JSON.stringify(fate.manual)})`
    case 'left':
      return `trigger left: ${leftWords(run, fate.why)}`
    case 'pending':
      return run.afterwards.kind === 'put-back' ? 'trigger NOT put back (see below)' : 'trigger NOT removed (see below)'
    default:
      return ''
  }
}

export function summaryRow(run: SyncRun, fate: TriggerFate, stop: Stop | undefined, hints: HintTarget): SummaryRow {
  const p = run.phase
  const base = { namespace: run.namespace, name: run.name, trigger: fate.kind }
  const withFate = (message: string) => [message, fateWords(run, fate)].filter(Boolean).join('; ')
  switch (p.kind) {
    case 'succeeded': {
      const facts = p.outcome.facts
      return {
        ...base,
        result: facts.savedSnapshot || !facts.emptySource ? 'ok' : 'empty',
        durationSeconds: p.outcome.durationMs === null ? null : Math.round(p.outcome.durationMs / 1000),
        snapshot: facts.savedSnapshot ?? null,
        emptySource: facts.emptySource,
        message: withFate(
          facts.savedSnapshot ? '' : facts.emptySource ? 'empty source: no snapshot taken' : 'no snapshot id in the mover log',
        ),
        ok: true,
      }
    }
    case 'failed':
      // the table gets the mover's own error line (the part worth reading when
      // cut to fit); failureList() prints the whole story under the table
      return {
        ...base,
        result: 'FAILED',
        durationSeconds: null,
        snapshot: null,
        emptySource: false,
        message: withFate(lastErrorLine(p.logs) ?? failureReason(run, p, hints)),
        ok: false,
      }
    case 'skipped': {
      const mark = pausingRestore(run)
      return {
        ...base,
        result: 'skipped',
        durationSeconds: null,
        snapshot: null,
        emptySource: false,
        message: !mark
          ? 'paused: not backed up'
          : mark.state === 'held'
            ? 'HELD by an unfinished restore: not backed up'
            : 'paused by a running restore: not backed up',
        ok: true,
      }
    }
    default:
      return {
        ...base,
        result: STOP_WORD[stop ?? 'lost-contact'],
        durationSeconds: null,
        snapshot: null,
        emptySource: false,
        message: withFate(unsettledWords(run, fate)),
        ok: false,
      }
  }
}

export function summaryTable(rows: readonly SummaryRow[], width: number, paint: Paint): Table {
  const columns: Column[] = [
    { header: 'SOURCE', min: 12 },
    { header: 'RESULT' },
    { header: 'TOOK', align: 'right', drop: 1 },
    { header: 'SNAPSHOT' },
    { header: 'MESSAGE', min: 12 },
  ]
  const cells: Cell[][] = rows.map((r) => [
    `${r.namespace}/${r.name}`,
    r.ok ? (r.result === 'ok' ? { text: r.result, tone: 'green' } : { text: r.result, tone: 'yellow' }) : { text: r.result, tone: 'red' },
    r.durationSeconds === null ? '-' : formatAge(r.durationSeconds * 1000),
    r.snapshot?.slice(0, 8) ?? '-',
    r.message || '-',
  ])
  return renderTable(columns, cells, width, paint)
}

/** The sources that failed, each with its reason, the mover's error lines and what to run next. */
export function failureList(runs: readonly SyncRun[], hints: HintTarget, paint: Paint): string {
  const lines: string[] = []
  for (const run of runs) {
    const p = run.phase
    if (p.kind !== 'failed') continue
    lines.push(paint.yellow(`! ${run.ref}: ${failureReason(run, p, hints)}`))
    const facts = readMoverLogs(p.logs)
    for (const l of facts.errorLines) lines.push(`    ${l}`)
    if (facts.lockError) {
      const app = run.name.endsWith('-backup') ? run.name.slice(0, -'-backup'.length) : undefined
      lines.push(`    the repository is locked: ${taskHint('unlock', { APP: app, NAMESPACE: run.namespace }, hints.task)}`)
    }
  }
  return lines.join('\n')
}

/** "3 backed up, 1 failed, 1 skipped (paused)" */
export function summaryLine(rows: readonly SummaryRow[]): string {
  const n = (pred: (r: SummaryRow) => boolean) => rows.filter(pred).length
  const parts = [`${n((r) => r.result === 'ok')} backed up`]
  const empty = n((r) => r.result === 'empty')
  if (empty) parts.push(`${empty} empty (no snapshot)`)
  const failed = n((r) => r.result === 'FAILED')
  if (failed) parts.push(`${failed} failed`)
  const unfinished = n((r) => !r.ok && r.result !== 'FAILED')
  if (unfinished) parts.push(`${unfinished} unfinished`)
  const skipped = n((r) => r.result === 'skipped')
  if (skipped) parts.push(`${skipped} skipped`)
  return parts.join(', ')
}

// ---------------------------------------------------------------- single source

export interface Report {
  ok: boolean
  /** result lines (stdout) */
  lines: string[]
  /** warnings (stderr) */
  warnings: string[]
  /** on failure: the error message and the lines under it */
  error?: { message: string; details: string }
}

function followUps(hints: Hints, logs: string): string[] {
  const lines: string[] = []
  if (readMoverLogs(logs).lockError) {
    lines.push(`The repository is locked: clear a stale lock with  ${taskHint('unlock', { APP: hints.app }, hints.task)}`)
  }
  lines.push(`See the state of every source with  ${taskHint('status', {}, hints.task)}`)
  return lines
}

function failureReport(run: SyncRun, p: Failed, hints: Hints): Report {
  const what = run.purpose === 'unlock' ? 'unlock' : 'backup'
  const details = [
    ...(p.logs ? ['The mover log:', ...p.logs.split('\n').map((l) => `  ${l}`)] : []),
    ...(p.triggered && run.purpose === 'snapshot' && p.logs ? ['VolSync keeps retrying this sync until it succeeds.'] : []),
    ...followUps(hints, p.logs),
  ].join('\n')
  return {
    ok: false,
    lines: [],
    warnings: [],
    error: { message: `${what} of ${run.ref}: ${failureReason(run, p, hints)}`, details },
  }
}

/**
 * The restore of this tool that paused a source (its record, lib/restore/marker.ts),
 * when one did: such a pause must not be lifted by hand.
 */
function pausingRestore(run: SyncRun): RestoreMark | undefined {
  const mark = run.purpose === 'restore' ? undefined : restoreMark(run.seen)
  return mark === 'unreadable' ? undefined : mark
}

function pausedReport(run: SyncRun, hints: Hints): Report {
  const mark = pausingRestore(run)
  if (mark) {
    // unpausing by hand would back up the PVC as the restore has it, and leave the app stopped
    const resume = resumeCommand(run.seen, hints.task)
    const error =
      mark.state === 'held'
        ? {
            message: `${run.ref} is HELD by an unfinished restore (spec.paused is true): no backup runs until the app is given back. Nothing was changed.`,
            details: [
              `${restoreMarkText(mark)} stopped${mark.reason ? ` (${mark.reason})` : ''}.`,
              `${mark.pvc} may be partially restored: do not unpause the source by hand (a backup now would save the PVC as`,
              'that restore left it, and the app would stay stopped). Restore again, or give the app back as it is (this',
              'unpauses the source and puts back everything the restore changed), then back up:',
              `  ${resume}`,
            ].join('\n'),
          }
        : {
            message: `${run.ref} is paused by a running restore (spec.paused is true): no backup runs until it ends. Nothing was changed.`,
            details: [
              `${restoreMarkText(mark)}: back up after it ends. If that run was killed, give the app back with:`,
              `  ${resume}`,
            ].join('\n'),
          }
    return { ok: false, lines: [], warnings: [], error }
  }
  const unpause = kubectlHint(hints.kubectl, [
    'patch', run.resource, run.name, '-n', run.namespace, '--type', 'merge', '-p', '{"spec":{"paused":false}}',
  ])
  return {
    ok: false,
    lines: [],
    warnings: [],
    error: {
      message: `${run.ref} is ${PAUSED}. Nothing was changed.`,
      details: `Unpause it first (if whoever paused it agrees):\n  ${unpause}`,
    },
  }
}

/**
 * snapshot-all's warnings for the sources it skipped because a restore of this
 * tool paused them: what holds each, and the command that gives the app back.
 */
export function restoreHoldWarnings(runs: readonly SyncRun[], hints: HintTarget): string[] {
  return runs.flatMap((run) => {
    const mark = run.phase.kind === 'skipped' ? pausingRestore(run) : undefined
    if (!mark) return []
    const resume = resumeCommand(run.seen, hints.task)
    return mark.state === 'held'
      ? [`${run.ref} is HELD by an unfinished restore (${mark.pvc} may be partially restored): give the app back with  ${resume}`]
      : [`${run.ref} is paused by a running restore: back it up after the restore ends (if that run was killed:  ${resume})`]
  })
}

/** What `snapshot` says about its one source. */
export function snapshotReport(run: SyncRun, hints: Hints): Report {
  const p = run.phase
  if (p.kind === 'failed') return failureReport(run, p, hints)
  if (p.kind === 'skipped') return pausedReport(run, hints)
  if (p.kind !== 'succeeded') return { ok: false, lines: [], warnings: [] }
  const { facts, durationMs, result } = p.outcome
  const took = durationMs === null ? '' : `, took ${formatAge(durationMs)}`
  const lines = [`Backup of ${run.ref} finished: ${result ?? 'no result'}${took}.`]
  const warnings: string[] = []
  if (facts.savedSnapshot) {
    lines.push(`New restic snapshot: ${facts.savedSnapshot}`)
  } else if (facts.emptySource) {
    warnings.push(
      `the source directory of ${run.ref} was empty: VolSync skipped the backup, so NO new snapshot was taken`,
    )
  } else {
    warnings.push(
      `the mover log of ${run.ref} names no new snapshot (no "snapshot <id> saved" line); ` +
        `check the repository with  ${taskHint('list', { APP: hints.app }, hints.task)}`,
    )
  }
  return { ok: true, lines, warnings }
}

/** What `unlock` says about its one source. */
export function unlockReport(run: SyncRun, hints: Hints): Report {
  const p = run.phase
  if (p.kind === 'failed') {
    const r = failureReport(run, p, hints)
    const locked = readMoverLogs(p.logs).lockError
    if (r.error && locked) {
      r.error.details +=
        '\nThe repository is still locked: `restic unlock` removes stale locks only; a lock held by a live ' +
        'process (a running backup, prune or check, perhaps from another cluster) stays until that process ends.'
    }
    return r
  }
  if (p.kind === 'skipped') return pausedReport(run, hints)
  if (p.kind !== 'succeeded') return { ok: false, lines: [], warnings: [] }
  const { facts, durationMs, logs } = p.outcome
  const n = removedLocks(logs)
  const took = durationMs === null ? '' : ` in ${formatAge(durationMs)}`
  const lines = [
    `Unlocked ${run.ref}: the sync that ran \`restic unlock\` finished${took} (status.restic.lastUnlocked = ${p.token}).`,
    n ? `restic removed ${n} stale lock(s).` : 'restic found no stale lock to remove.',
  ]
  if (facts.savedSnapshot) lines.push(`The backup that followed saved snapshot ${facts.savedSnapshot}.`)
  else if (facts.emptySource) lines.push('The backup that followed was skipped: the source directory is empty.')
  return { ok: true, lines, warnings: [] }
}

/**
 * The details under the error of a wait that stopped (timeout, lost contact)
 * before the source settled: what really happened to the sync and to the
 * trigger, as the last state seen and the clean-up show it.
 */
export function stoppedDetails(run: SyncRun, fate: TriggerFate, hints: Hints): string {
  const p = run.phase
  const lines: string[] = []
  if (p.kind === 'busy') lines.push(`The sync that was already running did not end, so no ${run.purpose} was triggered.`)
  if (p.kind === 'syncing') lines.push(syncingWhenStopped(run, p.token, fate))
  if (run.error) {
    lines.push(
      `VolSync reports an error: ${run.error.message} ` +
        `(it keeps retrying; look at the ${run.resource === RD ? 'ReplicationDestination' : 'ReplicationSource'} and what it names).`,
    )
  }
  const mover = run.seen.status?.latestMoverStatus
  if (mover?.result === 'Failed') {
    lines.push(
      'The mover reports Failed (VolSync retries; a retry that fails with the same log looks the same). Its log:',
      ...(mover.logs ?? '').split('\n').map((l) => `  ${l}`),
    )
  }
  lines.push(...followUps(hints, mover?.logs ?? ''))
  return lines.join('\n')
}

function syncingWhenStopped(run: SyncRun, token: string, fate: TriggerFate): string {
  const p = run.phase
  const foreign = p.kind === 'syncing' && p.foreign
  const after =
    fate.kind === 'removed'
      ? fate.schedule
        ? ' Its trigger was removed: the schedule applies again.'
        : ' Its trigger was removed: VolSync syncs the source continuously again.'
      : fate.kind === 'put-back'
        ? ` spec.trigger.manual is ${JSON.stringify(fate.manual)} again, as found.`
        : fate.kind === 'pending'
          ? ' Its trigger could not be cleaned up (see below).'
          : fate.kind === 'left'
            ? ` Its trigger was left alone: ${leftWords(run, fate.why)}.`
            : ''
  if (ourSyncRunning(run)) {
    return `Our sync (token ${token}) was running when waiting stopped; VolSync completes it on its own.${after}`
  }
  if (foreign) {
    return (
      `A sync that started before our trigger (token ${token}) was still running when waiting stopped; ours had not started.` +
      after
    )
  }
  const never =
    fate.kind === 'removed' || fate.kind === 'put-back' ? ' No sync ran for it, and none will: the trigger is gone again.' : ''
  return (
    `VolSync had not started the sync for our trigger (token ${token}) when waiting stopped (is its controller running?).` +
    never +
    after
  )
}

// ---------------------------------------------------------------- a restore's sync

/** The error a restore ends with when the sync of its ReplicationDestination failed. */
export function restoreSyncError(run: SyncRun, p: Failed, hints: HintTarget): { message: string; details: string } {
  const f = p.failure
  if (f.kind === 'mover-failed') {
    return { message: `the mover of ${run.ref} failed (VolSync keeps retrying it; stopped waiting). Its log:`, details: p.logs || '(no log)' }
  }
  if (f.kind === 'mover-gave-up') {
    return {
      message:
        `the mover of ${run.ref} failed (${gaveUpWords(f.job)}; VolSync keeps retrying it with a new Job; stopped waiting). ` +
        (p.logs ? 'Its log:' : `${whereToLook(run, hints)}.`),
      details: p.logs,
    }
  }
  return { message: `the restore of ${run.ref}: ${failureReason(run, p, hints)}`, details: p.logs }
}

/** "took 1m3s" from a sync outcome. */
export function tookText(outcome: Pick<SyncOutcome, 'durationMs'>): string {
  return outcome.durationMs === null ? '' : `took ${formatAge(outcome.durationMs)}`
}
