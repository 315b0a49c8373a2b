// Where a restore is, and what follows from it: whether the restore mover may
// still write into the PVC (then nothing may start the app), and how the
// restore ends from each stage: which of its changes stay, whether the PVC
// may hold part of the snapshot, what it says. Pure; lib/restore/restore.io.ts
// keeps the stage and applies the decisions.
import { partialRestoreText } from './plan.ts'

/**
 * quiescing: pausing the backups, suspending Flux, stopping the workloads;
 * creating: the ReplicationDestination's create was sent (it may exist);
 * restoring: it exists and its restore has not finished;
 * restored: its sync completed (the verdict on the mover log comes after).
 */
export type Stage = 'quiescing' | 'creating' | 'restoring' | 'restored'

/** What an undo step of the restore puts back. */
export type Layer = 'source' | 'flux' | 'workloads' | 'destination'

/**
 * Why the app must not be started (nor Flux resumed, nor backups unpaused)
 * yet: the ReplicationDestination may exist, its restore did not finish and
 * it could not be deleted, so its mover may still write into the PVC.
 * Undefined when nothing holds them back.
 */
export function heldBack(
  stage: Stage,
  destinationDeleted: boolean,
  where: { namespace: string; destination: string; pvc: string },
): string | undefined {
  const moverMayWrite = (stage === 'creating' || stage === 'restoring') && !destinationDeleted
  return moverMayWrite
    ? `ReplicationDestination ${where.namespace}/${where.destination} could not be deleted; its mover may still write into ${where.pvc}`
    : undefined
}

export interface EndingFacts {
  namespace: string
  pvc: string
  destination: string
  /** KEEP=true */
  keep: boolean
  /** some workload was scaled down (the clean-up starts it again) */
  workloadsStopped: boolean
  /** the command that restores the same snapshot again */
  rerun: string
  /** the command that deletes the ReplicationDestination (when it is kept) */
  deleteDestination: string
}

export interface Ending {
  /** the layers whose undo is dropped: what they changed stays as it is */
  keep: Layer[]
  /** the mover may have written part of the snapshot into the PVC */
  pvcMayBePartial: boolean
  warnings: string[]
  notes: string[]
}

/**
 * How a restore ends from `stage`: 'restored' when its sync completed, any
 * other stage when it stopped there (failure, timeout, lost contact, Ctrl-C).
 * Everything not kept here is put back by the clean-up stack, newest first.
 */
export function ending(stage: Stage, facts: EndingFacts): Ending {
  const none: Ending = { keep: [], pvcMayBePartial: false, warnings: [], notes: [] }
  const { namespace, destination } = facts
  if (stage === 'restored') {
    if (!facts.keep) return none
    return {
      ...none,
      keep: ['destination'],
      notes: [
        `KEEP=true: kept ReplicationDestination ${namespace}/${destination} (its sync is done; it will not run again). ` +
          `Delete it with:\n  ${facts.deleteDestination}`,
      ],
    }
  }
  if (stage === 'restoring') {
    return {
      keep: [],
      pvcMayBePartial: true,
      warnings: [partialRestoreText(facts.pvc, facts.workloadsStopped, facts.rerun)],
      notes: facts.keep
        ? ['KEEP=true: the ReplicationDestination is deleted anyway: its restore did not finish, and VolSync would retry it while the app runs.']
        : [],
    }
  }
  // stopped before the ReplicationDestination existed: nothing was written into the PVC
  return none
}
