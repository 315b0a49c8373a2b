// Writing the restore's record on the ReplicationSource (marker.ts): taken
// atomically before the first change (a second restore sees it and refuses),
// set to `held` when the restore stops half way, removed when everything is
// put back. Every write is guarded, so two runs never overwrite each other.
import os from 'node:os'
import { OperationError } from '../errors.ts'
import type { Context } from '../run.ts'
import { RS, ref, type ReplicationSource } from '../volsync/objects.ts'
import { restoreMarkText } from '../volsync/health.ts'
import {
  MARKER,
  acquirePatch,
  markerValue,
  readMarker,
  removeMarkerPatch,
  replaceMarkerPatch,
  type Marker,
} from './marker.ts'

/** user@host of this run, for the record. */
export function whoAmI(): string {
  let user = 'unknown'
  try {
    user = os.userInfo().username
  } catch {
    user = process.env.USER ?? 'unknown'
  }
  return `${user}@${os.hostname()}`
}

/** The refusal of a restore (or resume) that finds another run's record. */
export function busyError(rs: ReplicationSource, found: Marker | 'unreadable', resume: string): OperationError {
  if (found === 'unreadable') {
    return new OperationError(
      `ReplicationSource ${ref(rs)} carries a volsync-ops/restore annotation this tool cannot read. Nothing was ` +
        'changed. If no restore runs, remove it by hand (kubectl annotate ... volsync-ops/restore-) and try again.',
    )
  }
  return new OperationError(
    `another restore of this app is running: ${restoreMarkText(found)}. Nothing was changed. Two restores of ` +
      'one PVC at once would overwrite each other. Wait until it ends. If that run was killed (its terminal ' +
      `closed, its machine went down), give the app back with:\n  ${resume}\nthen restore again.`,
  )
}

/** The record of this run on the source, from acquire() to put back. */
export class MarkerHandle {
  private readonly ctx: Context
  private readonly rs: ReplicationSource
  /** the annotation value in place */
  private value: string
  private marker: Marker

  private constructor(ctx: Context, rs: ReplicationSource, marker: Marker) {
    this.ctx = ctx
    this.rs = rs
    this.marker = marker
    this.value = markerValue(marker)
  }

  /** The record found on the source (`value`: the annotation as read), for resume. */
  static found(ctx: Context, rs: ReplicationSource, marker: Marker, value: string): MarkerHandle {
    const handle = new MarkerHandle(ctx, rs, marker)
    handle.value = value
    return handle
  }

  get current(): Marker {
    return this.marker
  }

  /**
   * Writes `marker` on the source, atomically: only while it has no record
   * (a merge patch carrying the resourceVersion read: a precondition), or,
   * taking a held app over, only while it still holds `takeOver` (the exact
   * value read). Anything else: another run was first, refuse naming it.
   */
  static async acquire(ctx: Context, rs: ReplicationSource, marker: Marker, takeOver: string | undefined, resume: string): Promise<MarkerHandle> {
    const { kubectl } = ctx
    const name = rs.metadata.name
    const namespace = rs.metadata.namespace!
    let seen = rs
    for (let attempt = 0; ; attempt++) {
      ctx.checkpoint()
      try {
        if (takeOver === undefined) {
          await kubectl.patch(RS, name, namespace, 'merge', acquirePatch(marker, seen.metadata.resourceVersion ?? ''))
        } else {
          await kubectl.patch(RS, name, namespace, 'json', replaceMarkerPatch(takeOver, marker))
        }
        return new MarkerHandle(ctx, rs, marker)
      } catch (err) {
        const now = await kubectl.get<ReplicationSource>(RS, name, namespace)
        if (now === null) throw new OperationError(`ReplicationSource ${ref(rs)} was deleted. Nothing was changed.`)
        const foundValue = now.metadata.annotations?.[MARKER]
        if (foundValue !== takeOver) {
          const found = readMarker(now)
          if (found !== undefined) throw busyError(now, found, resume)
          throw new OperationError(
            `the record of the held restore on ${ref(rs)} was removed meanwhile (by volsync:resume?). Nothing was ` +
              'changed. Run the restore again.',
          )
        }
        // not a guard: the object changed under the precondition (VolSync wrote its status): again, with it
        const moved = now.metadata.resourceVersion !== seen.metadata.resourceVersion
        if (takeOver !== undefined || !moved || attempt >= 4) throw err
        seen = now
      }
    }
  }

  /** Sets the record to `next`, only while it still holds ours. */
  async update(next: Marker): Promise<void> {
    const { kubectl } = this.ctx
    await kubectl.patch(RS, this.rs.metadata.name, this.rs.metadata.namespace!, 'json', replaceMarkerPatch(this.value, next))
    this.marker = next
    this.value = markerValue(next)
  }

  /** Removes the record, only while it still holds ours; says so when someone else changed it. */
  async remove(): Promise<string | void> {
    const { kubectl } = this.ctx
    const name = this.rs.metadata.name
    const namespace = this.rs.metadata.namespace!
    try {
      await kubectl.patch(RS, name, namespace, 'json', removeMarkerPatch(this.value))
    } catch (err) {
      const now = await kubectl.get<ReplicationSource>(RS, name, namespace).catch(() => undefined)
      if (now === null) return 'left alone: the ReplicationSource no longer exists'
      if (now !== undefined && now.metadata.annotations?.[MARKER] !== this.value) {
        return 'left alone: someone else changed the record'
      }
      throw err
    }
  }
}
