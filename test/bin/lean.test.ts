// The launcher (bin/ballast.js, bin/lean.js): however ballast is started, it runs with the settings its memory
// figures were measured with, in the same process, and a setting the operator gave is kept.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LEAN_ENV, LEAN_NODE_FLAGS, leanRelaunch } from '../../bin/lean.js';
import { type CliProcess, startCli } from '../helpers/cli.js';
import { type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';

describe('what the launcher adds', () => {
  it('adds every flag and variable to a bare process', () => {
    expect(leanRelaunch([], { PATH: '/bin' })).toEqual({
      flags: [...LEAN_NODE_FLAGS],
      env: { PATH: '/bin', ...LEAN_ENV },
    });
  });

  it('keeps what the operator gave, on the command line, in NODE_OPTIONS or in the environment', () => {
    const got = leanRelaunch(['--max-old-space-size=256'], {
      NODE_OPTIONS: '--max_semi_space_size=4 --enable-source-maps',
      MALLOC_ARENA_MAX: '2',
    });
    expect(got?.flags).toEqual(['--no-maglev', '--optimize-for-size']);
    expect(got?.env.MALLOC_ARENA_MAX).toBe('2');
    expect(got?.env.MALLOC_TRIM_THRESHOLD_).toBe(LEAN_ENV.MALLOC_TRIM_THRESHOLD_);
  });

  it('adds nothing once everything is there (no second re-run), and nothing with BALLAST_LEAN=0', () => {
    expect(leanRelaunch([...LEAN_NODE_FLAGS], { ...LEAN_ENV })).toBeUndefined();
    expect(leanRelaunch([], { BALLAST_LEAN: '0' })).toBeUndefined();
  });
});

describe('`node bin/ballast.js serve`, as npm start, npx and systemd run it', () => {
  let upstream: FakeUpstream;
  let cli: CliProcess | undefined;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
  });
  afterEach(async () => {
    await cli?.stop();
    cli = undefined;
  });
  afterAll(async () => {
    await upstream.close();
  });

  /** The running process's own argv and environment, from /proc: what the kernel runs, not what was asked. */
  const procOf = (pid: number) => ({
    argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean),
    env: readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0'),
  });
  const bare = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MALLOC_')));

  it('re-runs itself in the same process with the lean flags and malloc settings', async () => {
    cli = await startCli(['--upstream', upstream.address], { env: bare() });
    const { argv, env } = procOf(cli.child.pid!);
    expect(argv.slice(1, 1 + LEAN_NODE_FLAGS.length)).toEqual(LEAN_NODE_FLAGS);
    expect(argv[1 + LEAN_NODE_FLAGS.length]).toMatch(/bin\/ballast\.js$/);
    for (const [k, v] of Object.entries(LEAN_ENV)) expect(env).toContain(`${k}=${v}`);
    // In effect, not only on the command line: V8's heap limit is the 64 MiB old space plus a small young generation.
    const text = await fetch(`http://127.0.0.1:${cli.adminPort}/metrics`).then((r) => r.text());
    const limit = Number(/^ballast_nodejs_heap_size_limit_bytes (\S+)$/m.exec(text)?.[1]);
    expect(limit).toBeGreaterThanOrEqual(64 * 2 ** 20);
    expect(limit).toBeLessThan(72 * 2 ** 20);
  });

  it('keeps a flag given to node, and runs as started with BALLAST_LEAN=0', async () => {
    cli = await startCli(['--upstream', upstream.address], { nodeArgs: ['--max-old-space-size=96'], env: bare() });
    const kept = procOf(cli.child.pid!).argv;
    expect(kept.filter((a) => a.startsWith('--max-old-space-size'))).toEqual(['--max-old-space-size=96']);
    expect(kept).toContain('--no-maglev');
    await cli.stop();

    cli = await startCli(['--upstream', upstream.address], { env: { ...bare(), BALLAST_LEAN: '0' } });
    const { argv, env } = procOf(cli.child.pid!);
    expect(argv.some((a) => LEAN_NODE_FLAGS.includes(a))).toBe(false);
    expect(env.some((e) => e.startsWith('MALLOC_'))).toBe(false);
  });
});
