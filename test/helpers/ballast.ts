// Starts ballast in-process on loopback port 0 with a silent logger (unless given one) and explicit upstreams.
import type { Logger } from 'pino';
import { Ballast } from '../../src/ballast.js';
import { type ConfigInput, validate } from '../../src/config/index.js';
import { silentLogger } from '../../src/observe/index.js';
import type { Clock } from '../../src/util/clock.js';
import type { Random } from '../../src/util/random.js';

export interface Running {
  readonly ballast: Ballast;
  readonly port: number;
  readonly adminPort: number;
  metrics(): Promise<string>;
  /** The value of one sample, e.g. metric('ballast_upstream_queries_total', { protocol: 'udp' }); sums matches. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startBallast(
  config: ConfigInput & { upstream: { servers: string[] } },
  deps: { clock?: Clock; random?: Random; log?: Logger } = {},
): Promise<Running> {
  const full = validate({
    listen: ['127.0.0.1:0'],
    ...config,
    admin: { listen: '127.0.0.1:0', ...config.admin },
    server: { drainTimeoutMs: 1000, drainPeriodMs: 0, ...config.server },
    // Tests never touch the default snapshot path; a test that wants a snapshot names its own file.
    persistence: { enabled: false, ...config.persistence },
  });
  const ballast = new Ballast(full, { log: silentLogger(), ...deps });
  const bound = await ballast.start();
  const metrics = () => ballast.registry.metrics();
  return {
    ballast,
    port: bound.udp[0].port,
    adminPort: bound.admin.port,
    metrics,
    async metric(name, labels = {}) {
      const text = await metrics();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const got = Object.fromEntries(
          (m[3] ?? '')
            .split(',')
            .filter(Boolean)
            .map((kv) => {
              const [k, v] = kv.split('=');
              return [k, v.replace(/^"|"$/g, '')];
            }),
        );
        if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[4]);
      }
      return sum;
    },
    close: () => ballast.close(),
  };
}
