// The scripted fake upstream's answers: what it serves (FAKE_ZONE, FAKE_SOA, FAKE_IDENTITY) and its reply to one
// query message (fakeAnswer). The sockets it answers on are bench/lib/conformance/upstream.js.

import { buildMessage, optRecord, rdata, record } from './build.js';
import { CLASS, TYPE } from './codes.js';
import { parseMessage } from './parse.js';

/** SOA of every zone the fake serves: SOA TTL 600, MINIMUM 5, so a negative answer lives min(600, 5) = 5 s. */
export const FAKE_SOA = { ttl: 600, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 5 };
/** The TXT the fake puts in its answer to any CH-class query: a reply carrying it was forwarded. */
export const FAKE_IDENTITY = 'fake-coredns-identity';
/** What the fake answers, for the report and the tests. */
export const FAKE_ZONE = {
  apex: 'conf.test',
  oldApex: 'old.test',
  ttl: 300,
  ad: { pattern: /^ad(-[a-z0-9-]+)?\.conf\.test$/, a: '192.0.2.1' },
  plain: { name: 'plain.conf.test', a: '192.0.2.2' },
  stale: { name: 'stale.conf.test', a: '192.0.2.3', ttl: 2 },
  ready: { name: 'ready.conf.test', a: '192.0.2.254' },
  target: { name: 'target.conf.test', a: '192.0.2.10' },
  cnameNodata: { name: 'cname-nodata.conf.test', target: 'target.conf.test' },
  cnameOnly: { name: 'cname-only.conf.test', target: 'elsewhere.other.test' },
  elsewhere: { name: 'elsewhere.other.test', a: '192.0.2.53' },
  old: { a: '192.0.2.20' },
};

const ZONES = ['conf.test', 'other.test', 'old.test'];
const zoneOf = (name) => ZONES.find((z) => name === z || name.endsWith(`.${z}`)) ?? '';
const soaRecord = (zone) =>
  record(
    zone,
    TYPE.SOA,
    CLASS.IN,
    FAKE_SOA.ttl,
    rdata.soa({
      mname: zone ? `ns.${zone}` : 'ns.root',
      rname: zone ? `hostmaster.${zone}` : 'hostmaster',
      ...FAKE_SOA,
    }),
  );

/** The main fake's answer for a lower-case IN-class name: { answer, authority, ad } (rcode is always NOERROR). */
function mainZone(name, type) {
  const z = FAKE_ZONE;
  const a = (owner, ip, ttl = z.ttl) => record(owner, TYPE.A, CLASS.IN, ttl, rdata.a(ip));
  const cname = (owner, target) => record(owner, TYPE.CNAME, CLASS.IN, z.ttl, rdata.name(target));
  const nodata = { answer: [], authority: [soaRecord(zoneOf(name))], ad: false };
  if (ZONES.includes(name) || name === '') {
    return type === TYPE.SOA ? { answer: [soaRecord(name)], authority: [], ad: false } : nodata;
  }
  if (name === z.cnameOnly.name) return { answer: [cname(name, z.cnameOnly.target)], authority: [], ad: false };
  if (name === z.cnameNodata.name && type !== TYPE.CNAME) {
    const rest = type === TYPE.A ? { answer: [a(z.target.name, z.target.a)], authority: [] } : nodata;
    return { answer: [cname(name, z.target.name), ...rest.answer], authority: rest.authority, ad: false };
  }
  if (type !== TYPE.A) return nodata;
  if (z.ad.pattern.test(name)) return { answer: [a(name, z.ad.a)], authority: [], ad: true };
  for (const r of [z.plain, z.stale, z.ready, z.target, z.elsewhere]) {
    if (name === r.name) return { answer: [a(name, r.a, r.ttl)], authority: [], ad: false };
  }
  return nodata;
}

/**
 * The fake upstream's reply to one query message: { reply, seen }. `role` 'main' serves conf.test, other.test and
 * the rest (with an OPT echoed, DO copied, when the query had one); 'old' serves old.test as a server without EDNS:
 * FORMERR without an OPT to any query carrying one, else A 192.0.2.20. Any CH-class query gets TXT
 * "fake-coredns-identity"; any other class or unknown name NOERROR/NODATA with the zone's SOA in authority.
 * `seen` ({ name, type, cls, edns, do }) is what the query log records, null for a datagram that is not a query;
 * `reply` is null when nothing should go back (a response, or a message too short to answer).
 */
export function fakeAnswer(msg, { role = 'main' } = {}) {
  if (msg.length < 12 || msg[2] & 0x80) return { reply: null, seen: null };
  const q = parseMessage(msg);
  const id = q.id;
  const base = { qr: true, opcode: q.opcode, aa: true, rd: q.rd, ra: true };
  const question = q.questions.length === 1 ? msg.subarray(12, q.questionEnd) : null;
  const seen =
    q.questions.length === 1
      ? { name: q.questions[0].name.toLowerCase(), type: q.questions[0].type, cls: q.questions[0].cls }
      : { name: null, type: null, cls: null };
  seen.edns = !!q.opt;
  seen.do = !!q.opt?.do;
  if (q.error || q.counts.qd !== 1) {
    return { reply: buildMessage({ id, flags: { ...base, rcode: 1 }, question }), seen };
  }
  if (q.opcode !== 0) return { reply: buildMessage({ id, flags: { ...base, rcode: 4 }, question }), seen };
  if (role === 'old' && q.opt) {
    // A server from before EDNS: FORMERR, and no OPT in the reply (RFC 6891 §7's sign of no EDNS support).
    return { reply: buildMessage({ id, flags: { ...base, rcode: 1 }, question }), seen };
  }
  const { name, type, cls } = seen;
  let part;
  if (cls === CLASS.CH) {
    part = { answer: [record(q.questions[0].name, TYPE.TXT, CLASS.CH, 0, rdata.txt(FAKE_IDENTITY))], authority: [] };
  } else if (cls !== CLASS.IN) {
    part = { answer: [], authority: [soaRecord(zoneOf(name))] };
  } else if (role === 'old') {
    part =
      type === TYPE.A && zoneOf(name) === 'old.test' && name !== 'old.test'
        ? { answer: [record(name, TYPE.A, CLASS.IN, FAKE_ZONE.ttl, rdata.a(FAKE_ZONE.old.a))], authority: [] }
        : { answer: [], authority: [soaRecord(zoneOf(name))] };
  } else {
    part = mainZone(name, type);
  }
  const additional = role === 'main' && q.opt ? [optRecord({ udpSize: 1232, do: q.opt.do })] : [];
  const reply = buildMessage({
    id,
    flags: { ...base, ad: !!part.ad },
    question,
    answer: part.answer,
    authority: part.authority,
    additional,
  });
  return { reply, seen };
}
