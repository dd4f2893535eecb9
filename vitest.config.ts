import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real sockets and real child processes: keep files from competing for the two cores too much.
    maxWorkers: 2,
  },
});
