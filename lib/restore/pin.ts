// Restore exactly the snapshot the plan showed. Whatever SNAPSHOT selected
// (the latest, an offset, an id, a time), the ReplicationDestination pins that
// one snapshot: restoreAsOf at its own second and previous 0. The mover
// (entry.sh select_restic_snapshot_to_restore) then takes the newest snapshot
// with /data at or before that second, which is this one unless another
// snapshot shares its second (restic lists those in either order) or an
// unreadable line of a multi-path snapshot comes first. A `previous` offset
// alone would shift when a backup finishes between the listing and the
// create. Pure.
import { OperationError } from '../errors.ts'
import { isEligible, isoSeconds, moverChain, type ListedSnapshot, type RestorePoint } from '../snapshots/restic.ts'

/**
 * The pinned selection of `point.snapshot` in `listed` (the repository as
 * listed now); an OperationError saying why when it cannot be selected
 * exactly. `again`: whether this is the second listing, under the hold.
 */
export function pinPoint(point: RestorePoint, listed: readonly ListedSnapshot[], again = false): RestorePoint {
  const planned = point.snapshot
  const nothing = again
    ? 'Everything is put back; nothing was restored.'
    : 'Nothing was changed.'
  const snap = listed.find((s) => s.id === planned.id)
  if (!snap) {
    throw new OperationError(
      `snapshot ${planned.short_id} is no longer in the repository (a backup's restic forget, or a prune, ` +
        `removed it after the listing). ${nothing} List the snapshots again and choose one.`,
    )
  }
  if (!isEligible(snap)) {
    throw new OperationError(
      `snapshot ${snap.short_id} cannot be selected by the VolSync mover: its paths (${(snap.paths ?? []).join(', ')}) ` +
        `do not include /data. ${nothing}`,
    )
  }
  const twins = listed.filter((s) => s.id !== snap.id && isEligible(s) && s.epoch === snap.epoch)
  if (twins.length) {
    throw new OperationError(
      `snapshot ${snap.short_id} cannot be restored exactly: ${twins.map((s) => s.short_id).join(', ')} ` +
        `${twins.length === 1 ? 'was' : 'were'} taken in the same second (${isoSeconds(snap.epoch)}), and the ` +
        `mover, which selects by the second, may restore either. ${nothing}`,
    )
  }
  // the mover walks its list newest first and takes the first line at or before the second
  for (const entry of moverChain([...listed])) {
    if (entry.epoch === null) {
      throw new OperationError(
        `snapshot ${snap.short_id} cannot be restored exactly: a snapshot with several paths, newer than it, ` +
          `makes the mover's list unreadable at that point. ${nothing}`,
      )
    }
    if (entry.epoch <= snap.epoch) break
  }
  return { previous: 0, restoreAsOf: isoSeconds(snap.epoch), snapshot: snap }
}
