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

import dns2 from 'dns2';
import {
  ballastCommand,
  displayCommand,
  freePort,
  helpText,
  mdTable,
  parseOptionsOrExit,
  RESULTS_DIR,
  reportPath,
  runMain,
  spawnBallast,
  startDnsServer,
  stopProcess,
  udpBulk,
  writeReport,
} from './lib/index.js';

const { Packet } = dns2;
const opts = parseOptionsOrExit('fairness', process.argv.slice(2), {
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

/** RATE names per second for SECONDS from 127.0.0.3: rcodes and latencies. */
async function steady(port, tag) {
  const n = opts.rate * opts.seconds;
  const msgs = Array.from({ length: n }, (_, i) => queryFor(`${tag}${i}.steady.test`, i));
  const schedule = msgs.map((_, i) => (i * 1000) / opts.rate);
  return udpBulk(port, msgs, { from: '127.0.0.3', schedule, waitMs: 5000 });
}

function summarize(results) {
  const rcode = (r) => (r.answer === null ? 'none' : r.answer.readUInt16BE(2) & 0xf);
  const count = (want) => results.filter((r) => rcode(r) === want).length;
  const ms = results
    .filter((r) => r.ms !== null)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
  const at = (p) => (ms.length === 0 ? NaN : ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)]);
  return { sent: results.length, noerror: count(0), servfail: count(2), refused: count(5), none: count('none'), at };
}

async function main() {
  if (opts.help) {
    process.stdout.write(helpText(import.meta.url));
    return 0;
  }
  const up = await upstream();
  const port = await freePort();
  const adminPort = await freePort();
  const config = `upstream: { maxInflight: ${opts.inflight} }`;
  const argv = ballastCommand({ port, upstreamPort: up.port, adminPort, config, logLevel: 'info' });
  const ballast = spawnBallast(argv);
  try {
    await ballast.started();
    process.stderr.write(`${displayCommand(argv)}\n`);
    const alone = summarize(await steady(port, 'alone'));
    const floodMsgs = Array.from({ length: opts.flood }, (_, i) => queryFor(`flood${i}.flood.test`, i & 0xffff));
    const flood = udpBulk(port, floodMsgs, { from: '127.0.0.2', waitMs: 10_000 });
    const during = summarize(await steady(port, 'during'));
    const flooded = summarize(await flood);
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
      `- Upstream: an in-process dns2 server whose answers take ${opts.delay} ms; with ${opts.inflight} queries in ` +
        `flight at most, ballast can get about ${Math.round((opts.inflight * 1000) / Math.max(opts.delay, 1))} ` +
        'answers per second from it.',
      `- Steady client (127.0.0.3): ${opts.rate} new names per second for ${opts.seconds} s, first alone, then while ` +
        `the flood client (127.0.0.2) sends ${opts.flood.toLocaleString('en-US')} new names at once. Latency is per ` +
        'query, from sending to its answer; a query unanswered after 5 s (10 s for the flood) counts as no answer.',
      '',
      table,
      '',
      'The flood is served at the capacity the upstream allows and refused only when its own queues are full; the ' +
        'steady client shares none of its queues (shuffle sharding) and is served in turn, so it waits at most a ' +
        'few dispatch turns behind it.',
      '',
    ].join('\n');
    const written = writeReport(file, text);
    process.stdout.write(`${table}\n\nwritten to ${written}\n`);
    return during.noerror === during.sent ? 0 : 1;
  } finally {
    await stopProcess(ballast.child);
    await up.close();
  }
}

runMain('fairness', main);
