// The cache-hit path in one process, without sockets: RequestHandler.handle over a warm cache, a fixed number of
// times, for A/B comparisons of the per-query work of two checkouts.
//
//   npm run build
//   node bench/hitpath.js --iterations 2000000                      # ns per hit, wall clock (noisy when shared)
//   node bench/hitpath.js --iterations 2000000 --root /path/to/old  # the same for another built checkout
//
// On a shared machine compare whole-process CPU time of the two, in pairs (docs/performance.md §3):
//
//   farm-bench -n 7 --vs "node bench/hitpath.js --child --iterations 2000000 --root /path/to/old" \
//     -- node bench/hitpath.js --child --iterations 2000000
//
// (Instruction counts under valgrind were tried and dropped: V8's tiering and GC made two runs of the same code differ
// by half.) Uses only APIs that every version of ballast has (cache.admit by string key, handler.handle), so the same
// script measures an older checkout. Queries: the realistic mix (bench/lib/mix.js), 1,000 names, EDNS on half of
// them, each answered from the cache (the script fails if any query is not a fresh hit). Each child first runs
// --warmup hits (default 100,000) that are not counted.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { mixQuestion, NODE, parseOptionsOrExit, ROOT } from './lib/index.js';

const opts = parseOptionsOrExit(import.meta.url, {
  iterations: { type: 'int', min: 1, max: 100_000_000, default: 200_000 },
  names: { type: 'int', min: 1, max: 100_000, default: 1000 },
  warmup: { type: 'int', min: 0, max: 100_000_000, default: 100_000 },
  root: { type: 'path', default: ROOT },
  child: { type: 'flag' },
});

const TYPES = { A: 1, AAAA: 28, SRV: 33, TXT: 16 };

function wire(name) {
  return Buffer.concat([
    ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

/** A query for mix entry i (EDNS with an OPT record on odd i), and the upstream's answer for it (TTL 3600). */
function exchange(i) {
  const { name, type } = mixQuestion(i);
  const qtype = TYPES[type];
  const question = Buffer.concat([wire(name), Buffer.from([qtype >> 8, qtype & 255, 0, 1])]);
  const edns = i % 2 === 1;
  const header = Buffer.from([i >> 8, i & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]);
  const opt = edns ? Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  const query = Buffer.concat([header, question, opt]);
  const rdata =
    qtype === 28
      ? Buffer.alloc(16, 1)
      : qtype === 33
        ? Buffer.from([0, 0, 0, 1, 0, 80, 0xc0, 12])
        : qtype === 16
          ? Buffer.from([3, 97, 98, 99])
          : Buffer.from([10, 0, i >> 8, i & 255]);
  const rr = Buffer.concat([
    Buffer.from([0xc0, 12, qtype >> 8, qtype & 255, 0, 1, 0, 0, 0x0e, 0x10, 0, rdata.length]),
    rdata,
  ]);
  const response = Buffer.concat([Buffer.from([0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]), question, rr]);
  return { query, response };
}

async function child() {
  const dist = (p) => pathToFileURL(path.join(opts.root, 'dist', p)).href;
  const { validate } = await import(dist('config/index.js'));
  const { buildCache, buildHandler, createContext, Routing } = await import(dist('assemble/index.js'));
  const { silentLogger, createRegistry } = await import(dist('observe/index.js'));
  const { parseQuery, scanResponse } = await import(dist('wire/index.js'));
  const config = validate({ upstream: { servers: ['127.0.0.1:9'] } });
  const now = 1_700_000_000_000;
  const clock = { now: () => now, setTimer: () => ({ cancel() {} }) };
  const ctx = createContext({ log: silentLogger(), clock, registry: createRegistry(false) });
  const cache = buildCache(config, ctx);
  const handler = buildHandler(config, cache, new Routing(config, ctx, () => undefined), ctx);
  const queries = [];
  for (let i = 0; i < opts.names; i++) {
    const { query, response } = exchange(i);
    cache.put(parseQuery(query).key, response, scanResponse(response), now);
    queries.push(query);
  }
  for (const q of queries) {
    const out = handler.handle(q, 'udp', '127.0.0.1');
    if (!Buffer.isBuffer(out)) throw new Error('a query was not answered from the cache at once');
  }
  // Warm-up: the JIT's tiers settle before anything is counted.
  for (let i = 0; i < opts.warmup; i++) handler.handle(queries[i % queries.length], 'udp', '127.0.0.1');
  const n = opts.iterations;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) bytes += handler.handle(queries[i % queries.length], 'udp', '127.0.0.1').length;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  process.stdout.write(`${JSON.stringify({ iterations: n, nsPerHit: ns, bytes })}\n`);
}

if (opts.child) {
  await child();
} else if (opts.callgrind) {
  // The difference between n and 2n iterations: start-up, cache fill and JIT warm-up cancel out.
  const n = opts.iterations;
  const one = instructions(n);
  const two = instructions(2 * n);
  const perHit = (two - one) / n;
  process.stdout.write(
    `${JSON.stringify({ root: opts.root, iterations: n, instructionsPerHit: Math.round(perHit) })}\n`,
  );
} else {
  const r = spawnSync(
    NODE,
    [
      '--max-semi-space-size=1',
      import.meta.filename,
      '--child',
      '--iterations',
      String(opts.iterations),
      '--names',
      String(opts.names),
      '--root',
      opts.root,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  process.stdout.write(r.stdout);
}
