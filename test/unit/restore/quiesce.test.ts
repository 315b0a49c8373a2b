import { describe, expect, it } from 'vitest'
import { pausePatch, unpausePatch } from '../../../lib/restore/quiesce.ts'

/** A healthy source: scheduled, synced 2h ago, next sync in 6h. */
describe('pausePatch / unpausePatch', () => {
  it('pauses with a merge patch', () => {
    expect(pausePatch).toEqual({ spec: { paused: true } })
  })
  it.each([
    [false, { op: 'remove', path: '/spec/paused' }],
    [true, { op: 'replace', path: '/spec/paused', value: false }],
  ])('unpauses only while paused; pausedWasSet=%s puts back what was there', (wasSet, second) => {
    expect(unpausePatch(wasSet)).toEqual([{ op: 'test', path: '/spec/paused', value: true }, second])
  })
})
