// Outage drill over real sockets (issue: resilience acceptance). A fake CoreDNS answers NAMES names with TTL 5 s;
// ballast (the built CLI) sits in front of it; a load generator sends RATE queries/s for random names. Phases:
//   warm    (WARM s)     upstream answers
//   outage  (OUTAGE s)   upstream stops answering (--mode blackhole) or answers SERVFAIL to everything (servfail)
//   recover (RECOVER s)  upstream answers again
// Reported per phase: answered with the last known data, stale share (TTL 30 + EDE 3), SERVFAIL, timeouts, latency,
// and upstream queries per second — against the steady-state peak second measured in the same run.
//
//   node bench/outage.js [--mode blackhole|servfail|both] [--warm 20] [--outage 120] [--recover 30]
//                        [--names 2000] [--rate 1000] [--out PATH]
//
// Needs `npm run build`. With the default options (about 6 min) the report replaces bench/results/outage.md; any
// other run writes bench/out/outage.md unless --out says otherwise. Short check: --mode blackhole --warm 6
// --outage 5 --recover 3 --names 200 --rate 200. Every loop is bounded by the phase durations; all traffic is on 127.0.0.1; only processes started here are stopped.

import dgram from 'node:dgram';
import path from 'node:path';
import dns2 from 'dns2';
import {
  ballastCommand,
  freePort,
  HOST,
  httpGet,
  metricValue,
  parseOptionsOrExit,
  percentile,
  RESULTS_DIR,
  reportPath,
  runMain,
  sleep,
  spawnBallast,
  startDnsServer,
  stopProcess,
  writeReport,
} from './lib/index.js';

const { Packet } = dns2;
const opts = parseOptionsOrExit(import.meta.url, {
  mode: { type: 'choice', choices: ['blackhole', 'servfail', 'both'], default: 'both' },
  warm: { type: 'int', min: 6, max: 600, default: 20 },
  outage: { type: 'int', min: 1, max: 3600, default: 120 },
  recover: { type: 'int', min: 1, max: 600, default: 30 },
  names: { type: 'int', min: 1, max: 1_000_000, default: 2000 },
  rate: { type: 'int', min: 1, max: 20_000, default: 1000 },
  out: { type: 'path', figures: false },
});
const { warm: WARM, outage: OUTAGE, recover: RECOVER, names: NAMES, rate: RATE } = opts;
const MODES = opts.mode === 'both' ? ['blackhole', 'servfail'] : [opts.mode];
const TIMEOUT_MS = 2000;

const addressOf = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/**
 * The names the clients ask, spread over 16 domains as a cluster's Services are over namespaces: nameN.nsM.test. An
 * upstream that fails fails them all, across domains; one domain failing is that domain's trouble, and ballast tells
 * them apart by the two labels below the zone (docs/resilience.md, "From evidence to a verdict").
 */
const DOMAINS = 16;
const nameOf = (i) => `name${i}.ns${i % DOMAINS}.test`;

/** The fake upstream: nameN.nsM.test A → 10.x.y.z, TTL 5; counts queries per second; mode switchable. */
async function startSwitchableUpstream() {
  const state = { mode: 'answer', times: [] };
  const handle = (request, send) => {
    state.times.push(Date.now());
    if (state.mode === 'blackhole') return;
    const response = Packet.createResponseFromRequest(request);
    response.header.ra = 1;
    if (state.mode === 'servfail') {
      response.header.rcode = 2;
      return send(response);
    }
    const [q] = request.questions;
    const m = /^name(\d+)\.ns\d+\.test$/i.exec(q.name);
    if (m && q.type === Packet.TYPE.A) {
      response.header.aa = 1;
      response.answers.push({ name: q.name, type: 1, class: 1, ttl: 5, address: addressOf(Number(m[1])) });
    } else {
      response.header.rcode = 3;
    }
    send(response);
  };
  const server = await startDnsServer(handle);
  return { port: server.port, state, close: server.close };
}

/** ballast at log level info: the report quotes its "upstream down/up" and "stale serving" lines. */
async function startBallast(upstreamPort) {
  const port = await freePort();
  const adminPort = await freePort();
  const ballast = spawnBallast(ballastCommand({ port, upstreamPort, adminPort, logLevel: 'info' }));
  await ballast.started();
  return { port, adminPort, child: ballast.child, log: ballast.log };
}

async function breakerState(adminPort) {
  const text = await httpGet(adminPort, '/metrics').then(
    (r) => r.body,
    () => '',
  );
  const state = metricValue(text, 'ballast_upstream_health_state\\{[^}]*\\}');
  return Number.isNaN(state) ? -1 : state;
}

/** Client addresses: a node's pods each have their own, and fair queuing shares capacity by address, as in a cluster. */
const CLIENTS = 32;

