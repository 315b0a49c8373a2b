// Keeping every backup out of the restore window. Pure; quiesce.io.ts acts.
// Facts (VolSync v0.16.0):
// - spec.paused does not stop a sync from STARTING (statemachine/machine.go):
//   a schedule that fires still starts one. Its mover Job gets parallelism 0
//   while paused (mover/restic/mover.go ensureJob), so with copyMethod Direct
//   nothing reads the PVC until it is unpaused: then it backs up the PVC as it
//   is then, after the restore.
// - With copyMethod Snapshot or Clone the sync first freezes a copy of the PVC
//   (VolumeSnapshot or clone volsync-<source>-src, volumehandler.go
//   EnsurePVCFromSrc), paused or not: unpausing would upload that copy of a
//   half-restored (or pre-restore) volume as the newest backup. Unless the PVC
//   carries volsync.backube/use-copy-trigger: then VolSync makes no copy until
//   volsync.backube/copy-trigger changes (waitForCopyTriggerBeforeCloneOrSnap),
//   and once that annotation is gone again it makes it at once, of the data as
//   it is then. So the restore sets it (with the pause) and removes it (and the
//   status annotations VolSync added meanwhile) before it unpauses.
// - Retention: an extra backup before the restore could make restic forget
//   drop the very snapshot being restored (retain: daily keeps one a day), so
//   the restore never takes one.
import { OperationError } from '../errors.ts'
import { RESTORE_COPY_TRIGGER } from '../volsync/health.ts'
import { USE_COPY_TRIGGER, type ReplicationSource, type SyncStatus } from '../volsync/objects.ts'

export { USE_COPY_TRIGGER }
/** Status annotations VolSync writes on the PVC while it waits for the copy trigger. */
export const COPY_TRIGGER_STATUS = ['volsync.backube/latest-copy-status', 'volsync.backube/latest-copy-trigger-waiting-since']
/** The value the restore gives use-copy-trigger: it removes the annotation only while it still holds this. */
export const COPY_TRIGGER_VALUE = RESTORE_COPY_TRIGGER

const pointer = (key: string) => `/metadata/annotations/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`

export const copyMethodOf = (rs: ReplicationSource): string => String(rs.spec.restic?.copyMethod ?? 'Direct')

/** Does a sync of this source freeze a copy of the PVC before its mover runs? */
export const freezesCopy = (copyMethod: string) => copyMethod === 'Snapshot' || copyMethod === 'Clone'

/** The copy VolSync freezes for a sync of `source` (a VolumeSnapshot for Snapshot, a PVC for Clone). */
export function sourceCopy(source: string, copyMethod: string): { resource: string; name: string } | undefined {
  if (!freezesCopy(copyMethod)) return undefined
  const name = `volsync-${source}-src`
  return copyMethod === 'Snapshot'
    ? { resource: 'volumesnapshots.snapshot.storage.k8s.io', name }
    : { resource: 'persistentvolumeclaims', name }
}

/**
 * The PVC annotations the restore sets to hold copies, none for copyMethod
 * Direct (the pause is enough), none when the PVC uses the copy trigger
 * already (VolSync then waits for its owner's trigger), else use-copy-trigger
 * and the status annotations VolSync may add meanwhile (those there already
 * are not ours to remove).
 */
export function copyTriggerKeys(pvcAnnotations: Record<string, string> | undefined, copyMethod: string): string[] {
  const annotations = pvcAnnotations ?? {}
  if (!freezesCopy(copyMethod) || USE_COPY_TRIGGER in annotations) return []
  return [USE_COPY_TRIGGER, ...COPY_TRIGGER_STATUS.filter((k) => !(k in annotations))]
}

export const holdCopyPatch = { metadata: { annotations: { [USE_COPY_TRIGGER]: COPY_TRIGGER_VALUE } } }

/**
 * Removes the annotations the restore added, of those present now, only
 * while use-copy-trigger is still the restore's (a `test` op).
 */
export function releaseCopyPatch(keys: readonly string[], present: Record<string, string> | undefined): unknown[] {
  const now = present ?? {}
  return [
    { op: 'test', path: pointer(USE_COPY_TRIGGER), value: COPY_TRIGGER_VALUE },
    ...keys.filter((k) => k in now).map((k) => ({ op: 'remove', path: pointer(k) })),
  ]
}

/**
 * A sync that runs when the restore starts: refused, unless it cannot touch
 * the restored data. Unpaused, its mover reads the PVC (or a copy) now, and
 * its `restic forget` may prune while the restore runs: wait until it ends.
 * Paused with a frozen copy: unpausing later uploads that pre-restore copy.
 * Paused without one (copyMethod Direct, or no copy yet): harmless, it backs
 * up the PVC as it is when unpaused. `copyExists`: whether the source's
 * frozen copy exists (only asked for Snapshot/Clone). `follow`: the command
 * that shows the source.
 */
export function runningSyncRefusal(rs: ReplicationSource, copyExists: boolean, follow: string): OperationError | undefined {
  const since = rs.status?.lastSyncStartTime
  if (!since) return undefined
  const where = `${rs.metadata.namespace}/${rs.metadata.name}`
  if (rs.spec.paused !== true) {
    return new OperationError(
      `a backup of ${where} is running (since ${since}): its mover would read the PVC while the restore ` +
        `writes it, and its restic forget may prune the repository meanwhile. Nothing was changed. Wait until ` +
        `it ends, then run the restore again; follow it with:\n  ${follow}`,
    )
  }
  const copyMethod = copyMethodOf(rs)
  if (freezesCopy(copyMethod) && copyExists) {
    return new OperationError(
      `ReplicationSource ${where} is paused with a sync in progress (since ${since}) that has already frozen a ` +
        `copy of the PVC (copyMethod ${copyMethod}, ${sourceCopy(rs.metadata.name, copyMethod)!.name}): once ` +
        'unpaused it would upload that copy of the data from BEFORE the restore as the newest backup. Nothing ' +
        'was changed. Unpause it and let that sync finish, then run the restore again.',
    )
  }
  return undefined
}

/**
 * Right before the ReplicationDestination is created, with backups held:
 * did a backup run since the snapshots were listed (the list may be stale,
 * and its forget may have dropped the planned snapshot: list again), or did
 * one start before the hold and freeze a copy of the data (refuse: it would
 * upload pre-restore data after the restore)? `before`: the source's status
 * when the listing began; `copyExists`: its frozen copy exists now.
 */
export function windowCheck(
  before: SyncStatus | undefined,
  now: ReplicationSource,
  copyExists: boolean,
): 'ok' | 'relist' | OperationError {
  const status = now.status ?? {}
  const copyMethod = copyMethodOf(now)
  if (status.lastSyncStartTime && freezesCopy(copyMethod) && copyExists) {
    return new OperationError(
      `a backup of ${now.metadata.namespace}/${now.metadata.name} started (${status.lastSyncStartTime}) while ` +
        `the restore was being prepared and froze a copy of the PVC (copyMethod ${copyMethod}) from before the ` +
        'restore: it would be uploaded as the newest backup after it. Everything is put back now, so that ' +
        'backup finishes; run the restore again once it has ended.',
    )
  }
  const changed =
    (status.lastSyncTime ?? null) !== (before?.lastSyncTime ?? null) ||
    (status.lastSyncStartTime ?? null) !== (before?.lastSyncStartTime ?? null)
  return changed ? 'relist' : 'ok'
}
