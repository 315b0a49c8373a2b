// Which snapshot a recover command (files, download, verify, restore TO_PVC)
// reads. SNAPSHOT means what it means for restore: empty = the latest, N = PREV
// of `list`, an RFC 3339 time = the newest at or before it, as the VolSync
// mover selects them; a restic id = exactly that snapshot, any snapshot of
// the repository (reading needs no mover selection). Pure.
import type { SnapshotSelector } from '../cli.ts'
import { OperationError } from '../errors.ts'
import { resolveRestorePoint, type ListedSnapshot } from '../snapshots/restic.ts'

export function pickSnapshot(listed: readonly ListedSnapshot[], selector: SnapshotSelector): ListedSnapshot {
  if (listed.length === 0) throw new OperationError('the repository has no snapshots yet. Nothing was changed.')
  if (selector.kind !== 'id') return resolveRestorePoint(listed, selector).snapshot
  const matches = listed.filter((s) => s.id.startsWith(selector.id))
  if (matches.length === 1) return matches[0]!
  if (matches.length === 0) {
    throw new OperationError(
      `no snapshot with id ${selector.id} in the repository.`,
      `Newest snapshots:\n${listed
        .slice(0, 5)
        .map((s) => `  ${s.short_id}  ${s.time}`)
        .join('\n')}`,
    )
  }
  throw new OperationError(
    `snapshot id ${selector.id} is ambiguous: it matches ${matches.map((s) => s.short_id).join(', ')}. Give more digits.`,
  )
}

/** How reports name a snapshot: {id, shortId, time}. */
export const snapshotRef = (s: ListedSnapshot) => ({ id: s.id, shortId: s.short_id, time: s.time })
