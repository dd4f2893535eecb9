// The latency figures of bench/RESULTS.md and bench/results/latency-floor.md come from dnsperf's per-query lines. A
// parsing slip would move every p99 in them, so the reading and the percentiles are checked on a written file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lateShare, percentile, readVerboseLatencies } from '../../bench/lib/dnsperf.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ballast-dnsperf-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function verboseFile(lines: string[]): string {
  const file = path.join(dir, `${lines.length}.txt`);
  const head = ['DNS Performance Testing Tool', '[Status] Sending queries (to 127.0.0.1:53)'];
  fs.writeFileSync(file, `${[...head, ...lines, 'Statistics:', '  Queries sent: 0'].join('\n')}\n`);
  return file;
}

describe('dnsperf -v latencies', () => {
  it('reads answered queries in ms and counts timeouts and interrupted queries apart', async () => {
    const file = verboseFile([
      '> NOERROR name0.bench.test A 0.000400',
      '> NXDOMAIN name1.bench.test A 0.000100',
      '> T name2.bench.test A',
      '> SERVFAIL name3.bench.test A 0.002000',
      '> I name4.bench.test A',
    ]);
    const { lat, timeouts, interrupted } = await readVerboseLatencies(file);
    expect([...lat]).toEqual([0.1, 0.4, 2]);
    expect(timeouts).toBe(1);
    expect(interrupted).toBe(1);
  });

  it('ranks lost queries after every answer and counts them as later than 1 ms', async () => {
    // 97 answers at 0.2 ms, 2 at 1.5 ms, 1 lost: 3 % of queries are later than 1 ms.
    const lines = [
      ...Array.from({ length: 97 }, (_, i) => `> NOERROR name${i}.bench.test A 0.000200`),
      '> NOERROR a.bench.test A 0.001500',
      '> NOERROR b.bench.test A 0.001500',
      '> T c.bench.test A',
    ];
    const { lat, timeouts } = await readVerboseLatencies(verboseFile(lines));
    expect(percentile(lat, timeouts, 50)).toBeCloseTo(0.2);
    expect(percentile(lat, timeouts, 98)).toBeCloseTo(1.5);
    expect(percentile(lat, timeouts, 99.5)).toBe(Number.POSITIVE_INFINITY);
    expect(lateShare(lat, timeouts, 1)).toBeCloseTo(0.03);
    expect(lateShare(lat, 0, 2)).toBe(0);
    expect(lateShare(new Float64Array(0), 0, 1)).toBeNull();
  });
});