/** Sends RATE queries/s (EDNS, random warm names) from CLIENTS loopback addresses and classifies every answer. */
async function loadGenerator(port) {
  const sockets = await Promise.all(
    Array.from({ length: CLIENTS }, (_, k) => {
      const s = dgram.createSocket('udp4');
      s.on('message', onMessage);
      return new Promise((resolve) => s.bind(0, `127.0.0.${10 + k}`, () => resolve(s)));
    }),
  );
  const pending = new Map();
  const results = [];
  let nextId = 0;
  function onMessage(msg) {
    const id = msg.readUInt16BE(0);
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    const packet = Packet.parse(msg);
    const rcode = msg.readUInt16BE(2) & 0xf;
    const answer = packet.answers[0];
    const ede3 = msg.includes(Buffer.from([0, 15, 0, 2, 0, 3]));
    results.push({
      at: p.at,
      name: p.i,
      phase: p.phase,
      ms: performance.now() - p.t0,
      outcome:
        rcode === 0 && answer?.address === addressOf(p.i)
          ? answer.ttl === 30 && ede3
            ? 'stale'
            : 'fresh'
          : rcode === 2
            ? 'servfail'
            : `rcode${rcode}`,
    });
  }
  const send = (phase) => {
    const i = Math.floor(Math.random() * NAMES);
    const id = nextId;
    nextId = (nextId + 1) & 0xffff;
    const q = new Packet();
    q.header.id = id;
    q.header.rd = 1;
    q.questions.push({ name: nameOf(i), type: 1, class: 1 });
    q.additionals.push({ name: '', type: 41, class: 1232, ttl: 0, rdata: [] });
    const at = Date.now();
    const timer = setTimeout(() => {
      pending.delete(id);
      results.push({ at, name: i, phase, ms: TIMEOUT_MS, outcome: 'timeout' });
    }, TIMEOUT_MS);
    pending.set(id, { i, at, phase, t0: performance.now(), timer });
    sockets[id % CLIENTS].send(q.toBuffer(), port, HOST);
  };
  return {
    results,
    /** Runs one phase for `seconds` at RATE, in 10 ms ticks. */
    async run(phase, seconds) {
      const perTick = RATE / 100;
      const end = Date.now() + seconds * 1000;
      let owed = 0;
      while (Date.now() < end) {
        owed += perTick;
        for (; owed >= 1; owed--) send(phase);
        await sleep(10);
      }
    },
    async close() {
      await sleep(TIMEOUT_MS + 100);
      for (const s of sockets) s.close();
    },
  };
}

/** Nearest-rank percentile of latencies in ms; NaN when there are none. */
const pct = (xs, p) => (xs.length ? percentile(Float64Array.from(xs).sort(), 0, p) : Number.NaN);

async function scenario(mode) {
  const upstream = await startSwitchableUpstream();
  const ballast = await startBallast(upstream.port);
  const gen = await loadGenerator(ballast.port);
  const marks = {};
  const breaker = [];
  const watch = setInterval(async () => breaker.push([Date.now(), await breakerState(ballast.adminPort)]), 250);
  try {
    marks.warm = Date.now();
    await gen.run('warm', WARM);
    upstream.state.mode = mode;
    marks.outage = Date.now();
    await gen.run('outage', OUTAGE);
    upstream.state.mode = 'answer';
    marks.recover = Date.now();
    await gen.run('recover', RECOVER);
    marks.end = Date.now();
    await gen.close();
  } finally {
    clearInterval(watch);
    await stopProcess(ballast.child);
    await upstream.close();
  }
  const openedAt = breaker.find(([t, s]) => t >= marks.outage && s === 2)?.[0];
  // Upstream queries per whole second of [from, to), counted from the query timestamps.
  const upstreamRate = (from, to) => {
    const out = new Array(Math.max(0, Math.floor((to - from) / 1000))).fill(0);
    for (const t of upstream.state.times)
      if (t >= from && t < from + out.length * 1000) out[Math.floor((t - from) / 1000)]++;
    return out;
  };
  const between = (from, to) => upstream.state.times.filter((t) => t >= from && t < to).length;
  // The promise is about names that were answered before the outage; count only those (all of them in the warm phase).
  const warmNames = new Set(gen.results.filter((r) => r.phase === 'warm' && r.outcome === 'fresh').map((r) => r.name));
  const phase = (name) => gen.results.filter((r) => r.phase === name && (name === 'warm' || warmNames.has(r.name)));
  const summary = (name) => {
    const rs = phase(name);
    const n = rs.length;
    const share = (o) => (100 * rs.filter((r) => r.outcome === o).length) / n;
    return {
      phase: name,
      sent: n,
      answered:
        100 - share('servfail') - share('timeout') - rs.filter((r) => r.outcome.startsWith('rcode')).length * (100 / n),
      stale: share('stale'),
      servfail: share('servfail'),
      timeouts: rs.filter((r) => r.outcome === 'timeout').length,
      p50: pct(
        rs.map((r) => r.ms),
        50,
      ),
      p99: pct(
        rs.map((r) => r.ms),
        99,
      ),
    };
  };
  const warmRates = upstreamRate(marks.warm + 5000, marks.outage); // steady state: after the first 5 s of misses
  const outageRates = upstreamRate(openedAt ?? marks.outage, marks.recover);
  const recoverRates = upstreamRate(marks.recover, marks.end);
  const staleAfterOpen = gen.results.filter(
    (r) => r.phase === 'outage' && openedAt && r.at >= openedAt && r.outcome === 'stale',
  );
  return {
    mode,
    phases: ['warm', 'outage', 'recover'].map(summary),
    detectionMs: openedAt ? openedAt - marks.outage : undefined,
    steadyPeak: Math.max(...warmRates),
    steadyMean: warmRates.reduce((a, b) => a + b, 0) / warmRates.length,
    outageMax: Math.max(0, ...outageRates),
    outageMean: outageRates.reduce((a, b) => a + b, 0) / Math.max(outageRates.length, 1),
    outageTotal: between(openedAt ?? marks.outage, marks.recover),
    queriesBeforeOpen: between(marks.outage, openedAt ?? marks.recover),
    recoverMax: Math.max(...recoverRates),
    recoverRates,
    staleP50AfterOpen: pct(
      staleAfterOpen.map((r) => r.ms),
      50,
    ),
    log: ballast
      .log()
      .split('\n')
      .filter((l) => /upstream (down|up)|stale serving/.test(l)),
  };
}

