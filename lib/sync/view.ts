// What snapshot, snapshot-all and unlock print, as pure functions of the
// per-source runs (lib/sync/machine.ts) and what became of their triggers.
import { formatAge, renderTable, type Cell, type Column, type Paint, type Table } from '../output.ts'
import { readMoverLogs } from '../volsync/mover-log.ts'
import { syncCondition } from '../volsync/objects.ts'
import { removedLocks, type Phase, type Purpose, type SourceRun } from './machine.ts'

/** What became of a run's manual trigger afterwards. */
export type TriggerFate =
  /** never set */
  | { kind: 'untouched' }
  /** removed: the schedule applies again */
  | { kind: 'removed' }
  /** kept on purpose: the source has no schedule */
  | { kind: 'kept'; token: string }
  /** not removed: someone else changed it (reason says what) */
  | { kind: 'left'; reason: string }
  /** the removal failed; it is retried at exit, else the manual command is printed */
  | { kind: 'pending'; error: string }

/** How waiting ended when not every source settled. */
export type Stop = 'timeout' | 'interrupted' | 'lost-contact'

export interface Hints {
  cluster: string
  /** the APP of the single-source commands (for follow-up commands) */
  app?: string
}

// ---------------------------------------------------------------- progress

const lastErrorLine = (logs: string) => readMoverLogs(logs).errorSummary

/** "its mover failed before (...): <error>" when the remembered failure is still the current one. */
function staleFailure(run: SourceRun): string {
  const mover = run.seen.status?.latestMoverStatus
  if (mover?.result !== 'Failed') return ''
  const why = lastErrorLine(mover.logs ?? '')
  return `; its mover failed before and VolSync is retrying${why ? ` (${why})` : ''}`
}

/** One source's state in a few words. */
export function phaseText(run: SourceRun): string {
  const p = run.phase
  switch (p.kind) {
    case 'skipped':
      return `skipped: ${p.reason}`
    case 'busy':
      // no age here: a progress line keeps its text until the next event
      return `waiting for the running sync to end${staleFailure(run)}`
    case 'ready':
      return 'triggering'
    case 'syncing': {
      if (p.foreign) return 'a sync that started just before our trigger is running; ours follows'
      const running = Boolean(run.seen.status?.lastSyncStartTime)
      const cond = syncCondition(run.seen)
      const state = running ? 'syncing' : cond?.reason === 'CleaningUp' ? 'cleaning up' : 'waiting for VolSync to start the sync'
      return state + staleFailure(run)
    }
    case 'succeeded':
      return 'done'
    case 'failed':
      return `FAILED: ${p.reason}`
  }
}

