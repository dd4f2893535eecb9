import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import type { Endpoint } from '../util/endpoint.js';
import { LoopDelay } from './loop-delay.js';
import type { Registry } from './prom.js';

export interface AdminOptions {
  readonly endpoint: Endpoint;
  readonly registry: Registry;
  /** Readiness: listeners bound (and, later, snapshot loaded). Never upstream health (docs/design.md §8). */
  readonly ready: () => boolean;
  /** Lines /ready adds to its body either way (a forwarding loop found), without changing its status. */
  readonly readyDetail?: () => string[];
  /** /health fails when the event loop's p99 delay in a window since the previous check exceeds this. */
  readonly maxEventLoopDelayMs: number;
  /** Schedules the event-loop delay windows (loop-delay.ts); the system clock by default. */
  readonly clock?: Clock;
  readonly log: Logger;
  /** More routes (the chaos API); returns true when it answered. */
  readonly routes?: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;
}

/**
 * node:http through require, not an ES import: importing a built-in module as ES evaluates every export, and
 * node:http's WebSocket, CloseEvent and MessageEvent exports are getters that load undici, about 12 MiB of
 * resident memory for a client ballast never uses (docs/performance.md §2).
 */
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

/** HTTP admin endpoints: /metrics (Prometheus), /health (liveness), /ready (readiness). */
export class AdminServer {
  private server: Server | undefined;
  private readonly loop: LoopDelay;

  constructor(private readonly opts: AdminOptions) {
    this.loop = new LoopDelay(undefined, opts.clock);
    this.loop.register(opts.registry);
  }

  async start(): Promise<Endpoint> {
    this.loop.start();
    const server = createServer((req, res) => {
      this.route(req, res).catch((err) => {
        this.opts.log.error({ err }, 'admin request failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // reusePort: a second instance binds the same admin port during a rollout (kubernetes/dns#667).
      server.listen({ host: this.opts.endpoint.host, port: this.opts.endpoint.port, reusePort: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error('admin server has no address');
    return { host: a.address, port: a.port };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (this.opts.routes !== undefined && (await this.opts.routes(req, res, path))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/metrics': {
        const body = await this.opts.registry.metrics();
        res.writeHead(200, { 'content-type': this.opts.registry.contentType }).end(body);
        return;
      }
      case '/health': {
        const p99 = this.loop.takeWorstP99Ms();
        const ok = p99 <= this.opts.maxEventLoopDelayMs;
        res
          .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
          .end(ok ? 'ok\n' : `event loop delay p99 ${p99.toFixed(0)} ms\n`);
        return;
      }
      case '/ready': {
        const ok = this.opts.ready();
        const detail = (this.opts.readyDetail?.() ?? []).map((l) => `${l}\n`).join('');
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${ok ? 'ready' : 'not ready'}\n${detail}`);
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }

  async close(): Promise<void> {
    this.loop.stop();
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
