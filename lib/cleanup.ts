// One undo stack per run: "never leave a cluster worse than you found it".
// A step that changes the cluster pushes its undo BEFORE it acts (each undo is
// idempotent: deleting what is gone, or a JSON patch guarded by a `test` op),
// so an interrupt half way through an action is still undone. The stack runs
// last-in first-out on success, failure, timeout, SIGINT and SIGTERM.
import { errorText } from './errors.ts'

export interface UndoStep {
  /** "remove the manual trigger of media/app-backup" */
  what: string
  /** resolves to a few words on what it did when "done" would not say it ("left alone: ...") */
  undo: () => Promise<void | string>
  /** commands that finish the step by hand, printed when it fails */
  manual: readonly string[]
}

export interface CleanupReport {
  done: string[]
  failed: { step: UndoStep; error: string }[]
}

export class Cleanup {
  private steps: UndoStep[] = []
  private readonly log: (line: string) => void
  constructor(log: (line: string) => void = () => {}) {
    this.log = log
  }

  /** Registers an undo; returns a function that drops it again (when the action was undone in the normal flow). */
  push(step: UndoStep): () => void {
    this.steps.push(step)
    return () => {
      this.steps = this.steps.filter((s) => s !== step)
    }
  }

  /**
   * Undoes one step now (e.g. a helper pod as soon as its job is done). If the
   * undo fails the step stays registered, so the final run retries it and
   * prints how to finish it by hand.
   */
  async undoNow(step: UndoStep): Promise<void> {
    try {
      const said = await step.undo()
      this.steps = this.steps.filter((s) => s !== step)
      this.log(`clean-up: ${step.what}: ${said || 'done'}`)
    } catch (err) {
      // left on the stack on purpose: the final run retries and reports it
      this.log(`clean-up: ${step.what}: failed (${errorText(err)}); will retry`)
    }
  }

  get pending(): readonly UndoStep[] {
    return [...this.steps].reverse()
  }

  /** Runs every registered undo once, newest first; a failing step does not stop the others. */
  async run(): Promise<CleanupReport> {
    const log = this.log
    const report: CleanupReport = { done: [], failed: [] }
    while (this.steps.length > 0) {
      const step = this.steps.pop()!
      try {
        const said = await step.undo()
        report.done.push(step.what)
        log(`clean-up: ${step.what}: ${said || 'done'}`)
      } catch (err) {
        const error = errorText(err)
        report.failed.push({ step, error })
        log(`clean-up: ${step.what}: FAILED: ${error}`)
      }
    }
    return report
  }
}

/** The text that tells an operator how to finish a clean-up by hand. */
export function manualCleanupText(steps: readonly UndoStep[]): string {
  return [
    'The clean-up is incomplete. Finish it by hand, in this order:',
    ...steps.flatMap((s) => [`  # ${s.what}`, ...s.manual.map((c) => `  ${c}`)]),
  ].join('\n')
}
