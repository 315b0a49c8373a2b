import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    // a fixed zone so local-time formatting is tested against known values
    env: { TZ: 'Europe/Berlin' },
    // vitest keeps a core for its main process (one worker on 2 cores), which
    // here mostly waits: every core runs test files. Each file still runs in a
    // fresh fork (isolate), so no file can leak state into another.
    maxWorkers: Math.max(availableParallelism(), 2),
    // a test that starts task or a script takes seconds on a busy machine, and
    // test/run runs vitest beside the bats files: 5 s (vitest's default) timed
    // out there. No test asserts a duration; this only bounds a hung one.
    testTimeout: 60_000,
  },
})
