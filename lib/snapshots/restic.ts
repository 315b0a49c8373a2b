// restic facts, pure: parse `restic snapshots --json`, number snapshots the
// way the VolSync mover selects them, and turn a SNAPSHOT selector into the
// ReplicationDestination fields that restore exactly that snapshot.
import type { SnapshotSelector } from '../cli.ts'
import { OperationError } from '../errors.ts'

export interface ResticSnapshot {
  id: string
  short_id?: string
  time: string
  hostname?: string
  username?: string
  paths?: string[]
  tags?: string[] | null
  parent?: string
  summary?: {
    total_files_processed?: number
    total_bytes_processed?: number
    [key: string]: unknown
  }
}

/** A snapshot with the `previous` offset a restore of it would use (null: the mover cannot select it). */
export interface ListedSnapshot extends ResticSnapshot {
  short_id: string
  /** whole seconds since the epoch, as the mover compares them */
  epoch: number
  previous: number | null
}

const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/**
 * restic's RFC 3339 time -> whole seconds since the epoch, nanoseconds within
 * that second, and the UTC offset it was recorded with (restic's forget buckets
 * snapshots by the wall clock of that offset).
 */
export function parseResticInstant(value: string): { seconds: number; nanos: number; offsetSeconds: number } {
  const m = TIME.exec(value)
  if (!m) throw new OperationError(`unexpected snapshot time ${JSON.stringify(value)} from restic`)
  const [, y, mo, d, h, mi, s, frac, zone] = m
  let offsetSeconds = 0
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1
    offsetSeconds = sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6))) * 60
  }
  const seconds = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!) / 1000 - offsetSeconds
  // digits, not floating point: ".29" is 290000000 ns exactly
  const nanos = frac ? Number(frac.slice(1, 10).padEnd(9, '0')) : 0
  return { seconds, nanos, offsetSeconds }
}

/** restic's RFC 3339 time with nanoseconds -> milliseconds since the epoch (sub-millisecond digits dropped). */
export function parseResticTime(value: string): number {
  const { seconds, nanos } = parseResticInstant(value)
  return seconds * 1000 + Math.floor(nanos / 1_000_000)
}

/**
 * The snapshot list from the output of `restic snapshots --json`. The
 * container log may carry warnings around it; the JSON array is the line
 * that starts with '['.
 */
export function parseSnapshots(output: string): ResticSnapshot[] {
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .reverse()
    .find((l) => l.startsWith('['))
  if (line === undefined) throw new OperationError('restic printed no snapshot list', tail(output))
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    throw new OperationError('restic printed a snapshot list that is not valid JSON', tail(output))
  }
  if (!Array.isArray(parsed) || !parsed.every(isSnapshot)) {
    throw new OperationError('restic printed something that is not a snapshot list', tail(output))
  }
  return parsed
}

function isSnapshot(s: unknown): s is ResticSnapshot {
  const o = s as ResticSnapshot
  return typeof o === 'object' && o !== null && typeof o.id === 'string' && typeof o.time === 'string'
}

/** The last lines of a log, for error details. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/**
 * Newest first, each with the `previous` offset that selects it, computed as
 * select_restic_snapshot_to_restore in VolSync's mover-restic/entry.sh does
 * (see moverChain): when several snapshots share a second, only the one
 * listed last is reachable (at the first of their offsets); the others get
 * null.
 */
export function withOffsets(snapshots: readonly ResticSnapshot[]): ListedSnapshot[] {
  const listed: ListedSnapshot[] = snapshots
    .map((s, index) => ({ s, index, at: parseResticInstant(s.time) }))
    // restic lists oldest first by exact time; equal times keep restic's order
    .sort((a, b) => a.at.seconds - b.at.seconds || a.at.nanos - b.at.nanos || a.index - b.index)
    .reverse()
    .map(({ s, at }) => ({ ...s, short_id: s.short_id ?? s.id.slice(0, 8), epoch: at.seconds, previous: null }))
  moverChain(listed).forEach((entry, offset) => {
    if (entry.snapshot && entry.snapshot.previous === null) entry.snapshot.previous = offset
  })
  return listed
}

/** One line of `restic snapshots` that the mover's `grep /data` keeps. */
export interface ChainEntry {
  /**
   * The snapshot the mover restores for this line (for a same-second
   * collision, the one listed last); null for a line that is not a
   * snapshot's first line (see moverChain).
   */
  snapshot: ListedSnapshot | null
  epoch: number | null
}

/**
 * The mover's list of candidates, newest first (index = `previous`):
 * entry.sh runs `restic snapshots` (a table, oldest first, times in whole
 * seconds), keeps the lines that contain "/data", takes the id and time from
 * each, maps each second to the id listed last in it, and reverses the list.
 * A snapshot's first line shows its host, tags and first path, so that is
 * where "/data" counts. A snapshot with several paths prints each further
 * path on a line of its own; one containing "/data" becomes a bogus
 * candidate (no id, no time) that still takes an offset. VolSync's own
 * snapshots have the single path /data.
 */
