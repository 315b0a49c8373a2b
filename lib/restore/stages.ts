// Where a restore is, and how it ends from there: which of its changes stay,
// whether the app is HELD, what the PVC may hold, and what it says. Pure;
// lib/restore/restore.io.ts keeps the stage and applies the decision.
//
// The rule: once the ReplicationDestination may exist, the mover may have
// written part of the snapshot into the PVC (`restic restore --delete`
// removes files as it goes). Unless the restore verifiably completed, the app
// must not start on that data and no backup may capture it: the
// ReplicationDestination is stopped and deleted, and everything else stays
// as the restore set it (workloads at 0, Flux and CronJobs suspended, KEDA
// paused, backups held), recorded on the ReplicationSource (marker.ts) so
// that a new restore, or `volsync:resume`, can go on from any machine. A
// restore that stops before the ReplicationDestination exists puts
// everything back, unless it took over an app that was held already.
import { MARKER } from './marker.ts'

/**
 * quiescing: holding the backups, suspending Flux and CronJobs, pausing
 * KEDA, stopping the workloads (no ReplicationDestination yet);
 * creating: its create was sent and the answer does not say it was refused
 * (a timeout, a lost connection): it may exist;
 * restoring: it exists and its restore has not finished;
 * restored: its sync completed (the verdict on the mover log says how).
 */
export type Stage = 'quiescing' | 'creating' | 'restoring' | 'restored'

/** What an undo step of the restore puts back. */
export type Layer = 'marker' | 'backups' | 'flux' | 'cronjobs' | 'keda' | 'workloads' | 'destination'

/** The layers a hold keeps as they are: everything that keeps the app stopped and the backups out. */
export const HELD_LAYERS: readonly Layer[] = ['backups', 'flux', 'cronjobs', 'keda', 'workloads']

/** What a completed sync did, from the mover log (outcome.ts judgeRestore). */
export type Verdict =
  /** the planned snapshot */
  | 'restored'
  /** nothing (no eligible snapshot, an empty new repository, no `restoring` line): the PVC is as it was */
  | 'nothing'
  /** another snapshot than planned, completely */
  | 'other'
  /** the mover reported Failed */
  | 'failed'

export interface EndingFacts {
  namespace: string
  pvc: string
  /** namespace/name of the ReplicationSource that carries the record */
  source: string
  destination: string
  /** KEEP=true */
  keep: boolean
  /** this run took over an app held by an earlier restore: the PVC may be partial already */
  adopted: boolean
  /** stage restored: what the mover did */
  verdict?: Verdict
  /** pods other than the mover that mounted the PVC while the ReplicationDestination existed */
  intruders: readonly string[]
  /** why it stopped (the error's first line), for the record */
  why?: string
  /** the snapshot restored instead (verdict other) */
  restoredInstead?: string
  /** the command that restores the planned snapshot again (it takes the held app over) */
  rerun: string
  /** the command that gives the app back as it is (volsync:resume) */
  resume: string
  /** the command that deletes the ReplicationDestination (when it is kept) */
  deleteDestination: string
}

export interface Ending {
  /** the layers whose undo is dropped: what they changed stays as it is */
  keep: Layer[]
  /** the app is held: the record on the source stays, with `reason` */
  hold: boolean
  reason?: string
  /** the PVC may hold part of a snapshot (or other data than planned): restore again before trusting it */
  pvcMayBePartial: boolean
  warnings: string[]
  notes: string[]
}

/** What the PVC holds when the restore ends. */
export type PvcState = 'untouched' | 'restored' | 'partial' | 'other' | 'suspect'

export function pvcState(stage: Stage, facts: Pick<EndingFacts, 'adopted' | 'verdict' | 'intruders'>): PvcState {
  const before: PvcState = facts.adopted ? 'partial' : 'untouched'
  switch (stage) {
    case 'quiescing':
      return before
    case 'creating':
    case 'restoring':
      return 'partial'
    case 'restored':
      switch (facts.verdict) {
        case 'restored':
          return facts.intruders.length ? 'suspect' : 'restored'
        case 'nothing':
          return before
        case 'other':
          return 'other'
        default:
          return 'partial'
      }
  }
}

