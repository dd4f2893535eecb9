// `npm run drill -- --publish`, scaled down (--scale 0.1: 2 s warm, 6 s fault, 2 s recover over 300 names) and
// pointed at a copy of README.md and paths in a temporary folder: one run writes the README's table between its
// markers, the picture of that run's report (headless Chromium) and the summary, and the table's figures are the
// run's own. Chromium is a Debian package (.ci/run installs it): without it this test is skipped, under CI it fails.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { num } from '../../src/drill/summary.js';
import { NODE } from '../helpers/cli.js';

const ROOT = join(import.meta.dirname, '..', '..');
const chromium =
  process.env.CHROMIUM ||
  ['chromium', 'chromium-browser'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);

if (chromium === undefined && process.env.CI) {
  describe('drill --publish prerequisites', () => {
    it('chromium is installed', () => {
      throw new Error('chromium not installed; .ci/run installs it');
    });
  });
}

/** The PNG's width and height from its IHDR chunk, after checking the signature. */
function pngSize(file: string) {
  const b = readFileSync(file);
  expect(b.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(b.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bytes: b.length };
}

describe.skipIf(chromium === undefined)(
  `npm run drill -- --publish${chromium === undefined ? ' (SKIPPED: chromium not found; apt-get install chromium)' : ''}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'ballast-drill-publish-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('writes the README table between its markers, the report’s picture and the summary, from one run', async () => {
      const readme = join(dir, 'README.md');
      copyFileSync(join(ROOT, 'README.md'), readme);
      const before = readFileSync(readme, 'utf8');
      const paths = {
        readme,
        image: join(dir, 'drill-report.png'),
        summary: join(dir, 'drill.md'),
        report: join(dir, 'report.html'),
      };
      const args = ['--publish', '--scale', '0.1', ...Object.entries(paths).flatMap(([k, v]) => [`--${k}`, v])];
      const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
        (resolve) => {
          const child = spawn(NODE, [join(ROOT, 'bench', 'drill-demo.js'), ...args], { cwd: ROOT });
          let [out, err] = ['', ''];
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (err += d));
          child.on('exit', (c) => resolve({ code: c, stdout: out, stderr: err }));
        },
      );
      // 0, or 1 when the scaled run missed its SLO on a busy machine: published either way, and said.
      expect([0, 1], stderr).toContain(code);
      expect(stdout).toContain('published: ');

      // The run's own figures, as the drill wrote them next to its report.
      const run = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
        phases: Record<string, number | string | null>[];
        sloMisses: string[];
      };
      const after = readFileSync(readme, 'utf8');
      const begin = after.indexOf('<!-- drill:begin');
      const end = after.indexOf('<!-- drill:end -->');
      expect(begin).toBeGreaterThan(0);
      expect(end).toBeGreaterThan(begin);
      // Nothing outside the markers changed.
      expect(after.slice(0, begin)).toBe(before.slice(0, before.indexOf('<!-- drill:begin')));
      expect(after.slice(end)).toBe(before.slice(before.indexOf('<!-- drill:end -->')));
      const block = after.slice(begin, end);
      expect(block).toContain('`npm run drill -- --publish --scale 0.1`');
      const rows = block
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((cells) => ['warm', 'fault', 'recover'].includes(cells[0]));
      expect(rows.map((r) => r[0])).toEqual(['warm', 'fault', 'recover']);
      const n = (v: number | string | null | undefined) => (typeof v === 'number' ? v : Number.NaN);
      for (const [i, p] of run.phases.entries()) {
        const want = [
          p.phase,
          String(p.sent),
          num(n(p.answeredPct), 2),
          num(n(p.stalePct)),
          num(n(p.negativePct), 2),
          num(n(p.servfailPct), 2),
          String(p.timeouts),
          num(n(p.p50Ms), 2),
          num(n(p.p95Ms), 2),
          num(n(p.p99Ms), 2),
          num(p.upstreamPerSecond === undefined ? undefined : n(p.upstreamPerSecond)),
        ];
        expect(rows[i], String(p.phase)).toEqual(want);
      }
      // The scaled phases: 2 s, 6 s and 2 s at 300 queries/s.
      expect(run.phases.map((p) => p.sent)).toEqual([600, 1800, 600]);
      expect(block).toContain(run.sloMisses.length === 0 ? 'SLO: all gates passed' : 'SLO MISSED: ');
      // Names cached in the 2 s warm phase expire (TTL 5 s) within the 6 s fault, and are then answered stale.
      expect(Number(rows[1][3])).toBeGreaterThan(10);

      // The picture of this run's report.
      const png = pngSize(paths.image);
      expect(png.width).toBe(1160);
      expect(png.height).toBe(1140);
      expect(png.bytes).toBeGreaterThan(20_000);
      expect(readFileSync(paths.report, 'utf8')).toContain(`${run.phases[1].sent}`);

      // The summary: the same table, the command and the date.
      const summary = readFileSync(paths.summary, 'utf8');
      expect(summary).toContain('`npm run drill -- --publish --scale 0.1`');
      expect(summary).toMatch(/- Date: \d{4}-\d\d-\d\dT/);
      for (const r of rows) expect(summary).toContain(r.join(' ').slice(0, 4));
      expect(summary).toContain(block.slice(block.indexOf('```'), block.lastIndexOf('```')));
    }, 90_000);

    it('a scaled run does not publish over the real README: it needs its own paths', () => {
      const published = ['README.md', 'docs/images/drill-report.png', 'bench/results/drill.md'].map((f) =>
        join(ROOT, f),
      );
      const read = () => published.map((f) => (existsSync(f) ? readFileSync(f).toString('base64') : ''));
      const before = read();
      const r = spawnSync(NODE, [join(ROOT, 'bench', 'drill-demo.js'), '--publish', '--scale', '0.1'], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('--publish with --scale: give --readme, --image and --summary');
      expect(read()).toEqual(before);
    });
  },
);
