// `ballast drill` over the built CLI: against ballast with chaos (the fault phase is answered from stale), and with
// --external against a resolver that serves nothing stale while its upstream is stopped (the SLO miss, exit 1).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DRILL_FLAGS } from '../../src/drill/index.js';
import { BIN, type CliProcess, NODE, startCli } from '../helpers/cli.js';
import { expectReadable, panels } from '../helpers/svg.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';

const NAMES = Array.from({ length: 50 }, (_, i) => `svc${i}.drill.test`);

/** The timeline and SLO both drills run: 2 s warm, a 4 s fault, 1 s to recover, 100 queries/s, 99.9 % answered. */
const timeline = (names: string) => [
  '--warm',
  '2s',
  '--fault-for',
  '4s',
  '--recover',
  '1s',
  '--rate',
  '100',
  '--names',
  names,
  '--slo-answered',
  '99.9',
];

function drill(
  args: string[],
  onLine?: (line: string) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [BIN, 'drill', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      for (const line of String(d).split('\n')) if (line) onLine?.(line);
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('ballast drill', () => {
  let upstream: FakeUpstream | undefined;
  let target: CliProcess | undefined;
  afterEach(async () => {
    await target?.stop('SIGKILL');
    await upstream?.close();
    [target, upstream] = [undefined, undefined];
  });

  async function setup(configYaml: string) {
    upstream = await startFakeUpstream({
      records: Object.fromEntries(NAMES.map((n, i) => [`${n}/1`, [a(n, `192.0.2.${i + 1}`, 1)]])),
    });
    const dir = mkdtempSync(join(tmpdir(), 'ballast-drill-test-'));
    writeFileSync(join(dir, 'token'), 'drill-token\n');
    const config = configYaml.replace('TOKEN', join(dir, 'token'));
    writeFileSync(join(dir, 'config.yaml'), `upstream: { servers: ['${upstream.address}'] }\n${config}`);
    writeFileSync(join(dir, 'names.txt'), `# drill names\n${NAMES.map((n) => `${n} A`).join('\n')}\n`);
    target = await startCli(['--config', join(dir, 'config.yaml')]);
    return { dir, names: join(dir, 'names.txt') };
  }

  it('injects the fault through the admin API, passes the SLO with stale answers, and writes the report', async () => {
    const { dir, names } = await setup('chaos: { enabled: true, tokenFile: TOKEN }\n');
    const report = join(dir, 'report.html');
    const r = await drill([
      '--target',
      `127.0.0.1:${target!.port}`,
      '--admin',
      `127.0.0.1:${target!.adminPort}`,
      '--token-file',
      join(dir, 'token'),
      '--fault',
      'blackhole',
      ...timeline(names),
      '--json',
      '--report',
      report,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      phases: { phase: string; sent: number; answeredPct: number; stalePct: number }[];
      sloMisses: string[];
    };
    const fault = result.phases.find((p) => p.phase === 'fault')!;
    expect(fault.sent).toBeGreaterThan(300);
    expect(fault.answeredPct).toBeGreaterThanOrEqual(99.9);
    expect(fault.stalePct).toBeGreaterThan(50);
    expect(result.sloMisses).toEqual([]);
    expect(r.stderr).toMatch(/fault phase: blackhole injected \(f\d+\)/);
    expect(r.stderr).toMatch(/t= {2}3s fault {3}sent=\d+ answered=/);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('All SLO gates passed');
    // The real run's chart keeps the rules test/drill/report.test.ts checks on a generated one.
    for (const panel of panels(html)) expectReadable(panel);
    expect(/<tr><th>fault<\/th><td>([^<]*)<\/td>/.exec(html)?.[1]).toBe(
      'blackhole: every query to every upstream swallowed, for 4 s',
    );
    expect(target!.output()).toContain('chaos fault on');
  });

  it('--external against a resolver with no stale serving, upstream stopped: reports the SLO miss and exits 1', async () => {
    // ballast with stale.maxAgeSeconds 0 serves nothing stale: a stand-in for a cache like NodeLocal DNSCache.
    const { names } = await setup('stale: { maxAgeSeconds: 0 }\n');
    const r = await drill(
      ['--target', `127.0.0.1:${target!.port}`, '--external', ...timeline(names), '--timeout', '1s'],
      (line) => {
        if (line.includes('break the upstream now')) upstream!.mode = 'blackhole';
        if (line.includes('restore the upstream now')) upstream!.mode = 'answer';
      },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/SLO MISSED: .*fault: answered \d+\.\d+ % < 99\.9 %/);
    expect(r.stdout).toMatch(/^fault\s+\d+\s+\d+\.\d+/m);
  });

  it('--protocol tcp: the queries go over TCP, each answer read back from its frame', async () => {
    // External mode with nobody breaking anything: every phase answered (the SLO the other drills use), over TCP.
    const { names } = await setup('');
    const r = await drill([
      '--target',
      `127.0.0.1:${target!.port}`,
      '--external',
      '--protocol',
      'tcp',
      ...timeline(names),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { phases: { phase: string; sent: number; answeredPct: number }[] };
    for (const phase of result.phases) expect(phase.answeredPct, phase.phase).toBeGreaterThanOrEqual(99.9);
    const sent = result.phases.reduce((n, p) => n + p.sent, 0);
    expect(sent).toBeGreaterThan(500);
    // ballast saw them all on TCP, none on UDP.
    const metrics = await (await fetch(`http://127.0.0.1:${target!.adminPort}/metrics`)).text();
    const count = (protocol: string) =>
      Number(
        new RegExp(`^ballast_requests_total\\{protocol="${protocol}",qtype="A"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0,
      );
    expect(count('tcp')).toBe(sent);
    expect(count('udp')).toBe(0);
  });

  it('--help and docs/drills.md list every flag the drill parser accepts', async () => {
    const flags = DRILL_FLAGS.map((f) => f.name);
    expect(flags).toEqual(
      expect.arrayContaining(['target', 'admin', 'fault', 'external', 'slo-answered', 'json', 'report']),
    );
    const help = await drill(['--help']);
    expect(help.code).toBe(0);
    const docs = readFileSync(new URL('../../docs/drills.md', import.meta.url), 'utf8');
    for (const flag of flags.filter((f) => f !== 'help')) {
      expect(help.stdout, flag).toContain(`--${flag}`);
      expect(docs, flag).toContain(`--${flag}`);
    }
  });

  it('bad usage exits 2 naming the flag', async () => {
    const r = await drill(['--target', 'nowhere']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--target: got "nowhere"');
  });
});
