import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    // a fixed zone so local-time formatting is tested against known values
    env: { TZ: 'Europe/Berlin' },
  },
})
