// Plots when 10,000 entries stored at the same instant with the same TTL (5 s, like cluster records) are refreshed
// in the background: ballast's per-entry jitter (75–95 % of the TTL) against a fixed refresh point, as other caches
// use. Uses the built cache (dist/), so run `npm run build` first.
//
//   node bench/jitter.js [--out PATH]      (default: bench/results/jitter.svg)
//
// Writes an SVG histogram (1 % slices of the TTL) and prints the largest slice against its fair share. The
// refresh points are random, so every run draws a slightly different picture.

import path from 'node:path';
import { DnsCache } from '../dist/cache/index.js';
import { systemRandom } from '../dist/util/random.js';
import { scanResponse } from '../dist/wire/index.js';
import { inProcessCacheOptions, parseOptionsOrExit, RESULTS_DIR, writeReport } from './lib/index.js';

const opts = parseOptionsOrExit(import.meta.url, { out: { type: 'path', figures: false } });
const ENTRIES = 10_000;
const TTL = 5;

// A minimal NOERROR response for a.test A 192.0.2.1, TTL 5 (header, question, one answer).
const response = Buffer.from([
  0,
  1,
  0x81,
  0x80,
  0,
  1,
  0,
  1,
  0,
  0,
  0,
  0,
  1,
  0x61,
  4,
  0x74,
  0x65,
  0x73,
  0x74,
  0,
  0,
  1,
  0,
  1,
  0xc0,
  12,
  0,
  1,
  0,
  1,
  0,
  0,
  0,
  TTL,
  0,
  4,
  192,
  0,
  2,
  1,
]);
const scan = scanResponse(response);
const cache = new DnsCache(inProcessCacheOptions({ maxEntries: ENTRIES * 2, maxBytes: 256 * 1024 * 1024 }), {
  random: systemRandom,
});
const jittered = new Array(100).fill(0);
// The same answer stored ENTRIES times under its own key (a.test A, no DO/CD): each store draws its own refresh point.
for (let i = 0; i < ENTRIES; i++) {
  const at = cache.put('\x01a\x04test\x00/1/1/00', response, scan, 0).entry.refreshAtMs;
  jittered[Math.min(99, Math.floor(at / (TTL * 10)))]++;
}
const fixed = new Array(100).fill(0);
fixed[80] = ENTRIES; // everyone at 80 % of the TTL

const share = ENTRIES / 20; // fair share of one 1 % slice inside the 20 %-wide window
const worst = Math.max(...jittered);
const W = 720;
const H = 300;
const pad = 40;
const bar = (W - 2 * pad) / 100;
const scale = (v) => ((H - 2 * pad) * Math.log10(1 + v)) / Math.log10(1 + ENTRIES);
const bars = (series, color) =>
  series
    .map((v, i) =>
      v
        ? `<rect x="${(pad + i * bar).toFixed(1)}" y="${(H - pad - scale(v)).toFixed(1)}" width="${(bar - 1).toFixed(1)}" height="${scale(v).toFixed(1)}" fill="${color}"/>`
        : '',
    )
    .join('');
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad}" y="20" font-size="14">Background refreshes of ${ENTRIES} entries stored together (TTL ${TTL} s), per 1 % of the TTL (log scale)</text>
${bars(fixed, '#d9534f')}${bars(jittered, '#337ab7')}
<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="black"/>
${[0, 25, 50, 75, 100].map((p) => `<text x="${pad + p * bar - 8}" y="${H - pad + 16}">${p}%</text>`).join('')}
<rect x="${W - 260}" y="40" width="12" height="12" fill="#d9534f"/><text x="${W - 242}" y="50">fixed point (80 %): ${ENTRIES} in one slice</text>
<rect x="${W - 260}" y="60" width="12" height="12" fill="#337ab7"/><text x="${W - 242}" y="70">ballast: 75–95 %, largest slice ${worst}</text>
</svg>
`;
const written = writeReport(opts.out ?? path.join(RESULTS_DIR, 'jitter.svg'), svg);
process.stdout.write(
  `jitter: ${ENTRIES} entries, largest 1 % slice ${worst} (fair share ${share}, ratio ${(worst / share).toFixed(2)}); fixed point: ${ENTRIES} in one slice\nwrote ${written}\n`,
);
