import { isIP } from 'node:net';
import { join } from 'node:path';
import * as v from 'valibot';
import { nodeSchema } from '../node/config.js';
import { parseCidr } from '../util/cidr.js';
import { fraction, int, nonEmpty, num, oneOf, positive, section, text } from '../util/validators.js';

/** Every default in one place. docs/configuration.md lists the same values; a test keeps them equal. */
export const DEFAULT_LISTEN = '127.0.0.1:1053';
export const DEFAULT_ADMIN = '127.0.0.1:9253';
export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';
/** How the snapshot's default place is found, as help and docs say it (defaultSnapshotPath). */
export const DEFAULT_SNAPSHOT_RULE =
  'the state directory: $STATE_DIRECTORY, $XDG_STATE_HOME/ballast or ~/.local/state/ballast';

/**
 * The snapshot file unless `persistence.path` says: in the state directory systemd gives a service (`StateDirectory=`
 * sets $STATE_DIRECTORY; the image sets it to /var/lib/ballast), else in the user's XDG state directory
 * ($XDG_STATE_HOME, or ~/.local/state), under ballast/; /var/lib/ballast without a home. So `npm start` and
 * `ballast serve` write where their user expects, and never into /var/lib as root by surprise.
 */
export function defaultSnapshotPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.STATE_DIRECTORY?.split(':')[0];
  if (state) return join(state, 'cache.snapshot');
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'ballast', 'cache.snapshot');
  if (env.HOME) return join(env.HOME, '.local', 'state', 'ballast', 'cache.snapshot');
  return '/var/lib/ballast/cache.snapshot';
}
/** DNS Flag Day 2020: 1232 bytes avoids IP fragmentation on practically every path. */
export const DEFAULT_UDP_PAYLOAD_SIZE = 1232;

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

const LISTEN_MESSAGE = 'expected IP:PORT (IPv6 as [::1]:5353), port 0–65535';
const listenAddress = v.pipe(
  v.string(LISTEN_MESSAGE),
  v.check((s) => parseEndpoint(s) !== undefined, LISTEN_MESSAGE),
);

const SERVER_MESSAGE = 'expected IP or IP:PORT (IPv6 as [::1]:53)';
const serverAddress = v.pipe(
  v.string(SERVER_MESSAGE),
  v.check((s) => parseEndpoint(s, 53) !== undefined, SERVER_MESSAGE),
);

const ZONE_MESSAGE = 'expected a DNS zone name such as cluster.local';
const zoneName = v.pipe(
  v.string(ZONE_MESSAGE),
  v.transform((s) => s.toLowerCase().replace(/\.$/, '') || '.'),
  v.check((s) => s === '.' || /^([a-z0-9_*-]{1,63}\.)*[a-z0-9_-]{1,63}$/.test(s), ZONE_MESSAGE),
);

const protocol = oneOf(['udp', 'tcp', 'prefer-udp']);
const policy = oneOf(['random', 'round_robin', 'sequential']);
const lastKnownGoodPolicy = oneOf(['off', 'correlated', 'prefer-positive']);

const CIDR_MESSAGE = 'expected a CIDR such as 10.0.0.0/8 or fd00::/8, or a single IP address';
const clientNetwork = v.pipe(
  v.string(CIDR_MESSAGE),
  v.check((s) => parseCidr(s) !== undefined, CIDR_MESSAGE),
);

/** One entry of `zones`. */
export const zoneSchema = v.object({
  /** Zone apex; queries at or below it go to this zone's servers (longest suffix wins). */
  name: zoneName,
  /** Upstream servers for this zone. */
  servers: nonEmpty(serverAddress),
  /** Transport towards these servers; defaults to upstream.protocol. */
  protocol: v.optional(protocol),
  /** Selection policy; defaults to upstream.policy. */
  policy: v.optional(policy),
  /** Per-query deadline; defaults to upstream.deadlineMs. */
  deadlineMs: v.optional(int(100, 30_000)),
  /** What a negative answer for a name this zone answered positively does; defaults to lastKnownGood.policy. */
  lastKnownGood: v.optional(lastKnownGoodPolicy),
});

