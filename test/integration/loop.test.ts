// Forwarding loops (docs/resilience.md): an upstream that sends ballast's queries back to ballast is found at start,
// named in a metric and on /ready, and the loop is not amplified. Real sockets: the "upstream" is a relay that
// forwards every query it gets to ballast's own port and relays the answer back.
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { type Running, startBallast } from '../helpers/ballast.js';
import { header, Packet, query } from '../helpers/client.js';
import { startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';

let relay: Socket | undefined;
/** The relay's sockets towards ballast, still open: closed with the relay, so no late answer is relayed after it. */
const outs = new Set<Socket>();
const closeOut = (out: Socket) => outs.delete(out) && out.close();
let b: Running | undefined;
afterEach(async () => {
  await b?.close();
  for (const out of [...outs]) closeOut(out);
  relay?.close();
  b = relay = undefined;
});

/** A UDP relay to `target()`, counting what it relays. */
async function startRelay(target: () => number) {
  const socket = createSocket('udp4');
  const relayed = { count: 0 };
  socket.on('message', (msg, from) => {
    relayed.count++;
    const out = createSocket('udp4');
    outs.add(out);
    out.on('message', (answer) => {
      socket.send(answer, from.port, from.address);
      closeOut(out);
    });
    out.on('error', () => closeOut(out));
    out.send(msg, target(), '127.0.0.1');
    setTimeout(() => closeOut(out), 5000).unref();
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  relay = socket;
  return { port: socket.address().port, relayed };
}

describe('forwarding loops', () => {
  it('are found by the check at start or reload, shown in the metric and on /ready, and the loop ends', async () => {
    let ballastPort = 0;
    const r = await startRelay(() => ballastPort);
    b = await startBallast({ upstream: { servers: [`127.0.0.1:${r.port}`] } });
    ballastPort = b.port;
    // The loop check at start went out before the relay knew the port: a reload checks again.
    await b.ballast.reload(b.ballast.currentConfig);
    await until(async () => (await b!.metric('ballast_upstream_loop_detected', { zone: '.' })) === 1, 'loop found');
    const ready = await fetch(`http://127.0.0.1:${b.adminPort}/ready`);
    expect(ready.status).toBe(200); // a loop is a configuration error to fix, not a reason to stop serving
    expect(await ready.text()).toBe(`ready\nforwarding loop: zone . via 127.0.0.1:${r.port}\n`);

    // A client query that loops: it comes back with the same key and joins its own flight, so the relay sees it a
    // bounded number of times (the first attempt and its retransmissions), not an ever-growing storm.
    const before = r.relayed.count;
    const looped = await query(b.port, 'looping.example.org', Packet.TYPE.A, {}, '127.0.0.1', 6000);
    expect(header(looped.raw).rcode).toBe(2); // SERVFAIL at the deadline
    expect(r.relayed.count - before).toBeLessThanOrEqual(12);
  });

  it('are not reported for an upstream that answers', async () => {
    const upstream = await startFakeUpstream();
    try {
      b = await startBallast({ upstream: { servers: [upstream.address] } });
      await until(() => upstream.queries.some((q) => q.name.startsWith('ballast-loop-')), 'the loop check');
      expect(await b.metric('ballast_upstream_loop_detected')).toBe(0);
      expect(await (await fetch(`http://127.0.0.1:${b.adminPort}/ready`)).text()).toBe('ready\n');
    } finally {
      await b?.close();
      b = undefined;
      await upstream.close();
    }
  });
});
