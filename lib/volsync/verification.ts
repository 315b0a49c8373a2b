// The record `verify` keeps on a ReplicationSource (an annotation), and what
// `status` makes of it: when the source was last verified, whether its last
// verification failed, whether that is too long ago. Pure.
import { formatAge } from '../output.ts'
import type { ReplicationSource } from './objects.ts'

/** The annotation on the ReplicationSource: one JSON document, the latest verification. */
export const VERIFICATION_ANNOTATION = 'volsync-ops/verification'

export interface VerificationRecord {
  /** when it ended, RFC 3339 UTC */
  time: string
  /** the restic snapshot id verified (quick: the newest one then) */
  snapshot: string | null
  depth: 'quick' | 'deep'
  ok: boolean
  files: number | null
  bytes: number | null
  /** what was found, short */
  message: string
  /** when a verification last succeeded (this one, or an earlier one) */
  lastSuccess: string | null
}

const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v))

/** The record on a source; null when there is none, or it is not ours to read (a hand-edited value). */
export function readVerification(rs: Pick<ReplicationSource, 'metadata'>): VerificationRecord | null {
  const raw = rs.metadata.annotations?.[VERIFICATION_ANNOTATION]
  if (!raw) return null
  let v: Partial<VerificationRecord>
  try {
    v = JSON.parse(raw) as Partial<VerificationRecord>
  } catch {
    return null
  }
  if (typeof v !== 'object' || v === null || !isTime(v.time) || typeof v.ok !== 'boolean') return null
  return {
    time: v.time,
    snapshot: typeof v.snapshot === 'string' ? v.snapshot : null,
    depth: v.depth === 'quick' ? 'quick' : 'deep',
    ok: v.ok,
    files: typeof v.files === 'number' ? v.files : null,
    bytes: typeof v.bytes === 'number' ? v.bytes : null,
    message: typeof v.message === 'string' ? v.message : '',
    lastSuccess: isTime(v.lastSuccess) ? v.lastSuccess : v.ok ? v.time : null,
  }
}

/** The record of a verification that just ended, carrying the last success of the one before. */
export function nextRecord(
  previous: VerificationRecord | null,
  result: Omit<VerificationRecord, 'lastSuccess'>,
): VerificationRecord {
  const message = result.message.length > 300 ? `${result.message.slice(0, 299)}…` : result.message
  return { ...result, message, lastSuccess: result.ok ? result.time : (previous?.lastSuccess ?? null) }
}

/** The merge patch that writes the record. */
export const recordPatch = (record: VerificationRecord) => ({
  metadata: { annotations: { [VERIFICATION_ANNOTATION]: JSON.stringify(record) } },
})

/** Why the verification of a source needs attention; undefined when it does not (or it was never verified). */
export function verificationAttention(record: VerificationRecord | null, now: Date, staleAfterMs: number): string | undefined {
  if (record === null) return undefined
  if (!record.ok) {
    return `last verification failed (${record.depth}, ${formatAge(now.getTime() - Date.parse(record.time))} ago): ${record.message}`
  }
  const age = now.getTime() - Date.parse(record.lastSuccess ?? record.time)
  if (age > staleAfterMs) {
    return `verification stale: last verified ${formatAge(age)} ago, more than ${formatAge(staleAfterMs)} (STALE_AFTER): run task volsync:verify`
  }
  return undefined
}
