// The fleet report's charts, rendered from real simulation runs (a small fleet, phases 10× shorter, as
// `npm run simulate -- --short` runs them) and read back from their SVG: every policy's line told apart even where
// it lies on another's (without serve-stale ballast fails as NodeLocal DNSCache does; without coalescing it does what
// ballast does), round ticks with units, no log axis over zeros, and charts that scale to the page.
import { beforeAll, describe, expect, it } from 'vitest';
import { lineChart, STYLES } from '../../src/fleet/charts.js';
import { POLICIES, type PolicyName } from '../../src/fleet/model.js';
import { charts, html } from '../../src/fleet/report.js';
import { type FleetRun, runFleet } from '../../src/fleet/run.js';
import { SCENARIOS, type ScenarioName } from '../../src/fleet/scenarios.js';
import { expectReadable, panels, tickValue } from '../helpers/svg.js';

async function runsOf(scenario: ScenarioName): Promise<FleetRun[]> {
  const sc = SCENARIOS[scenario];
  const phases = { warmS: sc.phases.warmS / 10, faultS: sc.phases.faultS / 10, recoverS: sc.phases.recoverS / 10 };
  return Promise.all(sc.policies.map((policy) => runFleet({ scenario, policy, nodes: 4, seed: 3, phases })));
}

describe('the fleet report’s charts', () => {
  const results = new Map<ScenarioName, FleetRun[]>();
  beforeAll(async () => {
    for (const name of ['dec-2024', 'unreachable'] as const) results.set(name, await runsOf(name));
  }, 120_000);

  it('gives every policy its own colour, and its own dash and marker', () => {
    const styles = Object.values(STYLES);
    expect(styles).toHaveLength(Object.keys(POLICIES).length);
    expect(new Set(styles.map((s) => s.color)).size).toBe(styles.length);
    expect(new Set(styles.map((s) => `${s.dash} ${s.marker}`)).size).toBe(styles.length);
  });

  it('December 2024: lines that lie on each other differ in dash or marker; ticks are round, axes labelled', () => {
    const c = charts('dec-2024', results.get('dec-2024')!);
    const overlaps: Record<string, string[]> = {};
    for (const [name, svg] of Object.entries(c)) {
      const [p] = panels(svg);
      expect(p.series.map((s) => s.label)).toEqual(
        expect.arrayContaining(SCENARIOS['dec-2024'].policies.map((k: PolicyName) => POLICIES[k].label)),
      );
      overlaps[name] = expectReadable(p);
      expect(p.xLabel).toBe('minutes since the start');
    }
    // The cases the old charts hid: no serve-stale fails as NodeLocal DNSCache does, no coalescing is ballast.
    expect(overlaps.failed).toEqual(expect.arrayContaining(['NodeLocal DNSCache / ballast, no serve-stale']));
    expect(overlaps.stale).toEqual(expect.arrayContaining(['ballast / ballast, no coalescing']));
    const [failed] = panels(c.failed);
    expect(failed.yTicks.at(-1)).toMatch(/^\d+%$/);
    const [stale] = panels(c.stale);
    expect(stale.yTicks).toEqual(['0%', '25%', '50%', '75%', '100%']);
    // Query rates on a log axis: powers of ten, the floor stated where zeros sit on it.
    const [load] = panels(c.load);
    expect(load.note).toMatch(/^log scale/);
    expect(load.yLabel).toBe('queries/s');
    const [errors] = panels(c.errors);
    expect(errors.note).toMatch(/^log scale; values under \S+ \(0 included\) drawn at/);
    expect(errors.yTicks[0]).toMatch(/^≤[1-9]/);
  });

  it('CoreDNS unreachable: no REFUSED or SERVFAIL at all gives a linear axis and a note, not a log axis of zeros', () => {
    const c = charts('unreachable', results.get('unreachable')!);
    for (const svg of Object.values(c)) expectReadable(panels(svg)[0]);
    const [errors] = panels(c.errors);
    expect(errors.note).toBe('none: 0 throughout, for every series');
    expect(errors.yTicks.map(tickValue)[0]).toBe(0);
  });

  it('a log axis over data that barely leaves zero has no tick at or below 0', () => {
    const svg = lineChart({
      title: 'tiny',
      bucketS: 10,
      yLabel: 'answers/s',
      log: true,
      lines: [{ label: 'ballast', style: STYLES.ballast, values: [0, 0, 0.004, 5, 0, 0] }],
    });
    const [p] = panels(svg);
    expectReadable(p);
    expect(p.yTicks).toEqual(['≤0.001', '0.01', '0.1', '1', '10']);
  });

  it('scales the charts to the page: a viewBox each, drawn at the width of their column', () => {
    const page = html(results, { command: 'test', wallSeconds: 1, workers: 1, seed: 3, sample: '' });
    const svgs = [...page.matchAll(/<svg [^>]*>/g)].map((m) => m[0]);
    expect(svgs).toHaveLength(8);
    for (const tag of svgs) expect(tag).toMatch(/viewBox="0 0 \d+ \d+"/);
    expect(page).toContain('.charts svg{width:100%;height:auto}');
    expect(page).toContain('grid-template-columns:repeat(auto-fit,minmax(560px,1fr))');
  });
});
