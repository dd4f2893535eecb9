// Fair queuing under a flood (docs/resilience.md, "fair queuing"): one client sends FLOOD new names at once while a
// second client asks RATE new names per second; how the second one fares, next to the same client alone.
// ballast (the built CLI) sits in front of a fake upstream whose answers take DELAY ms, with upstream.maxInflight
// INFLIGHT, so capacity (about INFLIGHT / DELAY answers per ms) is far below the flood and every query contends.
//
//   node bench/fairness.js [--flood 10000] [--rate 50] [--seconds 10] [--delay 20] [--inflight 50] [--out PATH]
//
// Needs `npm run build`. With the default options (about 40 s) the report replaces bench/results/fairness.md; any
// other run writes bench/out/fairness.md unless --out says otherwise. Short check: --flood 2000 --seconds 3.
// The flood comes from 127.0.0.2 and the steady client from 127.0.0.3 (two client addresses, as two pods); all
// traffic is on 127.0.0.1/8, every load is bounded in count and time, and only processes started here are stopped.
// ballast runs on CPU 0; the fake upstream, the flood and the steady client are three processes on CPU 1, so the
// steady client's clock never waits on the flood's own sending and receiving, nor on the upstream's work.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import dns2 from 'dns2';
import {
  ballastCommand,
  displayCommand,
  freePort,
  LOADGEN_CPU,
  mdTable,
  NODE,
  parseOptionsOrExit,
  pinned,
  RESULTS_DIR,
  readJsonLine,
  reportPath,
  runMain,
  SERVER_CPU,
  spawnBallast,
  startDnsServer,
  startProcess,
  stopProcess,
  udpBulk,
  writeReport,
} from './lib/index.js';

const { Packet } = dns2;
const opts = parseOptionsOrExit(import.meta.url, {
  flood: { type: 'int', min: 1, max: 100_000, default: 10_000 },
  rate: { type: 'int', min: 1, max: 1000, default: 50 },
  seconds: { type: 'int', min: 1, max: 120, default: 10 },
  delay: { type: 'int', min: 0, max: 1000, default: 20 },
  inflight: { type: 'int', min: 1, max: 100_000, default: 50 },
  out: { type: 'path', figures: false },
});

/** A query for `name` A with ID `id`. */
function queryFor(name, id) {
  const p = new Packet();
  p.header.id = id;
  p.header.rd = 1;
  p.questions.push({ name, type: Packet.TYPE.A, class: 1 });
  return p.toBuffer();
}

/** The fake upstream: every name exists (A 192.0.2.1, TTL 60); the answer takes `delay` ms. */
function upstream() {
  return startDnsServer((request, send) => {
    const response = Packet.createResponseFromRequest(request);
    // Only A queries get an A record: ballast rejects an answer section that does not answer the question (a probe
    // asks an SOA).
    if (request.questions[0].type === 1) {
      response.answers.push({ name: request.questions[0].name, type: 1, class: 1, ttl: 60, address: '192.0.2.1' });
    }
    setTimeout(() => send(response), opts.delay);
  });
}

/** udpBulk's results, compact: each query's rcode (null: no answer) and latency in ms (null: no answer). */
const compact = (results) => results.map((r) => [r.answer === null ? null : r.answer.readUInt16BE(2) & 0xf, r.ms]);

/** RATE names per second for SECONDS from 127.0.0.3: rcodes and latencies. */
async function steady(port, tag) {
  const n = opts.rate * opts.seconds;
  const msgs = Array.from({ length: n }, (_, i) => queryFor(`${tag}${i}.steady.test`, i));
  const schedule = msgs.map((_, i) => (i * 1000) / opts.rate);
  return compact(await udpBulk(port, msgs, { from: '127.0.0.3', schedule, waitMs: 5000 }));
}

/** FLOOD new names at once from 127.0.0.2, in a process of its own (role `flood`). */
async function flood(port) {
  const msgs = Array.from({ length: opts.flood }, (_, i) => queryFor(`flood${i}.flood.test`, i & 0xffff));
  return compact(await udpBulk(port, msgs, { from: '127.0.0.2', waitMs: 10_000 }));
}

function summarize(results) {
  const count = (want) => results.filter(([rcode]) => rcode === want).length;
  const ms = results
    .filter(([, ms]) => ms !== null)
    .map(([, ms]) => ms)
    .sort((a, b) => a - b);
  const at = (p) => (ms.length === 0 ? NaN : ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)]);
  return { sent: results.length, noerror: count(0), servfail: count(2), refused: count(5), none: count(null), at };
}

/**
 * This script again as a child on the load generator's CPU, in `role`: `upstream` prints {"port"} and serves until
 * stopped; `flood` prints {"sending":true}, sends the flood to `port` and prints its compact results as a last line.
 */
function startRole(role, port = 0) {
  const script = fileURLToPath(import.meta.url);
  const argv = ['env', `FAIRNESS_ROLE=${role}`, `FAIRNESS_PORT=${port}`, NODE, script, ...process.argv.slice(2)];
  const child = startProcess(role, pinned(LOADGEN_CPU, argv), { stderr: 'inherit' });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const lastLine = child.exited.then(() => JSON.parse(out.trim().split('\n').at(-1)));
  return { child, first: readJsonLine(child), lastLine };
}

