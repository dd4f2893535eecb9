import { isIP } from 'node:net';
import { z } from 'zod';
import { checkNodeConfig, nodeSchema } from '../node/config.js';
import { parseCidr } from '../util/cidr.js';

/** Every default in one place. docs/configuration.md lists the same values; a test keeps them equal. */
export const DEFAULT_LISTEN = '127.0.0.1:5353';
export const DEFAULT_ADMIN = '127.0.0.1:9253';
export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';
export const DEFAULT_SNAPSHOT_PATH = '/var/lib/ballast/cache.snapshot';
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
  // Canonical IPv6 text ("fd00::53", not "FD00:0::53"): one upstream is one address, however it was written (the
  // reuse across reloads is keyed on it). IPv4-mapped addresses keep their dotted form; a zone index is kept as
  // written.
  if (isIP(host) === 6 && !host.includes('.')) {
    const [address, zoneIndex] = host.split('%');
    const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    host = zoneIndex === undefined ? canonical : `${canonical}%${zoneIndex}`;
  }
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
  /** Per-query deadline; defaults to upstream.deadlineMs. */
  deadlineMs: int().min(100).max(30_000).optional(),
});

export const configSchema = z
  .strictObject({
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
        /**
         * How long one query may take, retransmissions included, before it has failed (SERVFAIL, and the failure
         * cache). Under glibc's 5 s resolver timeout, so a client gets an answer before it gives up on its attempt;
         * above NodeLocal DNSCache's fixed 2 s, so a cold recursion behind the upstream has time to finish.
         */
        deadlineMs: int().min(100).max(30_000).default(4000),
        /** Queries in flight to one upstream at most (CoreDNS max_concurrent); halved while it answers REFUSED. */
        maxInflight: int().min(1).max(100_000).default(1000),
        retransmit: z
          .strictObject({
            /** Retransmission timeout before an upstream has answered anything. */
            initialRtoMs: int().min(10).max(30_000).default(500),
            /** Floor of the RTT-based timeout (SRTT + 4·RTTVAR, RFC 6298's estimator). */
            minRtoMs: int().min(10).max(30_000).default(200),
            /** Ceiling of the RTT-based timeout, before doubling per retransmission. */
            maxRtoMs: int().min(10).max(30_000).default(2000),
            /** Retry tokens earned per upstream answer; each retransmission spends one (RFC 9520 §3.1). */
            budgetPerAnswer: z.number().min(0).max(10).default(1),
            /** Retry tokens earned per second regardless, so a quiet node can still retransmit. */
            budgetMinPerSecond: z.number().min(0).max(100_000).default(10),
            /** Retry tokens banked at most. */
            budgetBurst: int().min(1).max(1_000_000).default(100),
          })
          .prefault({}),
        health: z
          .strictObject({
            /** No answer to any query for this long, while queries are out, makes an upstream suspect (then probed). */
            silenceMs: int().min(100).max(600_000).default(1000),
            /** Transport errors in a row (refused, unreachable, TCP connect failures) that make it suspect. */
            transportErrors: int().min(1).max(1000).default(3),
            /** Share of recent distinct names failing (SERVFAIL or no answer by the deadline) that makes it suspect. */
            failureRatio: z.number().gt(0).max(1).default(0.9),
            /** Distinct names needed before the failure ratio counts. */
            minNames: int().min(1).max(10_000).default(20),
            /** First probe backoff once down; doubles per failed probe, with full jitter. */
            probeBackoffMinMs: int().min(10).max(600_000).default(500),
            /** Longest probe backoff. */
            probeBackoffMaxMs: int().min(100).max(3_600_000).default(30_000),
          })
          .prefault({}),
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
        /**
         * Arena slabs for keys and messages (src/cache/arena.ts): 32 MiB hold about 230,000 entries of the typical
         * mix (bench/lib/mix.js), so 100,000 entries fill by count long before by bytes.
         */
        maxBytes: int()
          .min(64 * 1024)
          .max(16 * 1024 ** 3)
          .default(32 * 1024 * 1024),
        minTtlSeconds: int().min(0).max(86_400).default(0),
        /** RFC 8767 §4: cap any TTL at 7 days. */
        maxTtlSeconds: int().min(1).max(604_800).default(604_800),
        /** RFC 2308 §5: negative answers are capped; 1 hour as Unbound. */
        maxNegativeTtlSeconds: int().min(0).max(604_800).default(3600),
      })
      .prefault({}),
    persistence: z
      .strictObject({
        /** Keep the cache across restarts in a snapshot file (docs/design.md §7). */
        enabled: z.boolean().default(true),
        /** Snapshot file; its directory is created if missing. In Kubernetes, a hostPath. */
        path: z.string().min(1).default(DEFAULT_SNAPSHOT_PATH),
        /** How often the snapshot is written (and once more at shutdown). */
        intervalSeconds: int().min(1).max(86_400).default(60),
        /** Largest snapshot written or loaded; a bigger file is ignored at start. */
        maxBytes: int()
          .min(64 * 1024)
          .max(16 * 1024 ** 3)
          .default(256 * 1024 * 1024),
      })
      .prefault({}),
    chaos: z
      .strictObject({
        /** Allow fault injection over the admin API (docs/design.md §9). Off: every /chaos endpoint refuses. */
        enabled: z.boolean().default(false),
        /** Longest fault; every fault has a duration and ends by itself. */
        maxDurationSeconds: int().min(1).max(86_400).default(600),
        /** File holding the bearer token every chaos endpoint requires (required when chaos is enabled). */
        tokenFile: z.string().min(1).optional(),
      })
      .prefault({}),
    stale: z
      .strictObject({
        /** How long past expiry an entry may be served stale (RFC 8767 §5 suggests 1–3 days; Unbound uses 1 day). */
        maxAgeSeconds: int()
          .min(0)
          .max(30 * 86_400)
          .default(86_400),
        /** TTL of every record in a stale answer (RFC 8767 §4: 30 s). Never 0. */
        answerTtlSeconds: int().min(1).max(3600).default(30),
        /** With a stale entry and a healthy upstream, how long a client waits for the refresh (RFC 8767 §5). */
        clientTimeoutMs: int().min(0).max(30_000).default(1800),
        /** After a failed refresh, how long before the key is asked upstream again (RFC 8767 §5). */
        recheckSeconds: int().min(1).max(300).default(30),
        /** Keep serving entries past maxAgeSeconds while every upstream of their zone is down. */
        keepPastMaxAgeWhileDown: z.boolean().default(false),
      })
      .prefault({}),
    refresh: z
      .strictObject({
        /** Earliest background refresh point, as a fraction of the TTL. */
        fromFraction: z.number().gt(0).lt(1).default(0.75),
        /** Latest background refresh point, as a fraction of the TTL. */
        toFraction: z.number().gt(0).lt(1).default(0.95),
        /** Hits in an entry's current lifetime that make it eligible for a background refresh. */
        minHits: int().min(1).max(1000).default(2),
        /** Background refreshes per second per zone at most (0: no limit). */
        budgetPerSecond: int().min(0).max(1_000_000).default(1000),
        /** Floor of the post-outage refresh rate for a zone that was nearly idle before. */
        recoveryMinPerSecond: int().min(1).max(1_000_000).default(20),
      })
      .prefault({}),
    failureCache: z
      .strictObject({
        /** First hold after a failure, for a key with no stale answer (RFC 9520 §3.2: ≥ 1 s). */
        initialSeconds: int().min(1).max(300).default(5),
        /** Longest hold, reached by doubling (RFC 9520 §3.2: ≤ 5 min). */
        maxSeconds: int().min(1).max(300).default(300),
        /** Keys remembered at most. */
        maxEntries: int().min(1).max(10_000_000).default(100_000),
      })
      .prefault({}),
    fairness: z
      .strictObject({
        /** Queues that client addresses are shuffle-sharded over (API Priority and Fairness: 64). */
        queues: int().min(1).max(1024).default(64),
        /** Queues in one client's hand; a query waits in the shortest of them (APF: 8). */
        handSize: int().min(1).max(1024).default(8),
        /** Queries one queue holds while upstream capacity is taken; beyond it, REFUSED. */
        queueLength: int().min(1).max(100_000).default(256),
      })
      .prefault({}),
    server: z
      .strictObject({
        /** EDNS payload size ballast advertises to clients. */
        udpPayloadSize: int().min(512).max(4096).default(DEFAULT_UDP_PAYLOAD_SIZE),
        /** SO_RCVBUF of each UDP listener; the kernel caps it at net.core.rmem_max. */
        udpReceiveBufferBytes: int()
          .min(64 * 1024)
          .max(256 * 1024 * 1024)
          .default(4 * 1024 * 1024),
        /** Client networks served (CIDRs, or single addresses); empty: everyone. Others are dropped unanswered. */
        allowClients: z
          .array(
            z.string().refine((v) => parseCidr(v) !== undefined, {
              message: 'expected a CIDR such as 10.0.0.0/8 or fd00::/8, or a single IP address',
            }),
          )
          .default([]),
        tcp: z
          .strictObject({
            idleTimeoutMs: int().min(100).max(600_000).default(10_000),
            maxConnections: int().min(1).max(100_000).default(1000),
            maxInflightPerConnection: int().min(1).max(10_000).default(100),
          })
          .prefault({}),
        /**
         * On SIGTERM, how long to keep serving (not ready) before closing the listeners: during a rollout the new
         * instance already shares the addresses (SO_REUSEPORT), so this only has to cover clients mid-exchange.
         */
        drainPeriodMs: int().min(0).max(600_000).default(2000),
        /** On SIGTERM/SIGINT, how long to wait for queries in flight before closing. */
        drainTimeoutMs: int().min(0).max(600_000).default(5000),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
    /** Node networking (interface, iptables) and cluster upstream discovery: docs/node-networking.md. */
    node: nodeSchema,
  })
  .superRefine((c, ctx) => {
    for (const issue of checkNodeConfig(c.node, c.listen)) ctx.addIssue({ code: 'custom', ...issue });
    if (c.chaos.enabled && c.chaos.tokenFile === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['chaos', 'tokenFile'],
        message: 'required when chaos.enabled is true: every chaos endpoint needs a bearer token, also on loopback',
      });
    }
    // Pairs that must be ordered; each message names the first key and the bound it broke.
    const pairs: [string[], number, string, number][] = [
      [['refresh', 'fromFraction'], c.refresh.fromFraction, 'refresh.toFraction', c.refresh.toFraction],
      [['cache', 'minTtlSeconds'], c.cache.minTtlSeconds, 'cache.maxTtlSeconds', c.cache.maxTtlSeconds],
      [
        ['upstream', 'retransmit', 'minRtoMs'],
        c.upstream.retransmit.minRtoMs,
        'upstream.retransmit.maxRtoMs',
        c.upstream.retransmit.maxRtoMs,
      ],
      [['fairness', 'handSize'], c.fairness.handSize, 'fairness.queues', c.fairness.queues],
      [
        ['upstream', 'health', 'probeBackoffMinMs'],
        c.upstream.health.probeBackoffMinMs,
        'upstream.health.probeBackoffMaxMs',
        c.upstream.health.probeBackoffMaxMs,
      ],
      [
        ['failureCache', 'initialSeconds'],
        c.failureCache.initialSeconds,
        'failureCache.maxSeconds',
        c.failureCache.maxSeconds,
      ],
    ];
    for (const [path, low, highKey, high] of pairs) {
      if (low > high)
        ctx.addIssue({ code: 'custom', path, input: low, message: `must not exceed ${highKey} (${high})` });
    }
    const seen = new Map<string, number>();
    c.zones.forEach((z, i) => {
      const path = ['zones', i, 'name'];
      if (z.name === '.') {
        ctx.addIssue({ code: 'custom', path, message: 'the root zone is set with upstream.servers, not as a zone' });
      } else if (seen.has(z.name)) {
        ctx.addIssue({ code: 'custom', path, message: `duplicate of zones.${seen.get(z.name)}.name` });
      }
      seen.set(z.name, i);
    });
  });

/** Settings as written in YAML or built from flags. */
export type ConfigInput = z.input<typeof configSchema>;
/** Validated settings with every default filled in. */
export type Config = z.output<typeof configSchema>;
