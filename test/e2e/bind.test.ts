// The acceptance, end to end: the built CLI in front of a real authoritative server (BIND 9), queried by a
// real client (dig) and by raw datagrams compared byte for byte with BIND's own answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Flag, scanResponse } from '../../src/wire/index.js';
import { type BindServer, bindAvailable, E2E, startBind } from '../helpers/bind.js';
import { type CliProcess, scrape, startCli } from '../helpers/cli.js';
import { buildQuery, header, Packet, udpExchange } from '../helpers/client.js';
import { digAt, parseDig, txtStrings } from '../helpers/dig.js';
import { until } from '../helpers/wait.js';

const available = bindAvailable();
if (!available && process.env.CI) throw new Error('bind9/dnsutils not installed; .ci/run installs them');

/**
 * What must be identical between BIND's answer and ballast's: everything but the ID, the TTLs, the AA and RA bits
 * (ballast is a cache, never authoritative, and offers recursion) and the OPT record, which is hop-by-hop (RFC 6891
 * §6.1.1): BIND's own is cut out here and ballast's is checked on its own.
 */
function normalise(msg: Buffer): Buffer {
  const scan = scanResponse(msg);
  const [start, end] = scan.optStart === -1 ? [msg.length, msg.length] : [scan.optStart, scan.optEnd];
  const out = Buffer.concat([msg.subarray(0, start), msg.subarray(end)]);
  out.writeUInt16BE(0, 0);
  out.writeUInt16BE(scan.flags & ~(Flag.AA | Flag.RA), 2);
  out.writeUInt16BE(scan.arcount - (scan.optStart === -1 ? 0 : 1), 10);
  for (const at of scanResponse(out).ttlOffsets) out.writeUInt32BE(0, at);
  return out;
}

/** ballast's OPT: its payload size (1232), version 0, no DO, no options. */
const OWN_OPT = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);

describe.skipIf(!available)('ballast CLI in front of BIND, with dig', () => {
  let bind: BindServer;
  let ballast: CliProcess;
  const upstreamQueries = () => scrape(ballast.adminPort, 'ballast_upstream_queries_total');

  beforeAll(async () => {
    bind = await startBind();
    ballast = await startCli(['--upstream', `127.0.0.1:${bind.port}`]);
  });
  afterAll(async () => {
    const code = await ballast?.stop();
    await bind?.stop();
    expect(code).toBe(0);
  });

  const types: [string, string, number][] = [
    ['A', E2E.a.name, 1],
    ['AAAA', E2E.a.name, 28],
    ['SRV', E2E.srv.name, 33],
    ['TXT', E2E.txt.name, 16],
    ['MX', E2E.mx.name, 15],
    ['CAA', E2E.caa.name, 257],
    ['TYPE65280 (RFC 3597)', E2E.unknown.name, 65280],
  ];
  for (const [label, name, qtype] of types) {
    it(`${label}: byte-identical to BIND's own answer except ID and TTLs, then served from cache`, async () => {
      const msg = buildQuery(name, qtype, { id: 0x1111, edns: 1232 });
      const direct = await udpExchange(bind.port, msg);
      const before = await upstreamQueries();
      const proxied = await udpExchange(ballast.port, buildQuery(name, qtype, { id: 0x2222, edns: 1232 }));
      expect(direct).not.toBeNull();
      expect(proxied).not.toBeNull();
      expect(header(proxied!).id).toBe(0x2222);
      expect(scanResponse(direct!).ttlOffsets.length).toBeGreaterThan(0);
      expect(normalise(proxied!)).toEqual(normalise(direct!));
      expect(proxied!.readUInt16BE(2) & (Flag.AA | Flag.RA)).toBe(Flag.RA);
      expect(proxied!.subarray(proxied!.length - 11)).toEqual(OWN_OPT);

      const cached = await udpExchange(ballast.port, buildQuery(name, qtype, { id: 0x3333, edns: 1232 }));
      expect(normalise(cached!)).toEqual(normalise(direct!));
      expect(cached!.subarray(cached!.length - 11)).toEqual(OWN_OPT);
      expect(await upstreamQueries()).toBe(before + 1);
    });
  }

  it('a second dig is answered from cache with a smaller TTL', async () => {
    const first = parseDig((await digAt(ballast.port, [E2E.mail.name, 'A'])).stdout);
    expect(first.status).toBe('NOERROR');
    const before = await upstreamQueries();
    // The built CLI runs on real time: wait (bounded) for the condition, a cached answer whose TTL went down.
    const aged = async () => {
      const raw = await udpExchange(ballast.port, buildQuery(E2E.mail.name, 1, { id: 0x4444 }));
      return raw !== null && (Packet.parse(raw).answers[0]?.ttl ?? Infinity) < first.answers[0].ttl;
    };
    await until(aged, 'the cached entry to age by a second', { intervalMs: 100 });
    const second = parseDig((await digAt(ballast.port, [E2E.mail.name, 'A'])).stdout);
    expect(second.answers[0].data).toBe(E2E.mail.a);
    expect(second.answers[0].ttl).toBeLessThan(first.answers[0].ttl);
    expect(await upstreamQueries()).toBe(before);
  });

  it('NXDOMAIN is cached for the SOA-derived time with the SOA in authority', async () => {
    const first = parseDig((await digAt(ballast.port, [E2E.missing.name, 'A'])).stdout);
    expect(first.status).toBe('NXDOMAIN');
    expect(first.authority[0]).toMatchObject({ type: 'SOA' });
    expect(first.authority[0].ttl).toBeLessThanOrEqual(E2E.negativeTtl);
    const before = await upstreamQueries();
    const second = parseDig((await digAt(ballast.port, [E2E.missing.name, 'A'])).stdout);
    expect(second.status).toBe('NXDOMAIN');
    expect(second.authority[0].type).toBe('SOA');
    expect(await upstreamQueries()).toBe(before);
  });

  it('answers dig over TCP', async () => {
    const r = parseDig((await digAt(ballast.port, ['+tcp', E2E.txt.name, 'TXT'])).stdout);
    expect(r.transport).toBe('TCP');
    expect(txtStrings(r.answers[0].data)).toEqual([E2E.txt.text]);
  });

  it('a >512-byte answer to a UDP client without EDNS has TC=1, and dig retries over TCP to get it whole', async () => {
    const raw = await udpExchange(ballast.port, buildQuery(E2E.big.name, 16, { id: 9 }));
    expect(header(raw!)).toMatchObject({ tc: true, ancount: 0 });
    const r = await digAt(ballast.port, ['+noedns', E2E.big.name, 'TXT']);
    expect(r.stdout).toContain('Truncated, retrying in TCP mode');
    const parsed = parseDig(r.stdout);
    expect(parsed.flags).not.toContain('tc');
    expect(txtStrings(parsed.answers[0].data)).toEqual([...E2E.big.strings]);
  });

  it('a mixed-case qname comes back in the same case, with the ID echoed', async () => {
    const msg = buildQuery('mIxEd.E2E.tEsT', 1, { id: 0xbeef });
    const raw = await udpExchange(ballast.port, msg);
    expect(header(raw!).id).toBe(0xbeef);
    expect(Packet.parse(raw!).questions[0].name).toBe('mIxEd.E2E.tEsT');
    const viaDig = parseDig((await digAt(ballast.port, ['MiXeD.E2E.TeSt', 'A'])).stdout);
    expect(viaDig.question[0]?.name).toBe('MiXeD.E2E.TeSt.');
    expect(viaDig.answers[0].data).toBe(E2E.mixed.a);
  });
});
