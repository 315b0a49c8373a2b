import { describe, expect, it } from 'vitest'
import { Cleanup, manualCleanupText, type UndoStep } from '../../lib/cleanup.ts'

/** A step that records its undo in `order`, failing when told to (`failures` times). */
function step(order: string[], what: string, failures = 0): UndoStep {
  let left = failures
  return {
    what,
    undo: async () => {
      order.push(what)
      if (left > 0) {
        left--
        throw new Error(`${what} broke`)
      }
    },
    manual: [`kubectl fix ${what}`],
  }
}

describe('Cleanup', () => {
  it('runs the undos last-in first-out, once, and reports them', async () => {
    const order: string[] = []
    const log: string[] = []
    const c = new Cleanup((l) => log.push(l))
    c.push(step(order, 'suspend flux'))
    c.push(step(order, 'scale down'))
    c.push(step(order, 'create destination'))
    expect(c.pending.map((s) => s.what)).toEqual(['create destination', 'scale down', 'suspend flux'])
    const report = await c.run()
    expect(order).toEqual(['create destination', 'scale down', 'suspend flux'])
    expect(report).toEqual({ done: ['create destination', 'scale down', 'suspend flux'], failed: [] })
    expect(log).toEqual([
      'clean-up: create destination: done',
      'clean-up: scale down: done',
      'clean-up: suspend flux: done',
    ])
    expect(c.pending).toEqual([])
    await c.run()
    expect(order).toHaveLength(3)
  })

  it('a failing undo does not stop the others; the report names it with its error', async () => {
    const order: string[] = []
    const log: string[] = []
    const c = new Cleanup((l) => log.push(l))
    const a = step(order, 'a')
    const b = step(order, 'b', 1)
    c.push(a)
    c.push(b)
    c.push(step(order, 'c'))
    const report = await c.run()
    expect(order).toEqual(['c', 'b', 'a'])
    expect(report.done).toEqual(['c', 'a'])
    expect(report.failed).toEqual([{ step: b, error: 'b broke' }])
    expect(log).toContain('clean-up: b: FAILED: b broke')
  })

  it('a thrown non-Error is reported as text', async () => {
    const c = new Cleanup()
    c.push({ what: 'x', undo: () => Promise.reject('plain string'), manual: [] })
    expect((await c.run()).failed[0]!.error).toBe('plain string')
  })

  it('push returns a function that drops the step (undone in the normal flow)', async () => {
    const order: string[] = []
    const c = new Cleanup()
    c.push(step(order, 'a'))
    const drop = c.push(step(order, 'b'))
    drop()
    expect(c.pending.map((s) => s.what)).toEqual(['a'])
    await c.run()
    expect(order).toEqual(['a'])
  })

  it('undoNow runs one step at once and forgets it', async () => {
    const order: string[] = []
    const log: string[] = []
    const c = new Cleanup((l) => log.push(l))
    const pod = step(order, 'delete the list pod')
    c.push(step(order, 'other'))
    c.push(pod)
    await c.undoNow(pod)
    expect(order).toEqual(['delete the list pod'])
    expect(c.pending.map((s) => s.what)).toEqual(['other'])
    expect(log).toEqual(['clean-up: delete the list pod: done'])
    await c.run()
    expect(order).toEqual(['delete the list pod', 'other'])
  })

  it('undoNow that fails keeps the step, so the final run retries it', async () => {
    const order: string[] = []
    const log: string[] = []
    const c = new Cleanup((l) => log.push(l))
    const pod = step(order, 'delete the list pod', 1)
    c.push(pod)
    await expect(c.undoNow(pod)).resolves.toBeUndefined()
    expect(log).toEqual(['clean-up: delete the list pod: failed (delete the list pod broke); will retry'])
    expect(c.pending).toEqual([pod])
    const report = await c.run()
    expect(report.done).toEqual(['delete the list pod'])
    expect(order).toEqual(['delete the list pod', 'delete the list pod'])
  })

  it('logs nothing by default', async () => {
    const c = new Cleanup()
    c.push(step([], 'a', 1))
    await expect(c.run()).resolves.toMatchObject({ failed: [{ error: 'a broke' }] })
  })
})

describe('manualCleanupText', () => {
  it('tells the operator what to run, step by step, in order', () => {
    const order: string[] = []
    expect(manualCleanupText([step(order, 'scale up business/odoo'), { what: 'resume flux', undo: async () => {}, manual: ['flux a', 'flux b'] }])).toBe(
      [
        'The clean-up is incomplete. Finish it by hand, in this order:',
        '  # scale up business/odoo',
        '  kubectl fix scale up business/odoo',
        '  # resume flux',
        '  flux a',
        '  flux b',
      ].join('\n'),
    )
  })
})
