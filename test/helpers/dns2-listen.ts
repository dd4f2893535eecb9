// The tests' fake upstream (test/helpers/upstream.ts) starts its dns2 servers with this; the bench fixtures
// (bench/lib/fixtures.js) too. Its types are erasable, so Node.js 24 runs it as it is.
import type dns2 from 'dns2';

type DnsServer = ReturnType<typeof dns2.createServer>;

/**
 * Starts a dns2 server listening and resolves with it. dns2's listen() never rejects: a bind error (the port is
 * taken) is emitted as 'error' instead, which this turns into a rejection. Errors from malformed requests
 * ('requestError') are dropped: a fake upstream keeps serving the next query.
 */
export function listenDns(server: DnsServer, opts: Parameters<DnsServer['listen']>[0]): Promise<DnsServer> {
  server.on('requestError', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts).then(() => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
