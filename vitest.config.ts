import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One temporary folder per run, removed at the end (test/setup/tmpdir.ts); dist/ built once, before any file
    // runs (test/setup/build.ts), and the image where podman runs (test/setup/image.ts).
    globalSetup: ['test/setup/tmpdir.ts', 'test/setup/build.ts', 'test/setup/image.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real sockets and real child processes: keep files from competing for the two cores too much.
    maxWorkers: 2,
  },
});
