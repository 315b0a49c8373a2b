// Pausing backups during a restore: the patches that pause and unpause a
// ReplicationSource. Pure; quiesce.io.ts applies them.
/** Pauses a source: VolSync starts no sync (and stops a running mover) while spec.paused is true. */
export const pausePatch = { spec: { paused: true } }

/**
 * Unpauses, only while it is still paused (the `test` op): put back what was
 * there, an explicit false or no field at all.
 */
export function unpausePatch(pausedWasSet: boolean): unknown[] {
  return [
    { op: 'test', path: '/spec/paused', value: true },
    pausedWasSet ? { op: 'replace', path: '/spec/paused', value: false } : { op: 'remove', path: '/spec/paused' },
  ]
}
