import { describe, expect, it } from 'vitest'
import { TIMEOUT_UNITS } from '../../lib/cli.ts'
import { parseGoDuration } from '../../lib/duration.ts'

describe('parseGoDuration with every Go unit (status.lastSyncDuration)', () => {
  it.each<[string | undefined, number | undefined]>([
    ['1m3.202331847s', 63_202.331847],
    ['2h0m0s', 7_200_000],
    ['58.114s', 58_114],
    ['850ms', 850],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2000000ns', 2],
    ['0s', 0],
    [undefined, undefined],
    ['', undefined],
    ['1d', undefined],
    ['-1s', undefined],
    ['1m 3s', undefined],
    ['s', undefined],
  ])('%j -> %s', (value, ms) => {
    const got = parseGoDuration(value)
    if (ms === undefined) expect(got).toBeUndefined()
    else expect(got).toBeCloseTo(ms, 6)
  })
})

describe("parseGoDuration with TIMEOUT's units (ms, s, m, h)", () => {
  it.each<[string, number | undefined]>([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1h30m15s', 5_415_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    ['0s', 0],
    ['5m5m', 600_000],
    ['30', undefined],
    ['', undefined],
    ['1d', undefined],
    ['m', undefined],
    ['-5m', undefined],
    ['5 m', undefined],
    ['5M', undefined],
    ['1h 30m', undefined],
    ['.5s', undefined],
    // Go units that TIMEOUT does not take
    ['1500us', undefined],
    ['2000000ns', undefined],
  ])('%j -> %s ms', (value, ms) => {
    expect(parseGoDuration(value, TIMEOUT_UNITS)).toBe(ms)
  })
})