/**
 * How a restore ends from `stage`: 'restored' when its sync completed, any
 * other stage when it stopped there (failure, timeout, stall, lost contact,
 * Ctrl-C). Everything not kept here is put back by the clean-up stack,
 * newest first; the record on the source goes last (or stays, held).
 */
export function ending(stage: Stage, facts: EndingFacts): Ending {
  const state = pvcState(stage, facts)
  const finished = stage === 'restored'
  const keptNote =
    `KEEP=true: kept ReplicationDestination ${facts.namespace}/${facts.destination} (its sync is done; it will not run again). ` +
    `Delete it with:\n  ${facts.deleteDestination}`
  const deletedNote =
    'KEEP=true: the ReplicationDestination is deleted anyway: its restore did not finish, and VolSync would retry it.'
  const keepDestination = facts.keep && finished
  const notes = facts.keep ? [keepDestination ? keptNote : deletedNote] : []
  const base = keepDestination ? (['destination'] as Layer[]) : []

  if (state === 'untouched' || state === 'restored') {
    // stage quiescing without KEEP notes: no ReplicationDestination was made
    return { keep: base, hold: false, pvcMayBePartial: false, warnings: [], notes: stage === 'quiescing' ? [] : notes }
  }
  const reason = heldReason(state, stage, facts)
  return {
    keep: [...base, ...HELD_LAYERS],
    hold: true,
    reason,
    pvcMayBePartial: true,
    warnings: [heldText(state, facts)],
    notes: stage === 'quiescing' ? [] : notes,
  }
}

function heldReason(state: PvcState, stage: Stage, facts: EndingFacts): string {
  switch (state) {
    case 'other':
      return `the mover restored snapshot ${facts.restoredInstead ?? '?'} instead of the planned one`
    case 'suspect':
      return `other pods mounted ${facts.pvc} during the restore: ${facts.intruders.join(', ')}`
    default:
      if (stage === 'quiescing' || (stage === 'restored' && facts.verdict === 'nothing')) {
        return `a restore that took the held app over stopped${facts.why ? `: ${facts.why}` : ''}`
      }
      return `it stopped before its mover finished${facts.why ? `: ${facts.why}` : ''}`
  }
}

/** What the operator reads when the app is held: what the PVC may hold, what stays, and the two ways on. */
export function heldText(state: PvcState, facts: EndingFacts): string {
  const first =
    state === 'other'
      ? `${facts.pvc} holds snapshot ${facts.restoredInstead ?? '?'}, not the one planned.`
      : state === 'suspect'
        ? `Other pods mounted ${facts.pvc} while the mover restored it (${facts.intruders.join(', ')}): ` +
          'its data may differ from the snapshot.'
        : `The restore did not finish: ${facts.pvc} may be PARTIALLY restored (some files from the snapshot, some as they were).`
  return [
    first,
    'The app is HELD, so that nothing starts on that data and no backup captures it: its workloads stay at 0, ' +
      'Flux and CronJobs stay suspended, KEDA stays paused, backups stay held; the ReplicationDestination is ' +
      `deleted (its mover stopped). This is recorded on ReplicationSource ${facts.source} (annotation ${MARKER}), ` +
      'so any machine can go on.',
    `Restore it completely (the same snapshot):\n  ${facts.rerun}`,
    `Or give the app back with the data as it is now:\n  ${facts.resume}`,
    ...(state === 'partial'
      ? [
          'A mover stopped half way may leave a restic lock: restores and backups still work (it is not exclusive), ' +
            'a prune waits until restic calls it stale (30 minutes), then task volsync:unlock removes it.',
        ]
      : []),
  ].join('\n')
}
