// Soak: ballast (the built CLI) under mixed load for SECONDS, with one upstream that flaps and one that is lossy.
//   cluster.local → a fake CoreDNS that is down for 30 s, up for 30 s, over and over (blackhole while down)
//   .             → a fake resolver that loses LOSS % of datagrams each way
// Load, from 32 client addresses (127.0.0.10–41): known names (cached; 2,000 cluster services with TTL 5 s and 500
// external names with TTL 60 s) at RATE queries/s, one in ten over TCP; plus a trickle of UNIQUE never-seen names
// per second. Every SAMPLE seconds: RSS, JS heap, open file descriptors and event-loop delay p99 of the process.
// Reported: answered % for known names (target ≥ 99.9 %), RSS and heap over time with the slope of a least-squares
// line over the second half, file descriptors over time, event-loop delay p99, and whether ballast stayed up; plus a
// chart, bench/results/soak.svg.
//
//   node bench/soak.js [--seconds 600] [--rate 400] [--unique 20] [--loss 20] [--sample 5] [--out PATH]
//
// Needs `npm run build`. With the default options (10 min) the report replaces bench/results/soak.md; any other run
// writes bench/out/soak.md unless --out says otherwise. Short check: --seconds 60. Every load loop is bounded by
// --seconds; all traffic is on 127.0.0.0/8; only processes started here are stopped, by PID.

import fs from 'node:fs';
import path from 'node:path';
import dns2 from 'dns2';
import {
  ballastCommand,
  displayCommand,
  freePort,
  httpGet,
  mdTable,
  metricValue,
  parseOptionsOrExit,
  processMemory,
  RESULTS_DIR,
  reportPath,
  runMain,
  spawnBallast,
  startDnsServer,
  stopProcess,
  tcpExchange,
  udpExchange,
  writeReport,
} from './lib/index.js';
import { lineChart } from './lib/svg.js';

const { Packet } = dns2;
const opts = parseOptionsOrExit(import.meta.url, {
  seconds: { type: 'int', min: 30, max: 86_400, default: 600 },
  rate: { type: 'int', min: 1, max: 5000, default: 400 },
  unique: { type: 'int', min: 0, max: 1000, default: 20 },
  loss: { type: 'int', min: 0, max: 90, default: 20 },
  sample: { type: 'int', min: 1, max: 60, default: 5 },
  out: { type: 'path', figures: false },
});
const CLUSTER = Array.from({ length: 2000 }, (_, i) => `svc-${i}.ns-${i % 40}.svc.cluster.local`);
const EXTERNAL = Array.from({ length: 500 }, (_, i) => `host-${i}.example.org`);
const KNOWN = [...CLUSTER, ...EXTERNAL];
const FLAP_MS = 30_000;

function answer(request, ttl) {
  const response = Packet.createResponseFromRequest(request);
  const [q] = request.questions;
  response.answers.push({ name: q.name, type: 1, class: 1, ttl, address: '192.0.2.1' });
  return response;
}

/** The two upstreams: cluster.local flapping, the root zone lossy. */
async function upstreams(startedAt) {
  const flapping = await startDnsServer((request, send) => {
    const down = Math.floor((Date.now() - startedAt) / FLAP_MS) % 2 === 1;
    if (!down) send(answer(request, 5));
  });
  const lose = () => Math.random() * 100 < opts.loss;
  const lossy = await startDnsServer((request, send) => {
    if (lose()) return; // the query is lost
    if (!lose()) send(answer(request, 60)); // or the answer is
  });
  return { flapping, lossy };
}

function queryFor(name, id) {
  const p = new Packet();
  p.header.id = id;
  p.header.rd = 1;
  p.questions.push({ name, type: 1, class: 1 });
  return p.toBuffer();
}

/** Per-second tallies of the known names: sent, answered (any answer but SERVFAIL within 2 s), unanswered. */
function tally() {
  return { sent: 0, answered: 0, servfail: 0, none: 0 };
}

