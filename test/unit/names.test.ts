import { describe, expect, it } from 'vitest'
import { newToken } from '../../lib/names.ts'

describe('newToken', () => {
  it('is volsync-ops-<purpose>-<UTC time>-<5 random characters>', () => {
    const t = newToken('snapshot', new Date('2026-11-26T04:05:06.789Z'), () => 0)
    expect(t).toBe('volsync-ops-snapshot-20261126T040506Z-aaaaa')
  })

  it('differs between two calls in the same second', () => {
    const now = new Date('2026-11-26T04:05:06Z')
    expect(newToken('unlock', now)).not.toBe(newToken('unlock', now))
  })

  it('needs no quoting in a shell, a JSON patch or a jsonpath', () => {
    expect(newToken('unlock', new Date())).toMatch(/^[A-Za-z0-9-]+$/)
  })
})
