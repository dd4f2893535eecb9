import { isIP } from 'node:net';
import { z } from 'zod';

/** Every default in one place (STYLE.md §8). docs/configuration.md lists the same values; a test keeps them equal. */
export const DEFAULT_LISTEN = '127.0.0.1:5353';
export const DEFAULT_ADMIN = '127.0.0.1:9253';
export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';
/** DNS Flag Day 2020: 1232 bytes avoids IP fragmentation on practically every path. */
export const DEFAULT_UDP_PAYLOAD_SIZE = 1232;

const int = () => z.number().int();

/** "HOST:PORT" or "[IPV6]:PORT"; HOST must be an IP literal (no name lookups at start-up). */
export function parseEndpoint(value: string, defaultPort?: number): { host: string; port: number } | undefined {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else if (isIP(value) === 6) {
    host = value;
  } else {
    const i = value.lastIndexOf(':');
    host = i === -1 ? value : value.slice(0, i);
    portText = i === -1 ? undefined : value.slice(i + 1);
  }
  if (isIP(host) === 0) return undefined;
  if (portText === undefined) return defaultPort === undefined ? undefined : { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  return { host, port };
}

const listenAddress = z
  .string()
  .refine((v) => parseEndpoint(v) !== undefined, { message: 'expected IP:PORT (IPv6 as [::1]:5353), port 0–65535' });

const serverAddress = z
  .string()
  .refine((v) => parseEndpoint(v, 53) !== undefined, { message: 'expected IP or IP:PORT (IPv6 as [::1]:53)' });

const zoneName = z
  .string()
  .transform((v) => v.toLowerCase().replace(/\.$/, '') || '.')
  .refine((v) => v === '.' || /^([a-z0-9_*-]{1,63}\.)*[a-z0-9_-]{1,63}$/.test(v), {
    message: 'expected a DNS zone name such as cluster.local',
  });

const protocol = z.enum(['udp', 'tcp', 'prefer-udp']);
const policy = z.enum(['random', 'round_robin', 'sequential']);

const zoneSchema = z.strictObject({
  /** Zone apex; queries at or below it go to this zone's servers (longest suffix wins). */
  name: zoneName,
  /** Upstream servers for this zone. */
  servers: z.array(serverAddress).min(1),
  /** Transport towards these servers; defaults to upstream.protocol. */
  protocol: protocol.optional(),
  /** Selection policy; defaults to upstream.policy. */
  policy: policy.optional(),
  /** Per-attempt timeout; defaults to upstream.timeoutMs. */
  timeoutMs: int().min(50).max(30_000).optional(),
});

export const configSchema = z.strictObject({
  /** Addresses to serve DNS on, UDP and TCP each. */
  listen: z.array(listenAddress).min(1).default([DEFAULT_LISTEN]),
  admin: z
    .strictObject({
      /** HTTP address for /metrics, /health, /ready. */
      listen: listenAddress.default(DEFAULT_ADMIN),
      /** /health fails when the event loop's p99 delay exceeds this. */
      maxEventLoopDelayMs: int().min(10).max(60_000).default(2000),
    })
    .prefault({}),
  upstream: z
    .strictObject({
      /** Upstreams for the root zone; empty means the nameservers of `resolvConf`. */
      servers: z.array(serverAddress).default([]),
      /** Where to read nameservers from when `servers` is empty. */
      resolvConf: z.string().min(1).default(DEFAULT_RESOLV_CONF),
      protocol: protocol.default('prefer-udp'),
      policy: policy.default('random'),
      /** How long one attempt waits for an answer. */
      timeoutMs: int().min(50).max(30_000).default(2000),
      /** EDNS payload size ballast asks upstreams for. */
      udpPayloadSize: int().min(512).max(4096).default(DEFAULT_UDP_PAYLOAD_SIZE),
      tcp: z
        .strictObject({
          maxConnections: int().min(1).max(64).default(4),
          maxInflightPerConnection: int().min(1).max(65_535).default(1000),
          /** Kept below CoreDNS's own idle close (about 8 s) so ballast, not the server, closes first. */
          idleTimeoutMs: int().min(100).max(600_000).default(5000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Per-zone upstreams (stub domains, the cluster zone). */
  zones: z.array(zoneSchema).default([]),
  cache: z
    .strictObject({
      maxEntries: int().min(1).max(10_000_000).default(100_000),
      maxBytes: int()
        .min(64 * 1024)
        .max(16 * 1024 ** 3)
        .default(64 * 1024 * 1024),
      minTtlSeconds: int().min(0).max(86_400).default(0),
      /** RFC 8767 §4: cap any TTL at 7 days. */
      maxTtlSeconds: int().min(1).max(604_800).default(604_800),
      /** RFC 2308 §5: negative answers are capped; 1 hour as Unbound. */
      maxNegativeTtlSeconds: int().min(0).max(604_800).default(3600),
    })
    .prefault({}),
  server: z
    .strictObject({
      /** EDNS payload size ballast advertises to clients. */
      udpPayloadSize: int().min(512).max(4096).default(DEFAULT_UDP_PAYLOAD_SIZE),
      tcp: z
        .strictObject({
          idleTimeoutMs: int().min(100).max(600_000).default(10_000),
          maxConnections: int().min(1).max(100_000).default(1000),
          maxInflightPerConnection: int().min(1).max(10_000).default(100),
        })
        .prefault({}),
      /** On SIGTERM/SIGINT, how long to wait for queries in flight before closing. */
      drainTimeoutMs: int().min(0).max(600_000).default(5000),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

/** Settings as written in YAML or built from flags. */
export type ConfigInput = z.input<typeof configSchema>;
/** Validated settings with every default filled in. */
export type Config = z.output<typeof configSchema>;
