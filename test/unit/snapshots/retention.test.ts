import { describe, expect, it } from 'vitest'
import {
  applyPolicy,
  forgetFlags,
  policySnapshot,
  predictNewSnapshot,
  predictRetention,
  retainPolicy,
  sourceRetention,
  type RetainPolicy,
} from '../../../lib/snapshots/retention.ts'
import { nextRun, parseSchedule, type Schedule } from '../../../lib/volsync/schedule.ts'

const at = (iso: string) => Date.parse(iso)
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')
const policy = (retain: unknown) => retainPolicy(retain) as RetainPolicy
const schedule = (spec: string) => parseSchedule(spec) as Schedule
const snap = (id: string, time: string, hostname = 'volsync') => policySnapshot({ id, time, hostname, paths: ['/data'] })

describe('parseSchedule / nextRun (robfig/cron as VolSync parses it, UTC)', () => {
  it.each([
    ['0 */8 * * *', '2026-11-25T04:00:09Z', ['2026-11-25T08:00:00Z', '2026-11-25T16:00:00Z', '2026-11-26T00:00:00Z']],
    ['*/15 * * * *', '2026-11-25T04:59:00Z', ['2026-11-25T05:00:00Z', '2026-11-25T05:15:00Z', '2026-11-25T05:30:00Z']],
    ['30 2 * * mon', '2026-11-25T00:00:00Z', ['2026-11-30T02:30:00Z', '2026-12-07T02:30:00Z', '2026-12-14T02:30:00Z']],
    // both day fields restricted: either matches
    ['0 0 1 * 0', '2026-11-25T00:00:00Z', ['2026-11-29T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12-06T00:00:00Z']],
    ['@daily', '2026-12-31T23:59:30Z', ['2027-01-01T00:00:00Z', '2027-01-02T00:00:00Z', '2027-01-03T00:00:00Z']],
    ['CRON_TZ=UTC 5 4 * jan-feb *', '2026-11-25T00:00:00Z', ['2027-01-01T04:05:00Z', '2027-01-02T04:05:00Z', '2027-01-03T04:05:00Z']],
    ['@every 90m', '2026-11-25T00:00:00Z', ['2026-11-25T01:30:00Z', '2026-11-25T03:00:00Z', '2026-11-25T04:30:00Z']],
  ])('%s after %s', (spec, from, expected) => {
    const s = schedule(spec)
    expect(s).not.toHaveProperty('error')
    const runs: string[] = []
    let t = at(from)
    for (const _ of expected) runs.push(iso((t = nextRun(s, t))))
    expect(runs).toEqual(expected)
  })

  it.each(['0 */8 * *', 'TZ=Europe/Berlin 0 * * * *', '61 * * * *', '@fortnightly', '0 0 * * 7'])('%s is not modelled', (spec) => {
    expect(parseSchedule(spec)).toHaveProperty('error')
  })
})

describe('retainPolicy and forgetFlags (VolSync generateForgetOptions)', () => {
  it.each([
    [undefined, ['--keep-last', '1'], { last: 1 }],
    [{}, ['--keep-last', '1'], { last: 1 }],
    [{ hourly: 24, daily: 7 }, ['--keep-hourly', '24', '--keep-daily', '7'], { hourly: 24, daily: 7 }],
    [{ within: '1y2m', last: 'unlimited' }, ['--keep-within', '1y2m', '--keep-last', 'unlimited'], { last: -1, within: { years: 1, months: 2, days: 0, hours: 0 } }],
  ])('%j', (retain, flags, fields) => {
    expect(forgetFlags(retain)).toEqual(flags)
    expect(retainPolicy(retain)).toMatchObject(fields)
  })

  it.each([[{ hourly: -1 }], [{ within: '3w' }], [{ last: 'all' }], [{ hourly: 0 }]])('%j is refused by restic', (retain) => {
    expect(retainPolicy(retain)).toHaveProperty('error')
  })
})

describe('applyPolicy', () => {
  it('keeps the newest of each hour and day, and the oldest while counts are left', () => {
    const group = [
      snap('c', '2026-11-25T04:40:00Z'),
      snap('b', '2026-11-25T04:00:00Z'),
      snap('a', '2026-11-24T10:00:00Z'),
    ]
    expect(Object.fromEntries(applyPolicy(group, policy({ hourly: 24, daily: 7 }), at('2026-11-26T00:00:00Z')))).toEqual({
      c: ['hourly snapshot', 'daily snapshot'],
      a: ['hourly snapshot', 'daily snapshot'],
    })
    expect(Object.fromEntries(applyPolicy(group, policy({ hourly: 1 }), at('2026-11-26T00:00:00Z')))).toEqual({
      c: ['hourly snapshot'],
    })
    // one count left when the oldest comes: it is kept although its hour was seen
    expect(Object.fromEntries(applyPolicy(group.slice(0, 2), policy({ hourly: 2 }), at('2026-11-26T00:00:00Z')))).toEqual({
      c: ['hourly snapshot'],
      b: ['oldest hourly snapshot'],
    })
  })
})

