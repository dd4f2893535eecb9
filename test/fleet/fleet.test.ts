// The fleet simulation (src/fleet, docs/fleet.md) drives ballast's own request path, built from the product's
// config: a product setting changes what the simulated pods see. And it is deterministic: the same seed gives the same
// run, second by second. A tiny fleet and a short outage, so it runs in a few seconds.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLORS } from '../../src/fleet/charts.js';
import { POLICIES } from '../../src/fleet/model.js';
import { runFleet } from '../../src/fleet/run.js';

// December 2024, shortened: 40 s warm, the API server down for 90 s (CoreDNS's replicas answer SERVFAIL from 30 s to
// 45 s in), 40 s after it returns.
const base = {
  scenario: 'dec-2024',
  nodes: 4,
  seed: 7,
  phases: { warmS: 40, faultS: 90, recoverS: 40 },
} as const;

describe('fleet simulation', () => {
  it('answers the names seen before the outage from ballast’s stale cache; without serve-stale they fail', async () => {
    const withStale = await runFleet({ ...base, policy: 'ballast' });
    expect(withStale.summary.seenLookups).toBeGreaterThan(200);
    expect(withStale.summary.seenFailed).toBe(0);
    expect(withStale.summary.stalePct).toBeGreaterThan(20);
    // The product's own setting, through its own config validation: stale.maxAgeSeconds 0 turns serve-stale off.
    const noStale = await runFleet({ ...base, policy: 'ballast', ballast: { stale: { maxAgeSeconds: 0 } } });
    expect(noStale.summary.seenFailed).toBeGreaterThan(50);
    expect(noStale.summary.stalePct).toBe(0);
    // The pods ask exactly the same things whatever the cache does.
    expect(noStale.summary.lookups).toBe(withStale.summary.lookups);
  });

  it('is deterministic for a seed: the same summary and the same series, second by second', async () => {
    const a = await runFleet({ ...base, policy: 'ballast' });
    const b = await runFleet({ ...base, policy: 'ballast' });
    expect(b.summary).toEqual(a.summary);
    expect(b.series).toEqual(a.series);
    const other = await runFleet({ ...base, policy: 'ballast', seed: 8 });
    expect(other.series.offered).not.toEqual(a.series.offered);
  });
});

describe('the fleet report', () => {
  it('has a colour for every policy, so every line of its charts can be told apart', () => {
    for (const policy of Object.keys(POLICIES)) expect(COLORS, policy).toHaveProperty(policy);
    expect(new Set(Object.values(COLORS)).size).toBe(Object.keys(COLORS).length);
  });
});

describe('npm run simulate: its command line', () => {
  it('writes to bench/out unless told to publish, publishes only the default figures, and names bad flags', async () => {
    const { parseSimulate } = await import('../../src/fleet/cli.js');
    const plain = parseSimulate([]);
    expect(plain).toMatchObject({ nodes: 20, seed: 1, short: false, outDir: expect.stringMatching(/bench\/out$/) });
    expect(parseSimulate(['--publish'])).toMatchObject({ outDir: expect.stringMatching(/bench\/results$/) });
    expect(parseSimulate(['--publish', '--workers', '1'])).toMatchObject({ workers: 1 });
    for (const argv of [['--nodes', '6'], ['--short'], ['--only', 'overload']]) {
      expect(parseSimulate(argv), argv.join(' ')).toMatchObject({ outDir: expect.stringMatching(/bench\/out$/) });
      expect(() => parseSimulate([...argv, '--publish']), argv.join(' ')).toThrow('--publish updates the published');
    }
    expect(parseSimulate(['--out', 'x'])).toMatchObject({ outDir: expect.stringMatching(/\/x$/) });
    expect(parseSimulate(['--help'])).toBe('help');
    expect(() => parseSimulate(['--nodes', '1'])).toThrow('simulate: --nodes 1: want an integer from 2 to 5000');
    expect(() => parseSimulate(['--only', 'meteor'])).toThrow(/--only meteor: unknown scenario; allowed: dec-2024/);
    expect(() => parseSimulate(['--bogus'])).toThrow(/unknown flag --bogus; allowed: --nodes/);
  });
});

describe('npm run simulate and npm run drill leave the work tree as it was', () => {
  it('write their default reports to a folder git ignores', async () => {
    const { parseSimulate } = await import('../../src/fleet/cli.js');
    const opts = parseSimulate([]);
    if (opts === 'help') throw new Error('unexpected help');
    const root = join(import.meta.dirname, '..', '..');
    const drill = readFileSync(join(root, 'bench', 'drill-demo.js'), 'utf8');
    // The drill's default report, as drill-demo.js names it.
    expect(drill).toContain("opts.report ?? path.join(OUT_DIR, 'drill-report.html')");
    for (const file of [join(opts.outDir, 'fleet.md'), join(root, 'bench', 'out', 'drill-report.html')]) {
      const ignored = spawnSync('git', ['check-ignore', '-q', file], { cwd: root });
      expect(ignored.status, `${file} is ignored by git`).toBe(0);
    }
  });
});
