import { describe, expect, it } from 'vitest'
import { summarizeSource } from '../../../lib/volsync/health.ts'
import { labelValue, prometheusText } from '../../../lib/volsync/metrics.ts'
import type { ReplicationSource } from '../../../lib/volsync/objects.ts'
import { VERIFICATION_ANNOTATION, nextRecord, readVerification, recordPatch, verificationAttention, type VerificationRecord } from '../../../lib/volsync/verification.ts'

const NOW = new Date('2026-11-26T12:00:00Z')
const DAY = 86_400_000
const record = (over: Partial<VerificationRecord> = {}): VerificationRecord => ({
  time: '2026-11-25T12:00:00Z', snapshot: 'a'.repeat(64), depth: 'deep', ok: true, files: 7, bytes: 15, message: 'fine', lastSuccess: '2026-11-25T12:00:00Z', ...over,
})
const source = (annotation?: string): ReplicationSource => ({
  metadata: { name: 'odoo-backup', namespace: 'business', ...(annotation === undefined ? {} : { annotations: { [VERIFICATION_ANNOTATION]: annotation } }) },
  spec: { sourcePVC: 'odoo-data', trigger: { schedule: '0 */8 * * *' }, restic: { repository: 's' } },
  status: { lastSyncTime: '2026-11-26T10:00:00Z', nextSyncTime: '2026-11-26T16:00:00Z', latestMoverStatus: { result: 'Successful' } },
})

describe('the record on the ReplicationSource', () => {
  it('round-trips through the annotation', () => {
    const r = record()
    expect(readVerification(source(JSON.stringify(r)))).toEqual(r)
    expect(recordPatch(r)).toEqual({ metadata: { annotations: { 'volsync-ops/verification': JSON.stringify(r) } } })
  })
  it.each<[string, string | undefined]>([
    ['none', undefined],
    ['not JSON', 'yes'],
    ['no time', '{"ok":true}'],
    ['no outcome', '{"time":"2026-11-25T12:00:00Z"}'],
  ])('%s: no record', (_name, annotation) => {
    expect(readVerification(source(annotation))).toBeNull()
  })
  it('a failure keeps the last success of the record before it; a success is its own', () => {
    const failed = nextRecord(record(), { ...record({ ok: false, time: '2026-11-26T11:00:00Z', message: 'x'.repeat(400) }) })
    expect(failed.lastSuccess).toBe('2026-11-25T12:00:00Z')
    expect(failed.message).toHaveLength(300)
    expect(nextRecord(null, record({ ok: false })).lastSuccess).toBeNull()
    expect(nextRecord(record({ ok: false, lastSuccess: null }), record({ time: '2026-11-26T11:00:00Z' })).lastSuccess).toBe('2026-11-26T11:00:00Z')
  })
})

describe('verificationAttention', () => {
  it.each<[string, VerificationRecord | null, number, string | undefined]>([
    ['never verified: not flagged', null, 30 * DAY, undefined],
    ['verified a day ago', record(), 30 * DAY, undefined],
    ['failed', record({ ok: false, time: '2026-11-26T11:00:00Z', message: 'the CHECK exited 1' }), 30 * DAY, 'last verification failed (deep, 1h ago): the CHECK exited 1'],
    ['stale', record({ time: '2026-10-01T12:00:00Z', lastSuccess: '2026-10-01T12:00:00Z' }), 30 * DAY, 'verification stale: last verified 56d ago, more than 30d (STALE_AFTER): run task volsync:verify'],
    ['stale by a shorter STALE_AFTER', record(), 12 * 3_600_000, 'verification stale: last verified 24h ago, more than 12h (STALE_AFTER): run task volsync:verify'],
  ])('%s', (_name, r, stale, reason) => {
    expect(verificationAttention(r, NOW, stale)).toBe(reason)
  })

  it('status: a failed verification makes the source need attention', () => {
    const s = summarizeSource(source(JSON.stringify(record({ ok: false, lastSuccess: null }))), NOW)
    expect(s.healthy).toBe(false)
    expect(s.attention).toEqual([expect.stringMatching(/^last verification failed/)])
    expect(summarizeSource(source(JSON.stringify(record())), NOW)).toMatchObject({ healthy: true, lastVerified: '2026-11-25T12:00:00Z' })
  })
})

describe('prometheusText', () => {
  it('per source: last sync, its result, last verified, the latest verification, health; absent values left out', () => {
    const verified = summarizeSource(source(JSON.stringify(record())), NOW)
    const never = summarizeSource({ ...source(), metadata: { name: 'new-backup', namespace: 'media' }, status: {} }, NOW)
    expect(prometheusText([verified, never], 'apps').split('\n')).toEqual([
      '# HELP volsync_ops_last_sync_timestamp_seconds Time of the last successful sync (status.lastSyncTime) of the ReplicationSource, in seconds since the epoch.',
      '# TYPE volsync_ops_last_sync_timestamp_seconds gauge',
      'volsync_ops_last_sync_timestamp_seconds{cluster="apps",namespace="business",source="odoo-backup"} 1795687200',
      '# HELP volsync_ops_last_sync_success Whether the last mover run of the ReplicationSource succeeded (1) or failed (0).',
      '# TYPE volsync_ops_last_sync_success gauge',
      'volsync_ops_last_sync_success{cluster="apps",namespace="business",source="odoo-backup"} 1',
      '# HELP volsync_ops_last_verified_timestamp_seconds Time of the last successful verification (task volsync:verify) of the ReplicationSource, in seconds since the epoch.',
      '# TYPE volsync_ops_last_verified_timestamp_seconds gauge',
      'volsync_ops_last_verified_timestamp_seconds{cluster="apps",namespace="business",source="odoo-backup"} 1795608000',
      '# HELP volsync_ops_last_verification_success Whether the latest verification of the ReplicationSource succeeded (1) or failed (0).',
      '# TYPE volsync_ops_last_verification_success gauge',
      'volsync_ops_last_verification_success{cluster="apps",namespace="business",source="odoo-backup"} 1',
      '# HELP volsync_ops_healthy Whether volsync:status finds the ReplicationSource healthy (1) or in need of attention (0).',
      '# TYPE volsync_ops_healthy gauge',
      'volsync_ops_healthy{cluster="apps",namespace="business",source="odoo-backup"} 1',
      'volsync_ops_healthy{cluster="apps",namespace="media",source="new-backup"} 0',
      '',
    ])
  })
  it('escapes label values', () => {
    expect(labelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd')
  })
})