describe('predictRetention: the next scheduled backups applied one by one', () => {
  const retain = policy({ hourly: 24, daily: 7 })
  const now = at('2026-11-25T08:30:00Z')

  it('a snapshot taken by hand in the hour of the next backup goes with that backup', () => {
    const fates = predictRetention(
      [snap('old', '2026-11-20T00:00:00Z'), snap('sched', '2026-11-25T08:00:05Z'), snap('manual', '2026-11-25T08:20:00Z')],
      retain,
      schedule('*/30 * * * *'),
      at('2026-11-25T08:25:00Z'),
    )
    expect(fates.get('manual')).toEqual({ keptBy: ['hourly snapshot', 'daily snapshot'], until: { at: at('2026-11-25T08:30:00Z'), backups: 1 } })
    // the scheduled one of 08:00 was already replaced in its hour and day by the manual one
    expect(fates.get('sched')).toEqual({ keptBy: [], until: { at: at('2026-11-25T08:30:00Z'), backups: 1 } })
    // the oldest is kept while the rules have counts left: until 7 newer days (25 November to 1 December) are counted
    expect(fates.get('old')!.until).toEqual({ at: at('2026-12-01T00:00:00Z'), backups: 272 })
  })

  it('with a schedule every 8 hours, the hourly rule keeps a snapshot for 24 backups, then the daily one', () => {
    const fates = predictRetention([snap('old', '2026-11-01T00:00:00Z'), snap('s', '2026-11-25T08:20:00Z')], retain, schedule('0 */8 * * *'), now)
    // 24 newer hours are 8 days of backups; by then 7 newer days are counted too
    expect(fates.get('s')!.until).toEqual({ at: at('2026-12-03T08:00:00Z'), backups: 24 })
  })

  it('no schedule: nothing forgets; another host: VolSync never forgets it', () => {
    const fates = predictRetention([snap('s', '2026-11-25T08:20:00Z'), snap('l', '2026-11-25T08:21:00Z', 'laptop')], retain, null, now)
    expect(fates.get('s')).toEqual({ keptBy: ['hourly snapshot', 'daily snapshot'], until: null, open: { kind: 'no-schedule' } })
    expect(fates.get('l')).toEqual({ keptBy: null, until: null, open: { kind: 'other-host' } })
  })

  it('predictNewSnapshot: only the newer scheduled backups decide', () => {
    const taken = at('2026-11-25T08:20:00Z')
    expect(predictNewSnapshot(taken, retain, schedule('*/30 * * * *'), at('2026-11-25T08:25:00Z')).until).toEqual({
      at: at('2026-11-25T08:30:00Z'),
      backups: 1,
    })
    // the next backup is in another hour: kept until 24 newer hours are counted
    expect(predictNewSnapshot(taken, retain, schedule('0 * * * *'), now).until).toEqual({ at: at('2026-11-26T08:00:00Z'), backups: 24 })
    expect(predictNewSnapshot(at('2026-11-25T08:20:00Z'), policy(undefined), schedule('0 */8 * * *'), now).until).toEqual({
      at: at('2026-11-25T16:00:00Z'),
      backups: 1,
    })
  })
})

describe('sourceRetention: what the ReplicationSource says', () => {
  const rs = (trigger: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    spec: { trigger, restic: { retain: { hourly: 24, daily: 7 } }, ...extra },
  })
  it.each([
    [rs({ schedule: '0 */8 * * *' }), 'cron', true, []],
    [rs({ schedule: '0 */8 * * *', manual: 'parked' }), null, true, ['spec.trigger.manual is set: the schedule is ignored; each new manual value runs a backup and a forget']],
    [rs({ schedule: '0 */8 * * *' }, { paused: true }), null, true, ['the source is paused (spec.paused): no backup runs, nothing is forgotten until it is unpaused']],
    [rs({}), 'every', true, ['no schedule: VolSync backs up continuously; the prediction assumes one backup a minute']],
    [rs({ schedule: 'TZ=Europe/Berlin 0 3 * * *' }), null, false, ['schedule "TZ=Europe/Berlin 0 3 * * *": time zone Europe/Berlin is not modelled (UTC only): no prediction of when snapshots are forgotten']],
  ])('%j', (source, kind, predictable, notes) => {
    const r = sourceRetention(source)
    expect(r.schedule?.kind ?? null).toBe(kind)
    expect(r.predictable).toBe(predictable)
    expect(r.notes).toEqual(notes)
    expect(r.forget).toBe('--keep-hourly 24 --keep-daily 7')
  })
})
