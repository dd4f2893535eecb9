// Asking the servers of bench/conformance.js: one probe (a query over UDP, its answer and the upstream queries seen
// meanwhile), and all the cases' probes in order, the timed steps on time between the one-shot ones.

import { udpExchange } from '../../../test/helpers/exchange.ts';
import { HOST, sleep } from '../env.js';
import { buildQuery } from './build.js';
import { TYPE } from './codes.js';
import { FAKE_ZONE } from './fake.js';
import { parseMessage } from './parse.js';
import { ONE_SHOT } from './probes.js';

/** How long a probe waits for its answer. */
const PROBE_TIMEOUT_MS = 2000;
/** Serve-stale waits for the clients' 1.8 s response timer (RFC 8767 §5) or an upstream deadline: give it longer. */
const STALE_TIMEOUT_MS = 6000;
/** After an answer, how long upstream queries still count as the probe's (a refresh sent after answering). */
const SETTLE_MS = 25;
/** A one-shot probe is not started when a timed step falls due within this (a probe takes about SETTLE_MS + 5 ms). */
const ONE_SHOT_SLOT_MS = 60;

let nextId = 0x1000;

/**
 * Sends one query to one server; the result keeps the parsed answer and the upstream queries seen meanwhile. `run`
 * is { log, now }: the fakes' query log and the run's clock (ms since its start).
 */
export async function ask({ log, now }, server, query, { timeoutMs = PROBE_TIMEOUT_MS, label = null } = {}) {
  const id = nextId++ & 0xffff;
  const bytes = buildQuery({ ...query, id });
  const from = log.length;
  const at = now();
  const raw = await udpExchange(server.port, bytes, timeoutMs, HOST).catch(() => null);
  const ms = now() - at;
  await sleep(SETTLE_MS);
  return {
    label,
    at,
    ms,
    timeoutMs,
    query: bytes.toString('hex'),
    raw: raw ? raw.toString('hex') : null,
    response: raw ? parseMessage(raw) : null,
    upstream: log.slice(from),
  };
}

/**
 * Asks every case of probes.js of each server in turn: the timed cases' first steps, the one-shot cases with the
 * timed steps on time between them, serve-stale last with the main fake blackholed. `run` is { log, now } as for
 * ask(). Returns a Map from case id to { [server name]: steps }.
 */
export async function runProbes(servers, fakes, run) {
  const { now } = run;
  const probe = (server, query, o) => ask(run, server, query, o);
  const results = new Map();
  const put = (id, server, steps) => {
    if (!results.has(id)) results.set(id, {});
    results.get(id)[server.name] = steps;
  };

  // Seeds and first steps of the timed cases.
  for (const s of servers) {
    put('stale-do', s, [
      await probe(s, { name: FAKE_ZONE.stale.name, edns: { do: false } }, { label: 'DO=0, cached' }),
    ]);
    put('cname-nodata', s, [await probe(s, { name: FAKE_ZONE.cnameNodata.name, type: TYPE.AAAA }, { label: 'first' })]);
    put('ttl-rounding', s, [await probe(s, { name: FAKE_ZONE.plain.name }, { label: 'first' })]);
  }

  // Their later steps, each relative to that server's own first query, go out on time: the one-shot cases fill the
  // waits, and a step that falls due goes before the next of them.
  const at = (id, s) => results.get(id)[s.name][0].at;
  const waitUntil = async (t) => {
    const left = t - now();
    if (left > 0) await sleep(left);
  };
  const plan = [];
  for (const s of servers) {
    // 1.25 s tells rounding down (298) from rounding to the nearest (299); 1.5 s is the usual probe.
    plan.push({ t: at('ttl-rounding', s) + 1250, id: 'ttl-rounding', s, q: { name: FAKE_ZONE.plain.name } });
    plan.push({ t: at('ttl-rounding', s) + 1500, id: 'ttl-rounding', s, q: { name: FAKE_ZONE.plain.name } });
    const cq = { name: FAKE_ZONE.cnameNodata.name, type: TYPE.AAAA };
    plan.push({ t: at('cname-nodata', s) + 2000, id: 'cname-nodata', s, q: cq });
    plan.push({ t: at('cname-nodata', s) + 6500, id: 'cname-nodata', s, q: cq });
  }
  plan.sort((a, b) => a.t - b.t);
  const runDue = async (horizonMs) => {
    while (plan.length && plan[0].t <= now() + horizonMs) {
      const step = plan.shift();
      await waitUntil(step.t);
      const first = results.get(step.id)[step.s.name][0];
      const p = await probe(step.s, step.q);
      p.label = `+${((p.at - first.at) / 1000).toFixed(2)} s`;
      results.get(step.id)[step.s.name].push(p);
    }
  };
  for (const c of ONE_SHOT) {
    for (const s of servers) {
      await runDue(ONE_SHOT_SLOT_MS);
      put(c.id, s, [await probe(s, c.query)]);
    }
  }
  await runDue(Number.POSITIVE_INFINITY);

  // Serve-stale last: the entry cached for DO=0 has expired (TTL 2 s), the upstream stops answering, DO=1 asks.
  for (const s of servers) await waitUntil(at('stale-do', s) + (FAKE_ZONE.stale.ttl + 1) * 1000);
  fakes.main.blackhole = true;
  try {
    for (const s of servers) {
      const p = await probe(s, { name: FAKE_ZONE.stale.name, edns: { do: true } }, { timeoutMs: STALE_TIMEOUT_MS });
      const age = ((p.at - at('stale-do', s)) / 1000).toFixed(1);
      p.label = `DO=1 at +${age} s, upstream blackholed, answered in ${(p.ms / 1000).toFixed(2)} s`;
      results.get('stale-do')[s.name].push(p);
    }
  } finally {
    fakes.main.blackhole = false;
  }
  return results;
}
