// The cases of bench/conformance.js: the one-shot probes (a query each, asked once of each server) and the timed
// cases (asked again later, serve-stale last), each with what the RFCs expect and, where that is clear-cut, a check.

import { nameOfLength } from './build.js';
import { CLASS, TYPE } from './codes.js';
import { FAKE_IDENTITY, FAKE_ZONE } from './fake.js';

const has = (m, type) => m?.answer.some((r) => r.type === type);
const identityForwarded = (m) =>
  !!m?.answer.some((r) => r.type === TYPE.TXT && Array.isArray(r.data) && r.data.join('') === FAKE_IDENTITY);

/**
 * The one-shot cases: a query each, asked once of each server. `check(probe)` is true or false where the RFCs are
 * clear-cut, null where they leave a choice (no mark in the report).
 */
export const ONE_SHOT = [
  {
    id: 'ad-plain',
    title: 'AD set upstream; query without DO or AD',
    expects:
      'AD clear: a non-validating server does not vouch for the data (RFC 4035 §3.2.3), and AD only to a query with DO or AD set (RFC 6840 §5.8)',
    query: { name: 'ad.conf.test' },
    check: (p) => (p.response ? !p.response.ad : false),
  },
  {
    id: 'ad-do',
    title: 'AD set upstream; query with DO=1',
    expects: 'AD clear: not validated here (RFC 4035 §3.2.3); OPT with DO echoed (RFC 3225 §3)',
    query: { name: 'ad-do.conf.test', edns: { do: true } },
    check: (p) => (p.response ? !p.response.ad && !!p.response.opt : false),
  },
  {
    id: 'ad-do-cached',
    title: 'AD: DO=1 query for the entry `ad-plain` cached',
    expects: 'AD clear (RFC 4035 §3.2.3)',
    query: { name: 'ad.conf.test', edns: { do: true } },
    check: (p) => (p.response ? !p.response.ad : false),
  },
  {
    id: 'ad-query-bit',
    title: 'AD set upstream; query with AD=1, no EDNS',
    expects: 'AD clear: AD=1 in a query asks for AD only where validated (RFC 6840 §5.7, RFC 4035 §3.2.3)',
    query: { name: 'ad-ad.conf.test', ad: true },
    check: (p) => (p.response ? !p.response.ad : false),
  },
  {
    id: 'edns-formerr',
    title: 'EDNS query; its upstream answers FORMERR without OPT (old.test)',
    expects:
      'The server retries upstream without EDNS (RFC 6891 §6.2.2, §7) and answers NOERROR with the A; OPT in the reply, the query had one (§7)',
    query: { name: 'a.old.test', edns: {} },
    check: (p) => p.response?.rcode === 0 && has(p.response, TYPE.A) && !!p.response.opt,
  },
  {
    id: 'no-edns-old',
    title: 'Query without EDNS to the same upstream (old.test)',
    expects: 'NOERROR with the A; no OPT in the reply (RFC 6891 §7)',
    query: { name: 'b.old.test' },
    check: (p) => p.response?.rcode === 0 && has(p.response, TYPE.A) && !p.response.opt,
  },
  {
    id: 'ch-version',
    title: 'CH TXT version.bind',
    expects:
      'A convention, not a standard (RFC 4892 §2): this server answers or refuses; forwarding shows the upstream’s TXT',
    query: { name: 'version.bind', type: TYPE.TXT, cls: CLASS.CH },
    check: () => null,
  },
  {
    id: 'ch-id',
    title: 'CH TXT id.server',
    expects: 'Identifies the server that answers, not its upstream (RFC 4892 §2–3): not forwarded',
    query: { name: 'id.server', type: TYPE.TXT, cls: CLASS.CH },
    check: (p) => (p.response ? !identityForwarded(p.response) : false),
  },
  {
    id: 'qclass-none',
    title: 'QCLASS NONE (254), A',
    expects: 'NONE has a meaning only in UPDATE (RFC 2136 §2.4, RFC 6895 §3.2); REFUSED, NOTIMP or FORMERR usual',
    query: { name: 'none.conf.test', cls: CLASS.NONE },
    check: () => null,
  },
  {
    id: 'qtype-opt',
    title: 'QTYPE OPT (41)',
    expects:
      'A meta-TYPE, data of one message only (RFC 6895 §3.1): never cached or forwarded as data (RFC 6891 §6.1.1); FORMERR usual',
    query: { name: 'meta.conf.test', type: TYPE.OPT },
    check: () => null,
  },
  {
    id: 'qtype-tsig',
    title: 'QTYPE TSIG (250), no TSIG record',
    expects: 'A meta-TYPE (RFC 6895 §3.1), not a query for data; FORMERR usual; not forwarded',
    query: { name: 'meta.conf.test', type: TYPE.TSIG },
    check: () => null,
  },
  {
    id: 'qtype-mailb',
    title: 'QTYPE MAILB (253)',
    expects: 'A QTYPE for MB, MG, MR (RFC 1035 §3.2.3), long obsolete; NOTIMP allowed (RFC 1035 §4.1.1)',
    query: { name: 'meta.conf.test', type: TYPE.MAILB },
    check: () => null,
  },
  {
    id: 'qtype-maila',
    title: 'QTYPE MAILA (254)',
    expects: 'A QTYPE for MD/MF (RFC 1035 §3.2.3), obsolete (RFC 973); NOTIMP allowed (RFC 1035 §4.1.1)',
    query: { name: 'meta.conf.test', type: TYPE.MAILA },
    check: () => null,
  },
  {
    id: 'long-qname',
    title: 'A qname of 256 octets on the wire',
    expects: 'FORMERR: a name is at most 255 octets (RFC 1035 §2.3.4, §4.1.1); not forwarded',
    query: { name: nameOfLength(256) },
    check: (p) => p.response?.rcode === 1 && p.upstream.length === 0,
  },
  {
    id: 'trailing-bytes',
    title: '4 bytes after the question, ARCOUNT 0',
    expects: 'The message is longer than its sections (RFC 1035 §4.1): FORMERR, or the bytes ignored',
    query: { name: 'trail.conf.test', trailing: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
    check: () => null,
  },
  {
    id: 'cname-only',
    title: 'Upstream answers only a CNAME (to elsewhere.other.test)',
    expects:
      'A recursive server restarts at the target and answers the chain, CNAME + A (RFC 1034 §3.6.2, §4.3.2 step 3a)',
    query: { name: FAKE_ZONE.cnameOnly.name },
    check: (p) => has(p.response, TYPE.CNAME) && has(p.response, TYPE.A),
  },
];

const ttlOf = (p, type) => p?.response?.answer.find((r) => r.type === type)?.ttl ?? null;

/** The timed cases and serve-stale: their definitions, with checks over all of a server's steps. */
export const TIMED = [
  {
    id: 'cname-nodata',
    title: 'CNAME to a name with no AAAA (NODATA; SOA TTL 600, MINIMUM 5), asked at 0, +2 s, +6.5 s',
    expects:
      'CNAME + SOA. The negative TTL is min(SOA TTL, MINIMUM) = 5 s (RFC 2308 §5), which the authority should have sent as the SOA TTL (§3); a cache that takes the SOA TTL as sent keeps 600 s. The CNAME may keep its 300 s',
    ttls: true,
    check: () => null,
  },
  {
    id: 'ttl-rounding',
    title: 'TTL 300 asked again 1.25 s and 1.5 s later',
    expects:
      'The TTL counts down while cached (RFC 1034 §3.6, RFC 1035 §3.2.1); rounded down it is never above what is left: ≤ 298 at both. A whole-second clock (BIND) shows 298 or 299, by where the second boundaries fall',
    ttls: true,
    check: (steps) => {
      // The server cached the answer before this script received it, so at most `left` seconds are left.
      const cached = steps[0].at + steps[0].ms;
      return steps.slice(1).every((p) => {
        const ttl = ttlOf(p, TYPE.A);
        return ttl !== null && ttl <= Math.floor(FAKE_ZONE.ttl - (p.at - cached) / 1000);
      });
    },
  },
  {
    id: 'stale-do',
    title: 'DO=1 for a name cached only for DO=0, TTL expired, upstream blackholed',
    expects:
      'Serve stale: the A with TTL 30 (RFC 8767 §4, recommended), EDE 3 Stale Answer (RFC 8914 §4.4), OPT with DO; the DO=0 entry may serve (RFC 3225 §3: no RRSIGs to add)',
    check: (steps) => {
      const p = steps[1];
      return p?.response?.rcode === 0 && has(p.response, TYPE.A) && ttlOf(p, TYPE.A) <= 30;
    },
  },
];
