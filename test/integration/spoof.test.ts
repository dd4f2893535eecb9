import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startBallast } from '../helpers/ballast.js';
import { header, Packet, query } from '../helpers/client.js';

const T = Packet.TYPE;

/** An answer to `request` built by dns2, with one A record. */
function answer(request: Buffer, address: string, patch?: (p: InstanceType<typeof Packet>) => void): Buffer {
  const req = Packet.parse(request);
  const res = Packet.createResponseFromRequest(req);
  res.answers.push({ name: req.questions[0].name, type: T.A, class: 1, ttl: 60, address } as never);
  patch?.(res);
  return res.toBuffer();
}

describe('spoofed upstream answers (docs/design.md §6)', () => {
  let upstream: Socket;
  let attacker: Socket;
  let b: Running;

  beforeAll(async () => {
    attacker = createSocket('udp4');
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
    upstream = createSocket('udp4');
    // For every query: four forgeries arrive first, then the genuine answer.
    upstream.on('message', (msg, rinfo) => {
      if (msg.includes(Buffer.from('ballast-loop-'))) return; // ballast's loop check at start: not a victim here
      const send = (s: Socket, m: Buffer) => s.send(m, rinfo.port, rinfo.address);
      send(attacker, answer(msg, '6.6.6.1')); // right ID and question, wrong source port
      send(
        upstream,
        answer(msg, '6.6.6.2', (p) => (p.header.id = (p.header.id + 1) & 0xffff)),
      ); // wrong ID
      send(
        upstream,
        answer(msg, '6.6.6.3', (p) => (p.questions[0].name = 'evil.test')),
      ); // wrong question
      send(upstream, Buffer.concat([msg.subarray(0, 2), Buffer.from([0x81, 0x80, 0xff, 0xff])])); // garbage
      // The genuine answer; for case.test its question comes back upper-cased (RFC 4343: still the same question).
      const upper = (p: InstanceType<typeof Packet>) => {
        if (p.questions[0].name.toLowerCase() === 'case.test') p.questions[0].name = 'CASE.TEST';
      };
      // Sent after the three forgeries from the same socket to the same socket: on loopback they are queued, and
      // read, in the order sent, so ballast meets every forgery before the answer; no time needs to pass between.
      send(upstream, answer(msg, '192.0.2.55', upper));
    });
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
    b = await startBallast({ upstream: { servers: [`127.0.0.1:${upstream.address().port}`] } });
  });
  afterAll(async () => {
    await b.close();
    upstream.close();
    attacker.close();
  });

  it('ignores forgeries (counting those that reach it), then accepts the genuine answer', async () => {
    const r = await query(b.port, 'target.test', T.A, { id: 321 });
    expect(header(r.raw)).toMatchObject({ id: 321, rcode: 0, ancount: 1 });
    expect(r.packet.answers[0].address).toBe('192.0.2.55');
    // The forgery from the wrong port never reaches ballast: its socket is connected to the upstream, so the
    // kernel drops datagrams from anywhere else.
    expect(await b.metric('ballast_upstream_rejected_responses_total', { reason: 'source' })).toBe(0);
    expect(await b.metric('ballast_upstream_rejected_responses_total', { reason: 'id' })).toBe(1);
    expect(await b.metric('ballast_upstream_rejected_responses_total', { reason: 'question' })).toBe(1);
    expect(await b.metric('ballast_upstream_rejected_responses_total', { reason: 'malformed' })).toBe(1);
    // The genuine answer is what got cached.
    const again = await query(b.port, 'target.test', T.A);
    expect(again.packet.answers[0].address).toBe('192.0.2.55');
  });

  it('accepts the genuine answer when the upstream echoes the question in another case', async () => {
    const r = await query(b.port, 'CaSe.test', T.A);
    expect(r.packet.answers[0].address).toBe('192.0.2.55');
    expect(r.packet.questions[0].name).toBe('CaSe.test');
  });
});
