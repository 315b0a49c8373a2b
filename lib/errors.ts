// The error classes every layer throws, and the exit codes they map to
// (lib/run.ts maps them): bad usage 2, a failed operation 1, Ctrl-C 130.
export const EXIT = {
  OK: 0,
  /** the operation failed, or something needs attention */
  FAILED: 1,
  /** bad usage: nothing was changed */
  USAGE: 2,
  INTERRUPTED: 130,
  TERMINATED: 143,
} as const

/** Bad input. Exit code 2; nothing was changed. */
export class UsageError extends Error {
  readonly exitCode: number = EXIT.USAGE
}

/** The operation failed (or found something that needs attention). Exit code 1. */
export class OperationError extends Error {
  readonly exitCode: number = EXIT.FAILED
  /** Extra lines shown under the message, e.g. the tail of a log. */
  readonly details: string
  constructor(message: string, details = '') {
    super(message)
    this.details = details
  }
}

export class TimeoutError extends OperationError {}

/** Thrown when the user interrupts; exit code 130. */
export class InterruptedError extends Error {
  readonly exitCode: number = EXIT.INTERRUPTED
  constructor(message = 'interrupted') {
    super(message)
  }
}

/** The message of anything thrown (an Error's message, else its text). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
