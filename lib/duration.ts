// Go durations ("90s", "1h30m", "1m3.456789s"), as TIMEOUT takes them and as
// VolSync writes status.lastSyncDuration (metav1.Duration). Pure.

const UNIT_MS = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const

export type DurationUnit = keyof typeof UNIT_MS

/** Every unit Go prints. */
export const GO_UNITS: readonly DurationUnit[] = Object.keys(UNIT_MS) as DurationUnit[]

const PATTERNS = new WeakMap<readonly DurationUnit[], { whole: RegExp; part: RegExp }>()

/** The patterns of a set of units, built once per set (status parses a duration per source). */
function durationPatterns(units: readonly DurationUnit[]): { whole: RegExp; part: RegExp } {
  let p = PATTERNS.get(units)
  if (!p) {
    // longest unit names first, so "ms" is not read as "m" followed by "s"
    const alternatives = [...units].sort((a, b) => b.length - a.length).join('|')
    p = { whole: new RegExp(`^(\\d+(\\.\\d+)?(${alternatives}))+$`), part: new RegExp(`(\\d+(?:\\.\\d+)?)(${alternatives})`, 'g') }
    PATTERNS.set(units, p)
  }
  return p
}

/**
 * A duration made of number+unit parts ("1h30m", "850ms") in milliseconds;
 * undefined when unreadable or when it uses a unit outside `units`.
 */
export function parseGoDuration(value: string | undefined, units: readonly DurationUnit[] = GO_UNITS): number | undefined {
  if (!value) return undefined
  const { whole, part } = durationPatterns(units)
  if (!whole.test(value)) return undefined
  let ms = 0
  for (const [, n, unit] of value.matchAll(part)) {
    ms += Number(n) * UNIT_MS[unit as DurationUnit]
  }
  return ms
}
