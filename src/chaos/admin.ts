import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FaultInjector, FaultSpecError } from './faults.js';

export interface ChaosAdminOptions {
  /** chaos.enabled: when false every /chaos endpoint refuses and nothing changes. */
  readonly enabled: boolean;
  readonly injector: FaultInjector | undefined;
  /** chaos.tokenFile: read on each request, so a rotated Secret takes effect without a restart. */
  readonly tokenFile: string | undefined;
  /** Cached names for `ballast drill --names-from-target`. */
  readonly names: (limit: number) => { name: string; type: number }[];
}

const MAX_BODY = 4096;

/**
 * The chaos endpoints of the admin port:
 *   GET /chaos/faults · POST /chaos/faults (JSON spec) · DELETE /chaos/faults[/ID] · GET /chaos/names?limit=N
 * Returns false for paths it does not own.
 */
export async function chaosRoute(opts: ChaosAdminOptions, req: IncomingMessage, res: ServerResponse, path: string) {
  if (path !== '/chaos' && !path.startsWith('/chaos/')) return false;
  const reply = (status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  if (!opts.enabled || opts.injector === undefined) {
    reply(403, { error: 'chaos is disabled (set chaos.enabled: true to allow fault injection)' });
    return true;
  }
  // Every chaos endpoint needs the token, on loopback too: in a DaemonSet every process in the node's network
  // namespace reaches 127.0.0.1, and a fault turns off DNS for the whole node (docs/security.md).
  const problem = await checkToken(opts.tokenFile, req.headers.authorization);
  if (problem !== undefined) {
    res.setHeader('www-authenticate', 'Bearer');
    reply(401, { error: problem });
    return true;
  }
  const injector = opts.injector;
  const method = req.method ?? 'GET';
  if (path === '/chaos/faults' && method === 'GET') {
    reply(200, { faults: injector.list() });
  } else if (path === '/chaos/faults' && method === 'POST') {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (err) {
      reply(400, { error: `body: ${(err as Error).message}` });
      return true;
    }
    try {
      reply(201, injector.add(body));
    } catch (err) {
      if (!(err instanceof FaultSpecError)) throw err;
      reply(400, { error: err.message });
    }
  } else if (path === '/chaos/faults' && method === 'DELETE') {
    reply(200, { cleared: injector.clear() });
  } else if (path.startsWith('/chaos/faults/') && method === 'DELETE') {
    const cleared = injector.clear(path.slice('/chaos/faults/'.length));
    reply(cleared ? 200 : 404, cleared ? { cleared } : { error: 'no such fault' });
  } else if (path === '/chaos/names' && method === 'GET') {
    const limit = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('limit') ?? 1000);
    reply(200, { names: opts.names(Number.isInteger(limit) && limit > 0 ? Math.min(limit, 100_000) : 1000) });
  } else {
    reply(404, { error: 'not found' });
  }
  return true;
}

/**
 * Why the request's bearer token is refused, or undefined. node:crypto (for its constant-time comparison) is loaded
 * here, on the first chaos request, not at start: nothing else in the serving process needs it, and it costs every
 * node about 0.5 MiB of resident memory (docs/performance.md §2).
 */
async function checkToken(tokenFile: string | undefined, header: string | undefined): Promise<string | undefined> {
  if (tokenFile === undefined) return 'set chaos.tokenFile to use chaos endpoints';
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch {
    return 'chaos.tokenFile cannot be read';
  }
  if (token === '') return 'chaos.tokenFile is empty';
  const given = /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  const { timingSafeEqual } = await import('node:crypto');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return 'missing or wrong bearer token';
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
