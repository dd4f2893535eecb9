// The drill's HTML report, rendered from a realistic timeline (the shape `npm run drill` produces: 300 queries/s,
// 20 s warm, a 60 s blackhole of the cluster zone's upstream, 20 s to recover) and read back from its SVG: every
// line told apart where the point of the chart is that two of them lie on each other, round ticks with units, and
// the fault said in words. test/e2e/drill.test.ts runs the same checks over a real drill's report.
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS } from '../../src/chaos/index.js';
import { drillOptions } from '../../src/drill/cli.js';
import { faultText, html } from '../../src/drill/html.js';
import { type Phase, type Second, summarize } from '../../src/drill/summary.js';
import { expectReadable, panels, tickValue } from '../helpers/svg.js';

/** 100 seconds as the demo drill sees them: every query a miss while warm, all stale in the fault, a few after it. */
function demoSeconds(): Second[] {
  return Array.from({ length: 100 }, (_, t) => {
    const phase: Phase = t < 20 ? 'warm' : t < 80 ? 'fault' : 'recover';
    const sent = 300;
    const stale = phase === 'fault' ? sent : t === 80 ? 120 : 0;
    // Every name expires within the warm phase's 20 s (TTL 5 s, 3,000 names at 300/s): each query a miss.
    const upstream =
      phase === 'warm'
        ? 300
        : phase === 'fault'
          ? t < 22
            ? 150
            : t % 3 === 0
              ? 0
              : 1
          : t === 80
            ? 180
            : 280 + (t % 9);
    const latenciesMs = Array.from({ length: sent }, (_, i) => 0.5 + (i % 10));
    return {
      t,
      phase,
      sent,
      answered: sent,
      stale,
      negative: 0,
      servfail: 0,
      other: 0,
      timeouts: 0,
      latenciesMs,
      upstream,
    };
  });
}

const opts = (flags: Record<string, string>) =>
  drillOptions({ target: '127.0.0.1:53', 'fault-zone': 'cluster.local', 'fault-for': '60s', ...flags }, () => {});

describe('the drill report', () => {
  const seconds = demoSeconds();
  const page = html({
    title: 'ballast drill: blackhole against 127.0.0.1:53',
    settings: { fault: faultText(opts({ fault: 'blackhole' })) },
    summaries: summarize(seconds),
    seconds,
    slo: [],
  });

  it('draws answered and stale %, and the two query rates, so that lines lying on each other both show', () => {
    const [answers, rates] = panels(page);
    expect(answers.series.map((s) => s.label)).toEqual(['answered %', 'stale %']);
    expect(rates.series.map((s) => s.label)).toEqual(['queries/s', 'upstream q/s']);
    // Through the fault every answer is stale; while warm every query goes upstream: the lines coincide, and the
    // checks of expectReadable (a different dash or marker for lines that coincide) apply to them.
    expect(expectReadable(answers)).toEqual(['answered % / stale %']);
    expect(expectReadable(rates)).toEqual(['queries/s / upstream q/s']);
    // The wider line is underneath: drawn first.
    const widths = [...page.matchAll(/<path class="series"[^>]*stroke-width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths[0]).toBeGreaterThan(widths[1]);
  });

  it('has round ticks with units: 0–100 % by 25, queries/s by 100, seconds by 10', () => {
    const [answers, rates] = panels(page);
    expect(answers.yTicks).toEqual(['0%', '25%', '50%', '75%', '100%']);
    expect(answers.yLabel).toBe('% of queries');
    expect(rates.yTicks.map(tickValue)).toEqual([0, 100, 200, 300, 400]);
    expect(rates.yLabel).toBe('queries/s');
    expect(rates.xTicks.map(tickValue)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(rates.xLabel).toBe('seconds since the drill started');
  });

  it('scales to the page: a viewBox, drawn at the width of the page', () => {
    expect(page).toMatch(/<svg [^>]*viewBox="0 0 \d+ \d+"/);
    expect(page).toContain('svg{width:100%;height:auto}');
  });

  it('says the fault in words, not JSON, for every fault kind', () => {
    const row = /<tr><th>fault<\/th><td>([^<]*)<\/td><\/tr>/.exec(page)?.[1];
    expect(row).toBe('blackhole: every query to the cluster.local upstream swallowed, for 60 s');
    for (const kind of FAULT_KINDS) {
      const text = faultText(opts({ fault: kind, 'delay-ms': '300', 'spread-ms': '900' }));
      expect(text, kind).toMatch(new RegExp(`^${kind}: .*cluster\\.local.*, for 60 s$`));
      expect(text, kind).not.toMatch(/[{}]|undefined|NaN/);
    }
    expect(faultText({ ...opts({}), external: true })).toMatch(/^external .*, for 60 s$/);
    expect(faultText(drillOptions({ target: '127.0.0.1:53', fault: 'servfail' }, () => {}))).toBe(
      'servfail: every upstream answers SERVFAIL, for 60 s',
    );
  });
});
