// SIGTERM: stop accepting, answer what is in flight (within the drain timeout), exit 0.
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { buildQuery, header, Packet, tcpExchange, udpExchange } from '../helpers/client.js';
import { until } from '../helpers/wait.js';

describe('graceful shutdown of the CLI', () => {
  let upstream: Socket;
  let release: () => void = () => {};
  let held: { msg: Buffer; port: number }[] = [];

  beforeAll(async () => {
    upstream = createSocket('udp4');
    // Holds every query until release() is called, so the test decides when upstream answers arrive. ballast's loop
    // check at start is not one of the test's queries.
    upstream.on('message', (msg, rinfo) => {
      if (!msg.includes(Buffer.from('ballast-loop-'))) held.push({ msg, port: rinfo.port });
    });
    release = () => {
      for (const { msg, port } of held) {
        const req = Packet.parse(msg);
        const res = Packet.createResponseFromRequest(req);
        res.answers.push({ name: req.questions[0].name, type: 1, class: 1, ttl: 60, address: '192.0.2.77' } as never);
        upstream.send(res.toBuffer(), port, '127.0.0.1');
      }
      held = [];
    };
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
  });
  afterAll(() => upstream.close());

  it('answers queries in flight at SIGTERM, then exits 0 and stops listening', async () => {
    const cli = await startCli(['--upstream', `127.0.0.1:${upstream.address().port}`, '--log-level', 'info']);
    const udp = udpExchange(cli.port, buildQuery('inflight-udp.test', 1, { id: 11 }), 5000);
    const tcp = tcpExchange(cli.port, [buildQuery('inflight-tcp.test', 1, { id: 12 })]);
    await until(() => held.length >= 2, 'both queries to reach the upstream');
    expect(held).toHaveLength(2);

    const exit = cli.stop('SIGTERM');
    // The process is draining: wait for its log line, then let upstream answer.
    await until(() => cli.output().includes('shutting down'), 'the "shutting down" log line');
    release();

    const [u, [t]] = await Promise.all([udp, tcp]);
    expect(header(u!)).toMatchObject({ id: 11, rcode: 0, ancount: 1 });
    expect(header(t)).toMatchObject({ id: 12, rcode: 0, ancount: 1 });
    expect(await exit).toBe(0);
    expect(cli.output()).toContain('"msg":"stopped"');
    await expect(tcpExchange(cli.port, [buildQuery('after.test', 1)])).rejects.toThrow();
  });
});