async function runRole(role, port) {
  if (role === 'upstream') {
    const up = await upstream();
    process.stdout.write(`${JSON.stringify({ port: up.port })}\n`);
    // Stopped by the parent's SIGTERM: quietly, without runMain's message.
    process.removeAllListeners('SIGTERM');
    await new Promise((resolve) => process.once('SIGTERM', resolve));
    await up.close();
    return 0;
  }
  process.stdout.write(`${JSON.stringify({ sending: true })}\n`);
  process.stdout.write(`${JSON.stringify(await flood(port))}\n`);
  return 0;
}

async function main() {
  const role = process.env.FAIRNESS_ROLE;
  if (role) return runRole(role, Number(process.env.FAIRNESS_PORT));
  // This process is the steady client: it measures on the load generator's CPU too.
  spawnSync('taskset', ['-a', '-pc', LOADGEN_CPU, String(process.pid)], { stdio: 'ignore' });
  const up = startRole('upstream');
  const upstreamPort = (await up.first).port;
  const port = await freePort();
  const adminPort = await freePort();
  const config = `upstream: { maxInflight: ${opts.inflight} }`;
  const argv = pinned(SERVER_CPU, ballastCommand({ port, upstreamPort, adminPort, config, logLevel: 'info' }));
  const ballast = spawnBallast(argv);
  try {
    await ballast.started();
    process.stderr.write(`${displayCommand(argv)}\n`);
    const alone = summarize(await steady(port, 'alone'));
    const flooder = startRole('flood', port);
    await flooder.first;
    const during = summarize(await steady(port, 'during'));
    const flooded = summarize(await flooder.lastLine);
    const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');
    const pct = (s, n) => ((100 * n) / s.sent).toFixed(2);
    const right = (h) => [h, 'right'];
    const table = mdTable(
      [
        ['client'],
        ...['sent', 'NOERROR %', 'REFUSED %', 'SERVFAIL %', 'no answer %', 'p50 ms', 'p99 ms', 'max ms'].map(right),
      ],
      [
        ['steady, alone', alone],
        ['steady, during the flood', during],
        ['the flood (127.0.0.2)', flooded],
      ].map(([who, s]) => [
        who,
        s.sent.toLocaleString('en-US'),
        pct(s, s.noerror),
        pct(s, s.refused),
        pct(s, s.servfail),
        pct(s, s.none),
        f(s.at(50)),
        f(s.at(99)),
        f(s.at(100)),
      ]),
    );
    const file = reportPath(opts, `${RESULTS_DIR}/fairness.md`);
    const text = [
      '# Fair queuing: a flood next to a steady client',
      '',
      'Generated by `node bench/fairness.js`; do not edit by hand, re-run instead.',
      '',
      `- Date: ${new Date().toISOString()}`,
      `- ballast: \`${displayCommand(argv)}\` (config: \`${config}\`).`,
      `- Upstream: a dns2 server whose answers take ${opts.delay} ms; with ${opts.inflight} queries in ` +
        `flight at most, ballast can get about ${Math.round((opts.inflight * 1000) / Math.max(opts.delay, 1))} ` +
        'answers per second from it.',
      `- Steady client (127.0.0.3): ${opts.rate} new names per second for ${opts.seconds} s, first alone, then while ` +
        `the flood client (127.0.0.2) sends ${opts.flood.toLocaleString('en-US')} new names at once. Latency is per ` +
        'query, from sending to its answer; a query unanswered after 5 s (10 s for the flood) counts as no answer.',
      '- Processes: ballast alone on CPU 0; the upstream, the flood and the steady client are three processes on ' +
        'CPU 1, so no client waits on another one’s event loop.',
      '',
      table,
      '',
      'The flood is served at the capacity the upstream allows and refused only when its own queues are full. The ' +
        'steady client shares none of its queues (shuffle sharding), so once ballast has read one of its queries it ' +
        `waits a dispatch turn at most: its median stays ${f(alone.at(50))} ms alone and ${f(during.at(50))} ms ` +
        `during the flood. Its p99 (${f(during.at(99))} ms) is set before that, in the kernel: the flood's ` +
        "datagrams arrive together and sit ahead of the steady client in the listening socket's receive queue, " +
        "which ballast reads in arrival order while it also forwards and answers at the upstream's pace, so a " +
        'query that arrives in the first second or two of the burst waits for the datagrams ahead of it (cache hits ' +
        'would too). Fair queuing shares upstream capacity; it cannot reorder what the kernel holds ' +
        '(docs/resilience.md, "fair queuing").',
      '',
    ].join('\n');
    const written = writeReport(file, text);
    process.stdout.write(`${table}\n\nwritten to ${written}\n`);
    return during.noerror === during.sent ? 0 : 1;
  } finally {
    await stopProcess(ballast.child);
    await stopProcess(up.child);
  }
}

runMain('fairness', main);
