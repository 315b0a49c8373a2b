// restic facts, pure: parse `restic snapshots --json`, number snapshots the
// way the VolSync mover selects them, and turn a SNAPSHOT selector into the
// ReplicationDestination fields that restore exactly that snapshot.
import { OperationError, type SnapshotSelector } from './cli.ts'

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

/** restic's RFC 3339 time with nanoseconds -> milliseconds since the epoch. */
export function parseResticTime(value: string): number {
  const m = TIME.exec(value)
  if (!m) throw new OperationError(`unexpected snapshot time ${JSON.stringify(value)} from restic`)
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const base = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!)
  const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0
  let offset = 0
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1
    offset = sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6))) * 60_000
  }
  return base + ms - offset
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
 * mover-restic/entry.sh does: snapshots listed oldest first, keep those whose
 * line mentions /data, compare whole seconds, newest first; when two share a
 * second the later-listed one wins both offsets and the other is unreachable.
 */
export function withOffsets(snapshots: readonly ResticSnapshot[]): ListedSnapshot[] {
  const listed = snapshots
    .map((s, index) => ({
      ...s,
      short_id: s.short_id ?? s.id.slice(0, 8),
      epoch: Math.floor(parseResticTime(s.time) / 1000),
      ms: parseResticTime(s.time),
      index,
      previous: null as number | null,
    }))
    .sort((a, b) => a.ms - b.ms || a.index - b.index)

  const eligible = listed.filter(isEligible)
  const winnerOfSecond = new Map<number, (typeof listed)[number]>()
  for (const s of eligible) winnerOfSecond.set(s.epoch, s)
  const newestFirst = [...eligible].reverse()
  newestFirst.forEach((s, offset) => {
    const winner = winnerOfSecond.get(s.epoch)!
    if (winner.previous === null) winner.previous = offset
  })
  return listed.reverse().map(({ ms: _ms, index: _index, ...rest }) => rest)
}

/** The mover keeps `restic snapshots` lines that contain "/data". */
export function isEligible(s: ResticSnapshot): boolean {
  return [...(s.paths ?? []), ...(s.tags ?? [])].some((p) => p.includes('/data'))
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
 * time (VolSync has no snapshot-id field).
 */
export function resolveRestorePoint(listed: readonly ListedSnapshot[], selector: SnapshotSelector): RestorePoint {
  const eligible = listed.filter((s) => s.previous !== null)
  const byOffset = (n: number) => eligible.find((s) => s.previous === n)
  if (eligible.length === 0) {
    throw new OperationError(
      'the repository has no snapshots the mover can restore (none with path /data); nothing was changed',
    )
  }
  switch (selector.kind) {
    case 'latest':
      return { previous: 0, snapshot: byOffset(0)! }
    case 'offset': {
      const snap = byOffset(selector.previous)
      if (!snap) {
        throw new OperationError(
          `SNAPSHOT=${selector.previous} is out of range: the repository has ${eligible.length} restorable ` +
            `snapshot(s), offsets 0 to ${eligible.length - 1}. Nothing was changed.`,
        )
      }
      return { previous: selector.previous, snapshot: snap }
    }
    case 'time': {
      const target = Math.floor(selector.time.getTime() / 1000)
      const snap = eligible.find((s) => s.epoch <= target)
      if (!snap) {
        throw new OperationError(
          `no snapshot at or before ${selector.text}; the oldest is ${eligible.at(-1)!.time}. Nothing was changed.`,
        )
      }
      return { previous: 0, restoreAsOf: isoSeconds(target), snapshot: snap }
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
      return { previous: 0, restoreAsOf: isoSeconds(snap.epoch), snapshot: snap }
    }
  }
}
