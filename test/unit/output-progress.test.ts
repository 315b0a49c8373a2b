import { afterEach, describe, expect, it, vi } from 'vitest'
import { Progress } from '../../lib/output.ts'

describe('Progress on a terminal', () => {
  afterEach(() => vi.useRealTimers())

  it('cuts a long text to the width, never the elapsed time', () => {
    vi.useFakeTimers()
    const written: string[] = []
    const progress = new Progress({ isTTY: true, columns: 40, write: (s: string) => written.push(s) }, 'backup of business/odoo-backup')
    vi.advanceTimersByTime(75_000)
    progress.update('waiting for the running sync to end')
    progress.stop()
    const line = written[0]!.replace('\r\x1b[K', '')
    expect(line).toBe('backup of business/odoo-backup… · 1m15s')
    expect(line.length).toBeLessThanOrEqual(39)
  })
})