export function moverChain(newestFirst: readonly ListedSnapshot[]): ChainEntry[] {
  const winner = new Map<number, ListedSnapshot>()
  for (const s of [...newestFirst].reverse()) if (isEligible(s)) winner.set(s.epoch, s)
  return newestFirst.flatMap((s) => {
    const extraLines = (s.paths ?? []).slice(1).filter((p) => p.includes('/data'))
    const bogus: ChainEntry[] = extraLines.map(() => ({ snapshot: null, epoch: null }))
    return isEligible(s) ? [...bogus, { snapshot: winner.get(s.epoch)!, epoch: s.epoch }] : bogus
  })
}

/** Does the first line `restic snapshots` prints for s contain "/data" (the mover's `grep /data`)? */
export function isEligible(s: ResticSnapshot): boolean {
  const firstLine = [s.hostname ?? '', (s.tags ?? []).join(','), s.paths?.[0] ?? '']
  return firstLine.some((field) => field.includes('/data'))
}

/** What a ReplicationDestination needs to restore the chosen snapshot. */
export interface RestorePoint {
  previous: number
  restoreAsOf?: string
  /** the snapshot the mover will restore, by the same rules */
  snapshot: ListedSnapshot
}

/** RFC 3339 in UTC with whole seconds, as the mover's `date --date` reads it. */
export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * SNAPSHOT -> previous/restoreAsOf, checked against the list: the mover would
 * otherwise "succeed" with nothing restored. Ids are restored through their
 * time (VolSync has no snapshot-id field). `listed` is withOffsets' result.
 */
export function resolveRestorePoint(listed: readonly ListedSnapshot[], selector: SnapshotSelector): RestorePoint {
  const chain = moverChain(listed)
  if (!chain.some((e) => e.snapshot)) {
    throw new OperationError(
      'the repository has no snapshots the mover can restore (none with path /data); nothing was changed',
    )
  }
  const bogus = (offset: number) =>
    new OperationError(
      `SNAPSHOT=${offset} would make the VolSync mover pick a line of a snapshot with several paths, ` +
        'which restores nothing. Pick another offset (see volsync:list). Nothing was changed.',
    )
  /** As entry.sh walks with RESTORE_AS_OF: the first candidate at or before `target`. */
  const asOf = (target: number, text: string): ListedSnapshot => {
    for (const entry of chain) {
      if (entry.epoch === null) {
        throw new OperationError(
          `cannot predict what the VolSync mover restores as of ${text}: a snapshot with several paths ` +
            'comes first in its list. Use an offset (SNAPSHOT=<PREV> from volsync:list). Nothing was changed.',
        )
      }
      if (entry.epoch <= target) return entry.snapshot!
    }
    const oldest = chain.findLast((e) => e.snapshot)!.snapshot!
    throw new OperationError(`no snapshot at or before ${text}; the oldest is ${oldest.time}. Nothing was changed.`)
  }

  switch (selector.kind) {
    case 'latest': {
      const snap = chain[0]!.snapshot
      if (!snap) throw bogus(0)
      return { previous: 0, snapshot: snap }
    }
    case 'offset': {
      const entry = chain[selector.previous]
      if (!entry) {
        throw new OperationError(
          `SNAPSHOT=${selector.previous} is out of range: the VolSync mover can select offsets 0 to ` +
            `${chain.length - 1} in this repository (see volsync:list). Nothing was changed.`,
        )
      }
      if (!entry.snapshot) throw bogus(selector.previous)
      return { previous: selector.previous, snapshot: entry.snapshot }
    }
    case 'time': {
      const target = Math.floor(selector.time.getTime() / 1000)
      return { previous: 0, restoreAsOf: isoSeconds(target), snapshot: asOf(target, selector.text) }
    }
    case 'id': {
      const matches = listed.filter((s) => s.id.startsWith(selector.id))
      if (matches.length === 0) {
        throw new OperationError(
          `no snapshot with id ${selector.id} in the repository. Nothing was changed.`,
          `Newest snapshots:\n${listed
            .slice(0, 5)
            .map((s) => `  ${s.short_id}  ${s.time}`)
            .join('\n')}`,
        )
      }
      if (matches.length > 1) {
        throw new OperationError(
          `snapshot id ${selector.id} is ambiguous: it matches ${matches.map((s) => s.short_id).join(', ')}. ` +
            'Give more digits. Nothing was changed.',
        )
      }
      const snap = matches[0]!
      if (snap.previous === null) {
        throw new OperationError(
          `snapshot ${snap.short_id} cannot be selected by the VolSync mover ` +
            (isEligible(snap)
              ? 'because another snapshot was taken in the same second'
              : `because its paths (${(snap.paths ?? []).join(', ')}) do not include /data`) +
            '. Nothing was changed.',
        )
      }
      const restoreAsOf = isoSeconds(snap.epoch)
      asOf(snap.epoch, restoreAsOf)
      return { previous: 0, restoreAsOf, snapshot: snap }
    }
  }
}
