// The other side of a benchmark: the fake upstreams ballast sits in front of, the baseline responder, and the
// start of a system under test pinned to its CPU.
import path from 'node:path';
import dns2 from 'dns2';
import { bindPair } from '../../dist/server/pair.js';
import { listenDns } from '../../test/helpers/dns2-listen.ts';
import { waitForDns } from './dns.js';
import { BENCH_DIR, ensureOutDir, HOST, LOADGEN_CPU, NODE, SERVER_CPU } from './env.js';
import { httpGetJson } from './net.js';
import { pinned, readJsonLine, startProcess, tailOf } from './processes.js';

/**
 * An in-process dns2 server answering with `handle(request, send)` on UDP and TCP at one port of 127.0.0.1, picked
 * with ballast's own port-0 pairing (src/server/pair.ts).
 */
export async function startDnsServer(handle) {
  const { udp, tcp, port } = await bindPair(
    0,
    async (p) => {
      const server = await listenDns(dns2.createServer({ udp: { type: 'udp4' }, handle }), {
        udp: { port: p, address: HOST },
      });
      return { server, port: server.addresses().udp.port, close: () => server.close() };
    },
    (p) => listenDns(dns2.createServer({ tcp: true, handle }), { tcp: { port: p, address: HOST } }),
  );
  return { port, close: () => Promise.all([udp.close(), tcp.close()]) };
}

/**
 * bench/upstream.js (nameN.bench.test A → 10.x.y.z, TTL 3600) as a child pinned to the load-generator CPU.
 * Resolves { child, port, httpPort, count() }, count() being the queries it has answered so far.
 */
export async function startUpstream(tag) {
  const child = startProcess('upstream', pinned(LOADGEN_CPU, [NODE, path.join(BENCH_DIR, 'upstream.js')]), {
    stderrFile: path.join(ensureOutDir(), `${tag}.upstream.stderr`),
  });
  const { port, httpPort } = await readJsonLine(child);
  return { child, port, httpPort, count: async () => (await httpGetJson(httpPort, '/count')).queries };
}

/** The baseline: bench/responder.js, one canned answer for every query. */
export const responderCommand = (port) => [NODE, path.join(BENCH_DIR, 'responder.js'), '--port', String(port)];

/**
 * Starts a DNS server's argv pinned to the server CPU (stderr to bench/out/TAG.stderr) and waits until it answers
 * on `port`; the error names the last lines of its stderr when it does not.
 */
export async function startSystem(tag, argv, port) {
  const stderrFile = path.join(ensureOutDir(), `${tag}.stderr`);
  const child = startProcess(tag, pinned(SERVER_CPU, argv), { stderrFile });
  child.stdout.resume(); // its port line is not needed: the port was chosen here
  try {
    await waitForDns(child, port);
  } catch (err) {
    const tail = tailOf(stderrFile);
    throw new Error(`${err.message}${tail ? `\n--- ${tag} stderr ---\n${tail}` : ''}`);
  }
  return child;
}
