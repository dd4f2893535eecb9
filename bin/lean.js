// How ballast runs lean however it is started (`npm start`, `npx ballast`, systemd, the image's ENTRYPOINT): the
// Node.js and glibc settings the DaemonSet's memory figures are measured with (docs/performance.md §2). The launcher
// (bin/ballast.js) applies them by replacing its own process (execve, same PID) before ballast is loaded. A flag or
// variable already given, on the command line, in NODE_OPTIONS or in the environment, is left as it is;
// BALLAST_LEAN=0 turns all of this off.

/**
 * V8 flags. --max-semi-space-size=1: the young generation stays at 1 MiB per semi-space instead of growing to 16 MiB
 * under load (about 7 MiB idle, up to 30 MiB under load, for a few more scavenges). --max-old-space-size=64: the
 * JS heap holds no cached answers (they live in the cache's ArrayBuffer slabs, outside it), so 64 MiB is ample and
 * well inside the pod's memory limit. --no-maglev: no mid-tier compiler; hot code still reaches TurboFan; 3 MiB less
 * after cache hits, about 15 MiB less after a burst of misses, for about 3 % more CPU per query.
 * --optimize-for-size: the heap grows in smaller steps and gives back pages a burst of misses leaves half empty
 * (about 9 MiB less with 100,000 entries).
 */
export const LEAN_NODE_FLAGS = [
  '--max-semi-space-size=1',
  '--max-old-space-size=64',
  '--no-maglev',
  '--optimize-for-size',
];

/**
 * glibc malloc. MALLOC_ARENA_MAX=1: one arena for every thread; by default each thread that allocates (V8's
 * compiler and GC workers, libuv's pool) gets its own and keeps what it freed resident (9–13 MiB after the first
 * 10,000 misses). MALLOC_TRIM_THRESHOLD_=262144: free memory at the top of the heap goes back to the kernel past
 * 256 KiB (the default drifts to about 2 MiB), and the mmap threshold stays at 128 KiB, so the cache's 1 MiB slabs
 * are mapped on their own. glibc reads both at process start, hence the re-exec; other C libraries ignore them.
 */
export const LEAN_ENV = { MALLOC_ARENA_MAX: '1', MALLOC_TRIM_THRESHOLD_: '262144' };

const flagName = (arg) => arg.split('=')[0].replace(/_/g, '-');

/**
 * What the process lacks of the lean settings: the flags to add and the environment to run with, or undefined when
 * nothing is missing (or BALLAST_LEAN=0). Pure: `execArgv` and `env` are the process's own.
 */
export function leanRelaunch(execArgv, env) {
  if (env.BALLAST_LEAN === '0') return undefined;
  const given = new Set([...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].filter(Boolean).map(flagName));
  const flags = LEAN_NODE_FLAGS.filter((f) => !given.has(flagName(f)));
  const missing = Object.entries(LEAN_ENV).filter(([k]) => env[k] === undefined);
  if (flags.length === 0 && missing.length === 0) return undefined;
  return { flags, env: { ...env, ...Object.fromEntries(missing) } };
}