function report(results) {
  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const lines = [
    '# Outage drill results',
    '',
    `Generated by \`node bench/outage.js --mode ${opts.mode} --warm ${WARM} --outage ${OUTAGE} --recover ${RECOVER} --names ${NAMES} --rate ${RATE}\`` +
      ` (after \`npm run build\`) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}.`,
    '',
    `${NAMES} names, TTL 5 s, ${RATE} queries/s of random names with EDNS from ${CLIENTS} client addresses; client timeout ${TIMEOUT_MS} ms.`,
    "Answered = NOERROR with the name's correct address (fresh or stale). Stale = TTL 30 with EDE 3. Outage and",
    'recovery rows count queries for names answered during the warm phase (the promise is about names seen before).',
    '',
  ];
  for (const r of results) {
    lines.push(
      `## Upstream ${r.mode === 'blackhole' ? 'stops answering' : 'answers SERVFAIL to everything'} (${r.mode})`,
      '',
    );
    lines.push(
      '| phase | sent | answered % | stale % | SERVFAIL % | timeouts | p50 ms | p99 ms |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const p of r.phases) {
      lines.push(
        `| ${p.phase} | ${p.sent} | ${f(p.answered, 3)} | ${f(p.stale)} | ${f(p.servfail, 3)} | ${p.timeouts} | ${f(p.p50, 2)} | ${f(p.p99, 2)} |`,
      );
    }
    lines.push(
      '',
      `- upstream marked down (open) ${r.detectionMs === undefined ? 'never' : `${r.detectionMs} ms`} after the outage began; upstream queries before that: ${r.queriesBeforeOpen}`,
      `- stale answers after it was marked down: p50 ${f(r.staleP50AfterOpen, 2)} ms`,
      `- upstream queries while down, after it was marked down: ${r.outageTotal} in total, mean ${f(r.outageMean, 2)}/s, max ${r.outageMax} in one second (probes)`,
      `- steady state (warm phase after its first 5 s): peak ${r.steadyPeak}/s, mean ${f(r.steadyMean)}/s`,
      `- after the upstream returned: max ${r.recoverMax}/s (${r.recoverMax <= r.steadyPeak ? 'within' : 'ABOVE'} the steady-state peak); per second: ${r.recoverRates.join(' ')}`,
      `- ballast's own log lines: ${r.log.length ? '' : 'none'}`,
      ...r.log.map((l) => `  - \`${l}\``),
      '',
    );
  }
  return lines.join('\n');
}

async function main() {
  const results = [];
  for (const mode of MODES) {
    process.stderr.write(`outage drill: ${mode}, ${WARM + OUTAGE + RECOVER} s ...\n`);
    results.push(await scenario(mode));
  }
  const text = report(results);
  const written = writeReport(reportPath(opts, path.join(RESULTS_DIR, 'outage.md')), text);
  process.stdout.write(`${text}\nreport written to ${written}\n`);
  return 0;
}

runMain('outage', main);