/** The progress line: one source's state, or counts over many. */
export function progressLine(runs: readonly SourceRun[]): string {
  if (runs.length === 1) return phaseText(runs[0]!)
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

// ---------------------------------------------------------------- notes

/** Said when a run starts: why it waits first, or what it replaces. Empty when nothing to say. */
export function startNotes(purpose: Purpose, run: SourceRun, now: Date): string[] {
  const notes: string[] = []
  const p = run.phase
  if (p.kind === 'busy') {
    notes.push(
      `a sync of ${run.ref} is already running (started ${formatAge(now.getTime() - Date.parse(p.since))} ago): ` +
        `waiting for it to end before triggering, so that its completion is not taken for ours` +
        staleFailure(run),
    )
  }
  if (purpose === 'unlock' && p.kind === 'ready' && run.seen.status?.lastSyncStartTime) {
    notes.push(
      `a sync of ${run.ref} is running and its mover has failed: the unlock joins it ` +
        `(VolSync restarts its mover with \`restic unlock\` first)`,
    )
  }
  // a manual trigger left set beside a schedule (a source without a schedule
  // is meant to be triggered this way: nothing to say)
  if (run.manualBefore !== null && run.schedule && p.kind !== 'skipped') {
    notes.push(
      `${run.ref} had a manual trigger left set (${JSON.stringify(run.manualBefore)}), so its schedule was ` +
        `being ignored; this run replaces it and removes it afterwards`,
    )
  }
  return notes
}

export function triggeredNote(purpose: Purpose, run: SourceRun, token: string): string {
  const what = purpose === 'unlock' ? `spec.restic.unlock and spec.trigger.manual` : 'spec.trigger.manual'
  return `triggered ${run.ref}: ${what} = ${token}`
}

/** Said when a run moves from `before` to `after` during the wait (empty: nothing worth saying). */
export function transitionNote(purpose: Purpose, before: SourceRun, after: SourceRun, many: boolean): string {
  const a = after.phase
  const b = before.phase
  if (b.kind === 'busy' && a.kind === 'ready') return `the sync that was running on ${after.ref} ended; triggering ${purpose === 'unlock' ? 'the unlock' : 'ours'} now`
  if (b.kind === 'syncing' && b.foreign && a.kind === 'ready') {
    return `the sync of ${after.ref} that started before our trigger ended; triggering again for a backup of now`
  }
  if (!many) return ''
  if (a.kind === 'succeeded' && b.kind !== 'succeeded') return `${after.ref}: ${outcomeWords(purpose, a)}`
  if (a.kind === 'failed' && b.kind !== 'failed') return `${after.ref}: FAILED: ${failureWords(a)}`
  return ''
}

export function foreignNote(run: SourceRun): string {
  const since = run.seen.status?.lastSyncStartTime
  return (
    `a sync of ${run.ref} started just before our trigger${since ? ` (at ${since})` : ''}: its completion will carry ` +
    `our token but not data from after the trigger, so it is triggered again once that sync ends`
  )
}

export function keptNote(run: SourceRun, token: string): string {
  return (
    `${run.ref} has no schedule: spec.trigger.manual stays ${JSON.stringify(token)} on purpose ` +
    `(removing it would make VolSync sync continuously; putting back an older value would start another sync)`
  )
}

// ---------------------------------------------------------------- outcomes

function outcomeWords(purpose: Purpose, p: Extract<Phase, { kind: 'succeeded' }>): string {
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

function failureWords(p: Extract<Phase, { kind: 'failed' }>): string {
  const why = lastErrorLine(p.logs)
  return why ? `${p.reason}: ${why}` : p.reason
}

/** What the stop left behind, for one unsettled run. */
function unsettledWords(p: Phase): string {
  switch (p.kind) {
    case 'busy':
      return 'the sync that was running did not end: not triggered'
    case 'ready':
      return 'not triggered'
    case 'syncing':
      return 'triggered, not finished: VolSync completes the sync on its own'
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

function fateWords(fate: TriggerFate): string {
  switch (fate.kind) {
    case 'kept':
      return 'no schedule: trigger kept'
    case 'left':
      return `trigger left: ${fate.reason}`
    case 'pending':
      return 'trigger NOT removed (see below)'
    default:
      return ''
  }
}

export function summaryRow(run: SourceRun, fate: TriggerFate, stop: Stop | undefined): SummaryRow {
  const p = run.phase
  const base = { namespace: run.namespace, name: run.name, trigger: fate.kind }
  const withFate = (message: string) => [message, fateWords(fate)].filter(Boolean).join('; ')
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
        message: withFate(lastErrorLine(p.logs) ?? p.reason),
        ok: false,
      }
    case 'skipped':
      return {
        ...base,
        result: 'skipped',
        durationSeconds: null,
        snapshot: null,
        emptySource: false,
        message: run.seen.spec.paused ? 'paused: not backed up' : p.reason,
        ok: true,
      }
    default:
      return {
        ...base,
        result: STOP_WORD[stop ?? 'lost-contact'],
        durationSeconds: null,
        snapshot: null,
        emptySource: false,
        message: withFate(unsettledWords(p)),
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
export function failureList(runs: readonly SourceRun[], hints: Hints, paint: Paint): string {
  const lines: string[] = []
  for (const run of runs) {
    const p = run.phase
    if (p.kind !== 'failed') continue
    lines.push(paint.yellow(`! ${run.ref}: ${p.reason}`))
    const facts = readMoverLogs(p.logs)
    for (const l of facts.errorLines) lines.push(`    ${l}`)
    if (facts.lockError) {
      const app = run.name.endsWith('-backup') ? `APP=${run.name.slice(0, -'-backup'.length)} ` : ''
      lines.push(`    the repository is locked: task volsync:unlock ${app}CLUSTER=${hints.cluster} NAMESPACE=${run.namespace}`)
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
  const app = hints.app ? `APP=${hints.app} ` : ''
  if (readMoverLogs(logs).lockError) {
    lines.push(`The repository is locked: clear a stale lock with  task volsync:unlock ${app}CLUSTER=${hints.cluster}`)
  }
  lines.push(`See the state of every source with  task volsync:status CLUSTER=${hints.cluster}`)
  return lines
}

function failureReport(purpose: Purpose, run: SourceRun, p: Extract<Phase, { kind: 'failed' }>, hints: Hints): Report {
  const what = purpose === 'unlock' ? 'unlock' : 'backup'
  const details = [
    ...(p.logs ? ['The mover log:', ...p.logs.split('\n').map((l) => `  ${l}`)] : []),
    ...(p.triggered && purpose === 'snapshot' && p.logs ? ['VolSync keeps retrying this sync until it succeeds.'] : []),
    ...followUps(hints, p.logs),
  ].join('\n')
  return { ok: false, lines: [], warnings: [], error: { message: `${what} of ${run.ref}: ${p.reason}`, details } }
}

/** What `snapshot` says about its one source. */
export function snapshotReport(run: SourceRun, hints: Hints): Report {
  const p = run.phase
  if (p.kind === 'failed') return failureReport('snapshot', run, p, hints)
  if (p.kind === 'skipped') {
    return {
      ok: false,
      lines: [],
      warnings: [],
      error: { message: `${run.ref} is ${p.reason}. Nothing was changed.`, details: unpauseHint(run) },
    }
  }
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
        `check the repository with  task volsync:list${hints.app ? ` APP=${hints.app}` : ''} CLUSTER=${hints.cluster}`,
    )
  }
  return { ok: true, lines, warnings }
}

/** What `unlock` says about its one source. */
export function unlockReport(run: SourceRun, hints: Hints): Report {
  const p = run.phase
  if (p.kind === 'failed') {
    const r = failureReport('unlock', run, p, hints)
    const locked = readMoverLogs(p.logs).lockError
    if (r.error && locked) {
      r.error.details +=
        '\nThe repository is still locked: `restic unlock` removes stale locks only; a lock held by a live ' +
        'process (a running backup, prune or check, perhaps from another cluster) stays until that process ends.'
    }
    return r
  }
  if (p.kind === 'skipped') return snapshotReport(run, hints)
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

function unpauseHint(run: SourceRun): string {
  return (
    `Unpause it first (if whoever paused it agrees):\n` +
    `  kubectl patch replicationsources.volsync.backube ${run.name} -n ${run.namespace} --type merge -p '{"spec":{"paused":false}}'`
  )
}

/** The error for a wait that stopped (timeout, lost contact) before the source settled. */
export function stoppedDetails(purpose: Purpose, run: SourceRun, hints: Hints): string {
  const p = run.phase
  const lines: string[] = []
  if (p.kind === 'busy') lines.push(`The sync that was already running did not end, so no ${purpose} was triggered.`)
  if (p.kind === 'syncing') {
    lines.push(`Our sync (token ${p.token}) had not finished when waiting stopped; VolSync completes it on its own.`)
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