async function main() {
  const startedAt = Date.now();
  const up = await upstreams(startedAt);
  const port = await freePort();
  const adminPort = await freePort();
  const config = `zones: [{ name: cluster.local, servers: ['127.0.0.1:${up.flapping.port}'] }]`;
  const argv = ballastCommand({ port, upstreamPort: up.lossy.port, adminPort, config, logLevel: 'info' });
  const ballast = spawnBallast(argv);
  const known = tally();
  const samples = [];
  let id = 0;
  try {
    await ballast.started();
    process.stderr.write(`${displayCommand(argv)}\n`);
    // Warm: every known name once, so that "known" means cached.
    for (let i = 0; i < KNOWN.length; i += 100) {
      await Promise.all(KNOWN.slice(i, i + 100).map((n) => udpExchange(port, queryFor(n, id++ & 0xffff), 2000)));
    }
    const t0 = Date.now();
    const pending = new Set();
    const ask = (name, tcp, countIt) => {
      const msg = queryFor(name, id++ & 0xffff);
      const from = `127.0.0.${10 + (id % 32)}`;
      const p = (
        tcp
          ? tcpExchange(port, [msg], 1, '127.0.0.1', 2000).then(([r]) => r)
          : udpExchange(port, msg, 2000, '127.0.0.1', from)
      )
        .catch(() => null)
        .then((r) => {
          if (!countIt) return;
          if (r === null) known.none++;
          else if ((r.readUInt16BE(2) & 0xf) === 2) known.servfail++;
          else known.answered++;
        });
      if (countIt) known.sent++;
      pending.add(p);
      p.finally(() => pending.delete(p));
    };
    const tick = setInterval(() => {
      for (let i = 0; i < opts.rate / 10; i++) ask(KNOWN[Math.floor(Math.random() * KNOWN.length)], i % 10 === 0, true);
      for (let i = 0; i < opts.unique / 10; i++) ask(`new-${id}.unique.example.org`, false, false);
    }, 100);
    const sampler = setInterval(async () => {
      const text = await httpGet(adminPort, '/metrics').then(
        (r) => r.body,
        () => '',
      );
      let fds = Number.NaN;
      try {
        fds = fs.readdirSync(`/proc/${ballast.child.pid}/fd`).length;
      } catch {}
      samples.push({
        t: (Date.now() - t0) / 1000,
        rss: processMemory(ballast.child.pid).rss / 2 ** 20,
        heap: metricValue(text, 'ballast_nodejs_heap_size_used_bytes') / 2 ** 20,
        fds,
        lagP99: metricValue(text, 'ballast_nodejs_eventloop_lag_p99_seconds') * 1000,
        cacheBytes: metricValue(text, 'ballast_cache_bytes') / 2 ** 20,
      });
    }, opts.sample * 1000);
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    clearInterval(tick);
    clearInterval(sampler);
    await Promise.all(pending);
    const alive = ballast.child.exitInfo === undefined;
    return report(argv, known, samples, alive);
  } finally {
    await stopProcess(ballast.child);
    await up.flapping.close();
    await up.lossy.close();
  }
}

/** Least-squares slope of y over t, per hour, over the second half of the samples (after the cache has filled). */
function slopePerHour(samples, key) {
  const half = samples.slice(Math.floor(samples.length / 2)).filter((s) => Number.isFinite(s[key]));
  if (half.length < 2) return Number.NaN;
  const mt = half.reduce((a, s) => a + s.t, 0) / half.length;
  const my = half.reduce((a, s) => a + s[key], 0) / half.length;
  const num = half.reduce((a, s) => a + (s.t - mt) * (s[key] - my), 0);
  const den = half.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 3600;
}

function report(argv, known, samples, alive) {
  const answeredPct = (100 * known.answered) / known.sent;
  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const range = (key) => `${f(Math.min(...samples.map((s) => s[key])))}–${f(Math.max(...samples.map((s) => s[key])))}`;
  const p99 = samples.map((s) => s.lagP99).sort((a, b) => a - b);
  const table = mdTable(
    [['figure'], ['value', 'right']],
    [
      ['known-name queries sent', known.sent.toLocaleString('en-US')],
      ['answered (NOERROR/NXDOMAIN within 2 s), %', f(answeredPct, 3)],
      ['SERVFAIL / no answer', `${known.servfail} / ${known.none}`],
      ['ballast stayed up', alive ? 'yes' : 'NO'],
      ['RSS, MiB (min–max)', range('rss')],
      ['RSS slope over the second half, MiB/hour', f(slopePerHour(samples, 'rss'), 2)],
      ['JS heap used, MiB (min–max)', range('heap')],
      ['JS heap slope over the second half, MiB/hour', f(slopePerHour(samples, 'heap'), 2)],
      ['open file descriptors (min–max)', range('fds')],
      [
        'event-loop delay p99, ms (median of samples / worst sample)',
        `${f(p99[Math.floor(p99.length / 2)])} / ${f(p99.at(-1))}`,
      ],
    ],
  );
  const chart = lineChart({
    title: 'ballast soak: memory and file descriptors over time',
    x: samples.map((s) => s.t),
    series: [
      { name: 'RSS (MiB)', values: samples.map((s) => s.rss) },
      { name: 'JS heap used (MiB)', values: samples.map((s) => s.heap) },
      { name: 'cache bytes (MiB)', values: samples.map((s) => s.cacheBytes) },
      { name: 'open fds', values: samples.map((s) => s.fds) },
    ],
    xLabel: 'seconds',
  });
  const file = reportPath(opts, path.join(RESULTS_DIR, 'soak.md'));
  const svg = path.join(path.dirname(file), 'soak.svg');
  fs.mkdirSync(path.dirname(svg), { recursive: true });
  fs.writeFileSync(svg, chart);
  const text = [
    '# Soak: ten minutes of mixed load, a flapping upstream and a lossy one',
    '',
    'Generated by `node bench/soak.js`; do not edit by hand, re-run instead.',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- ballast: \`${displayCommand(argv)}\``,
    `- ${opts.seconds} s: known names (2,000 cluster services, TTL 5 s; 500 external names, TTL 60 s) at ${opts.rate} ` +
      `queries/s from 32 client addresses, one in ten over TCP; ${opts.unique} never-seen names per second. ` +
      `cluster.local's upstream is down 30 s, up 30 s, repeatedly; the root zone's loses ${opts.loss} % of datagrams ` +
      'each way. Every answer but SERVFAIL within the client’s 2 s counts as answered.',
    `- Sampled every ${opts.sample} s from /proc and /metrics.`,
    '',
    table,
    '',
    `![memory and file descriptors over time](${path.basename(svg)})`,
    '',
  ].join('\n');
  writeReport(file, text);
  process.stdout.write(`${table}\n\nwritten to ${path.relative(process.cwd(), file)}\n`);
  return alive && answeredPct >= 99.9 ? 0 : 1;
}

runMain('soak', main);