/** Every section of the config, each key with its range and default; checks across keys are in checks.ts. */
export const settings = v.object({
  /** Addresses to serve DNS on, UDP and TCP each. */
  listen: v.optional(nonEmpty(listenAddress), () => [DEFAULT_LISTEN]),
  admin: section({
    /** HTTP address for /metrics, /health, /ready. */
    listen: v.optional(listenAddress, DEFAULT_ADMIN),
    /** /health fails when the event loop's p99 delay exceeds this. */
    maxEventLoopDelayMs: v.optional(int(10, 60_000), 2000),
  }),
  upstream: section({
    /** Upstreams for the root zone; empty means the nameservers of `resolvConf`. */
    servers: v.optional(v.array(serverAddress, 'expected a list'), () => []),
    /** Where to read nameservers from when `servers` is empty. */
    resolvConf: v.optional(text(), DEFAULT_RESOLV_CONF),
    protocol: v.optional(protocol, 'prefer-udp'),
    policy: v.optional(policy, 'random'),
    /**
     * How long one query may take on the wire, from its first attempt, retransmissions included, before it has
     * failed (SERVFAIL, and the failure cache). Under glibc's 5 s resolver timeout, so a client gets an answer before
     * it gives up on its attempt; above NodeLocal DNSCache's fixed 2 s, so a cold recursion behind the upstream has
     * time to finish. A wait for capacity in a fair queue comes before it, and is bounded by it too.
     */
    deadlineMs: v.optional(int(100, 30_000), 4000),
    /** Queries in flight to one upstream at most (CoreDNS max_concurrent); halved while it answers REFUSED. */
    maxInflight: v.optional(int(1, 100_000), 1000),
    retransmit: section({
      /** Retransmission timeout before an upstream has answered anything. */
      initialRtoMs: v.optional(int(10, 30_000), 500),
      /** Floor of the RTT-based timeout (SRTT + 4·RTTVAR, RFC 6298's estimator). */
      minRtoMs: v.optional(int(10, 30_000), 200),
      /** Ceiling of the RTT-based timeout, before doubling per retransmission. */
      maxRtoMs: v.optional(int(10, 30_000), 2000),
      /** Retry tokens earned per upstream answer; each retransmission spends one (RFC 9520 §3.1). */
      budgetPerAnswer: v.optional(num(0, 10), 1),
      /** Retry tokens earned per second regardless, so a quiet node can still retransmit. */
      budgetMinPerSecond: v.optional(num(0, 100_000), 10),
      /** Retry tokens banked at most. */
      budgetBurst: v.optional(int(1, 1_000_000), 100),
    }),
    health: section({
      /** No answer to any query for this long, while queries are out, makes an upstream suspect (then probed). */
      silenceMs: v.optional(int(100, 600_000), 1000),
      /** Transport errors in a row (refused, unreachable, TCP connect failures) that make it suspect. */
      transportErrors: v.optional(int(1, 1000), 3),
      /** Share of recent distinct names failing (an error rcode or no answer by the deadline) that makes it suspect. */
      failureRatio: v.optional(positive(1), 0.9),
      /** Distinct names needed before the failure ratio counts. */
      minNames: v.optional(int(1, 10_000), 20),
      /** Distinct domains the failing names must come from: one broken domain is not a broken upstream. */
      minDomains: v.optional(int(1, 1000), 3),
      /** While down, the next probe (the zone's SOA) goes out at a random point in [¾, 1¼] of this. */
      probeIntervalMs: v.optional(int(100, 600_000), 1000),
    }),
    /** EDNS payload size ballast asks upstreams for. */
    udpPayloadSize: v.optional(int(512, 4096), DEFAULT_UDP_PAYLOAD_SIZE),
    /**
     * Pass the upstreams' AD bit on (to clients that set DO or AD): only where the path to them is trusted, since
     * ballast validates nothing (RFC 6840 §5.8; dnsmasq's proxy-dnssec). Off: AD is always cleared.
     */
    trustAd: v.optional(v.boolean('expected true or false'), false),
    tcp: section({
      maxConnections: v.optional(int(1, 64), 4),
      maxInflightPerConnection: v.optional(int(1, 65_535), 1000),
      /** Kept below CoreDNS's own idle close (about 8 s) so ballast, not the server, closes first. */
      idleTimeoutMs: v.optional(int(100, 600_000), 5000),
    }),
  }),
  /** Per-zone upstreams (stub domains, the cluster zone). */
  zones: v.optional(v.array(zoneSchema, 'expected a list'), () => []),
  cache: section({
    maxEntries: v.optional(int(1, 10_000_000), 100_000),
    /**
     * Arena slabs for keys and messages (src/cache/arena.ts): 32 MiB hold about 230,000 entries of the typical
     * mix (bench/lib/mix.js), so 100,000 entries fill by count long before by bytes.
     */
    maxBytes: v.optional(int(64 * 1024, 16 * 1024 ** 3), 32 * 1024 * 1024),
    minTtlSeconds: v.optional(int(0, 86_400), 0),
    /** RFC 8767 §4: cap any TTL at 7 days. */
    maxTtlSeconds: v.optional(int(1, 604_800), 604_800),
    /** RFC 2308 §5: negative answers are capped; 1 hour as Unbound. */
    maxNegativeTtlSeconds: v.optional(int(0, 604_800), 3600),
  }),
  persistence: section({
    /** Keep the cache across restarts in a snapshot file (docs/design.md §7). */
    enabled: v.optional(v.boolean('expected true or false'), true),
    /** Snapshot file; its directory is created if missing. In Kubernetes, a hostPath. */
    path: v.optional(text(), () => defaultSnapshotPath()),
    /** How often the snapshot is written (and once more at shutdown). */
    intervalSeconds: v.optional(int(1, 86_400), 60),
    /** Largest snapshot written or loaded; a bigger file is ignored at start. */
    maxBytes: v.optional(int(64 * 1024, 16 * 1024 ** 3), 256 * 1024 * 1024),
  }),
  chaos: section({
    /** Allow fault injection over the admin API (docs/design.md §9). Off: every /chaos endpoint refuses. */
    enabled: v.optional(v.boolean('expected true or false'), false),
    /** Longest fault; every fault has a duration and ends by itself. */
    maxDurationSeconds: v.optional(int(1, 86_400), 600),
    /** File holding the bearer token every chaos endpoint requires (required when chaos is enabled). */
    tokenFile: v.optional(text()),
  }),
  stale: section({
    /** How long past expiry an entry may be served stale (RFC 8767 §5 suggests 1–3 days; Unbound uses 1 day). */
    maxAgeSeconds: v.optional(int(0, 30 * 86_400), 86_400),
    /** TTL of every record in a stale answer (RFC 8767 §4: 30 s). Never 0. */
    answerTtlSeconds: v.optional(int(1, 3600), 30),
    /** With a stale entry and a healthy upstream, how long a client waits for the refresh (RFC 8767 §5). */
    clientTimeoutMs: v.optional(int(0, 30_000), 1800),
    /** After a failed refresh, how long before the key is asked upstream again (RFC 8767 §5). */
    recheckSeconds: v.optional(int(1, 300), 30),
    /** Keep serving entries past maxAgeSeconds while every upstream of their zone is down. */
    keepPastMaxAgeWhileDown: v.optional(v.boolean('expected true or false'), false),
  }),
  lastKnownGood: section({
    /**
     * A negative answer (NXDOMAIN, or NODATA) for a name the cache holds a positive answer for: `off` passes it on;
     * `correlated` keeps serving the positive one while the negative is unconfirmed or the upstream contradicts names
     * by turns or all at once; `prefer-positive` always keeps the positive one.
     */
    policy: v.optional(lastKnownGoodPolicy, 'correlated'),
    /** The oldest positive answer that may be served in place of a negative one. */
    maxAgeSeconds: v.optional(int(1, 30 * 86_400), 86_400),
  }),
  refresh: section({
    /** Earliest background refresh point, as a fraction of the TTL. */
    fromFraction: v.optional(fraction(), 0.75),
    /** Latest background refresh point, as a fraction of the TTL. */
    toFraction: v.optional(fraction(), 0.95),
    /** Hits in an entry's current lifetime that make it eligible for a background refresh. */
    minHits: v.optional(int(1, 1000), 2),
    /** Background refreshes per second per zone at most (0: no limit). */
    budgetPerSecond: v.optional(int(0, 1_000_000), 1000),
    /**
     * Floor of the post-outage refresh rate for a zone that was nearly idle before. At most a typical node's steady
     * rate to CoreDNS (about 10/s): every node of a fleet notices a recovery in the same second, and a floor above
     * its own rate would add up to more than the fleet's steady load.
     */
    recoveryMinPerSecond: v.optional(int(1, 1_000_000), 10),
  }),
  failureCache: section({
    /** First hold after a failure, for a key with no stale answer (RFC 9520 §3.2: ≥ 1 s). */
    initialSeconds: v.optional(int(1, 300), 5),
    /** Longest hold, reached by doubling (RFC 9520 §3.2: ≤ 5 min). */
    maxSeconds: v.optional(int(1, 300), 300),
    /** Keys remembered at most. */
    maxEntries: v.optional(int(1, 10_000_000), 100_000),
  }),
  fairness: section({
    /** Queues that client addresses are shuffle-sharded over (API Priority and Fairness: 64). */
    queues: v.optional(int(1, 1024), 64),
    /** Queues in one client's hand; a query waits in the shortest of them (APF: 8). */
    handSize: v.optional(int(1, 1024), 8),
    /** Queries one queue holds while upstream capacity is taken; beyond it, REFUSED. */
    queueLength: v.optional(int(1, 100_000), 256),
  }),
  server: section({
    /** EDNS payload size ballast advertises to clients. */
    udpPayloadSize: v.optional(int(512, 4096), DEFAULT_UDP_PAYLOAD_SIZE),
    /** SO_RCVBUF of each UDP listener; the kernel caps it at net.core.rmem_max. */
    udpReceiveBufferBytes: v.optional(int(64 * 1024, 256 * 1024 * 1024), 4 * 1024 * 1024),
    /** Client networks served (CIDRs, or single addresses); empty: everyone. Others are dropped unanswered. */
    allowClients: v.optional(v.array(clientNetwork, 'expected a list'), () => []),
    tcp: section({
      idleTimeoutMs: v.optional(int(100, 600_000), 10_000),
      maxConnections: v.optional(int(1, 100_000), 1000),
      maxInflightPerConnection: v.optional(int(1, 10_000), 100),
    }),
    /**
     * On SIGTERM, how long to keep serving (not ready) before closing the listeners: during a rollout the new
     * instance already shares the addresses (SO_REUSEPORT), so this only has to cover clients mid-exchange.
     */
    drainPeriodMs: v.optional(int(0, 600_000), 2000),
    /** On SIGTERM/SIGINT, how long to wait for queries in flight before closing. */
    drainTimeoutMs: v.optional(int(0, 600_000), 5000),
  }),
  log: section({
    level: v.optional(oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  }),
  /** Node networking (interface, iptables) and cluster upstream discovery: docs/node-networking.md. */
  node: nodeSchema,
});

/** Settings as written in YAML or built from flags. */
export type ConfigInput = v.InferInput<typeof settings>;
/** Validated settings with every default filled in. */
export type Config = v.InferOutput<typeof settings>;
