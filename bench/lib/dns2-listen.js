// Shared by the bench fixtures (bench/lib/fixtures.js) and the test upstream (test/helpers/upstream.ts). Plain
// JavaScript that imports nothing, so the tests can use it without the built dist/ that the rest of bench/lib needs;
// bench/lib/dns2-listen.d.ts types it for them.

/**
 * Starts a dns2 server listening and resolves with it. dns2's listen() never rejects: a bind error (the port is
 * taken) is emitted as 'error' instead, which this turns into a rejection. Errors from malformed requests
 * ('requestError') are dropped: a fake upstream keeps serving the next query.
 */
export function listenDns(server, opts) {
  server.on('requestError', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts).then(() => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
