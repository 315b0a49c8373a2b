// Asking the operator on the terminal. The question goes to stderr (stdout
// carries results); the answer is one line of stdin. The terminal stays in
// its normal (cooked) mode, so Ctrl-C is a SIGINT like everywhere else in a
// run, and aborts the question through the run's signal.
import { createInterface } from 'node:readline'
import { InterruptedError } from './errors.ts'

/** One line of answer; null when stdin ends (Ctrl-D) before a line. */
export function askLine(question: string, signal: AbortSignal): Promise<string | null> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new InterruptedError('interrupted at the confirmation question'))
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false })
    let settled = false
    const finish = (fn: () => void) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      rl.close()
      process.stdin.pause()
      fn()
    }
    const onAbort = () => finish(() => reject(new InterruptedError('interrupted at the confirmation question')))
    signal.addEventListener('abort', onAbort, { once: true })
    rl.once('line', (line) => finish(() => resolve(line)))
    rl.once('close', () => finish(() => resolve(null)))
    process.stderr.write(question)
  })
}
