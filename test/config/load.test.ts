// The config parser as a table: defaults, every kind of bad value, flags over the file, resolv.conf.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultSnapshotPath,
  type FlagValues,
  loadConfig,
  parseEndpoint,
  readResolvConf,
  rootServers,
  validate,
} from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { NODE_DEFAULTS } from '../node/defaults.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ballast-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;
/** Writes `text` to a fresh file in the test's temp folder and returns its path. */
async function tempFile(text: string, ext = 'yaml'): Promise<string> {
  const file = join(dir, `file-${++fileCount}.${ext}`);
  await writeFile(file, text);
  return file;
}

/** The ConfigError that `fn` throws; fails the test when it throws nothing or something else. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('BALLAST_CONFIG_INVALID');
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

const up = { servers: ['127.0.0.1:9'] };

describe('the snapshot file by default', () => {
  it("is in systemd's state directory, else the user's XDG state directory, else /var/lib/ballast", () => {
    expect(defaultSnapshotPath({ STATE_DIRECTORY: '/var/lib/ballast', HOME: '/home/u' })).toBe(
      '/var/lib/ballast/cache.snapshot',
    );
    // StateDirectory= with several directories: the first.
    expect(defaultSnapshotPath({ STATE_DIRECTORY: '/var/lib/a:/var/lib/b' })).toBe('/var/lib/a/cache.snapshot');
    expect(defaultSnapshotPath({ XDG_STATE_HOME: '/x/state', HOME: '/home/u' })).toBe(
      '/x/state/ballast/cache.snapshot',
    );
    expect(defaultSnapshotPath({ HOME: '/home/u' })).toBe('/home/u/.local/state/ballast/cache.snapshot');
    expect(defaultSnapshotPath({})).toBe('/var/lib/ballast/cache.snapshot');
    expect(validate({}).persistence.path).toBe(defaultSnapshotPath(process.env));
  });
});

describe('defaults', () => {
  it('fills every setting from an empty object', () => {
    expect(validate({})).toEqual({
      listen: ['127.0.0.1:1053'],
      admin: { listen: '127.0.0.1:9253', maxEventLoopDelayMs: 2000 },
      upstream: {
        servers: [],
        resolvConf: '/etc/resolv.conf',
        protocol: 'prefer-udp',
        policy: 'random',
        deadlineMs: 4000,
        maxInflight: 1000,
        retransmit: {
          initialRtoMs: 500,
          minRtoMs: 200,
          maxRtoMs: 2000,
          budgetPerAnswer: 1,
          budgetMinPerSecond: 10,
          budgetBurst: 100,
        },
        health: {
          silenceMs: 1000,
          transportErrors: 3,
          failureRatio: 0.9,
          minNames: 20,
          minDomains: 3,
          probeIntervalMs: 1000,
        },
        udpPayloadSize: 1232,
        trustAd: false,
        tcp: { maxConnections: 4, maxInflightPerConnection: 1000, idleTimeoutMs: 5000 },
      },
      zones: [],
      cache: {
        maxEntries: 100_000,
        maxBytes: 32 * 1024 * 1024,
        minTtlSeconds: 0,
        maxTtlSeconds: 604_800,
        maxNegativeTtlSeconds: 3600,
      },
      chaos: { enabled: false, maxDurationSeconds: 600 },
      persistence: {
        enabled: true,
        path: defaultSnapshotPath(),
        intervalSeconds: 60,
        maxBytes: 268435456,
      },
      stale: {
        maxAgeSeconds: 86_400,
        answerTtlSeconds: 30,
        clientTimeoutMs: 1800,
        recheckSeconds: 30,
        keepPastMaxAgeWhileDown: false,
      },
      lastKnownGood: { policy: 'correlated', maxAgeSeconds: 86_400 },
      refresh: { fromFraction: 0.75, toFraction: 0.95, minHits: 2, budgetPerSecond: 1000, recoveryMinPerSecond: 10 },
      failureCache: { initialSeconds: 5, maxSeconds: 300, maxEntries: 100_000 },
      fairness: { queues: 64, handSize: 8, queueLength: 256 },
      server: {
        udpPayloadSize: 1232,
        udpReceiveBufferBytes: 4 * 1024 * 1024,
        allowClients: [],
        tcp: { idleTimeoutMs: 10_000, maxConnections: 1000, maxInflightPerConnection: 100 },
        drainPeriodMs: 2000,
        drainTimeoutMs: 5000,
      },
      log: { level: 'info' },
      node: NODE_DEFAULTS,
    });
  });

  it('fills the rest of a section that is given in part', () => {
    const c = validate({ upstream: { ...up, tcp: { maxConnections: 8 } }, cache: { maxEntries: 5 } });
    expect(c.upstream.tcp).toEqual({ maxConnections: 8, maxInflightPerConnection: 1000, idleTimeoutMs: 5000 });
    expect(c.upstream.deadlineMs).toBe(4000);
    expect(c.cache.maxEntries).toBe(5);
    expect(c.cache.maxBytes).toBe(32 * 1024 * 1024);
  });

  it('leaves a zone without protocol, policy or timeout to inherit them from upstream', () => {
    const [zone] = validate({ zones: [{ name: 'a.example', servers: ['127.0.0.1'] }] }).zones;
    expect(zone).toEqual({ name: 'a.example', servers: ['127.0.0.1'] });
  });
});

describe('bad values: the error names the key path, the value and what is allowed', () => {
  const cases: { what: string; input: unknown; path: string; value: string; allowed: string }[] = [
    {
      what: 'integer above its range',
      input: { cache: { maxTtlSeconds: 604_801 } },
      path: 'cache.maxTtlSeconds',
      value: '604801',
      allowed: 'expected an integer from 1 to 604800',
    },
    {
      what: 'integer below its range',
      input: { upstream: { ...up, deadlineMs: 10 } },
      path: 'upstream.deadlineMs',
      value: '10',
      allowed: 'expected an integer from 100 to 30000',
    },
    {
      what: 'negative TTL floor',
      input: { cache: { minTtlSeconds: -1 } },
      path: 'cache.minTtlSeconds',
      value: '-1',
      allowed: 'expected an integer from 0 to 86400',
    },
    {
      what: 'nested integer out of range',
      input: { server: { tcp: { maxConnections: 0 } } },
      path: 'server.tcp.maxConnections',
      value: '0',
      allowed: 'expected an integer from 1 to 100000',
    },
    {
      what: 'zone timeout out of range',
      input: { zones: [{ name: 'a', servers: ['127.0.0.1'], deadlineMs: 30_001 }] },
      path: 'zones.0.deadlineMs',
      value: '30001',
      allowed: 'expected an integer from 100 to 30000',
    },
    {
      what: 'fraction where an integer is needed',
      input: { cache: { maxEntries: 1.5 } },
      path: 'cache.maxEntries',
      value: '1.5',
      allowed: 'expected an integer from 1 to 10000000',
    },
    {
      what: 'string where a number is needed',
      input: { cache: { maxEntries: 'lots' } },
      path: 'cache.maxEntries',
      value: '"lots"',
      allowed: 'expected an integer from 1 to 10000000',
    },
    {
      what: 'boolean where a number is needed',
      input: { admin: { maxEventLoopDelayMs: true } },
      path: 'admin.maxEventLoopDelayMs',
      value: 'true',
      allowed: 'expected an integer from 10 to 60000',
    },
    {
      what: 'string where a list is needed',
      input: { listen: '127.0.0.1:53' },
      path: 'listen',
      value: '"127.0.0.1:53"',
      allowed: 'expected a list',
    },
    {
      what: 'null section (a YAML key with nothing under it)',
      input: { cache: null },
      path: 'cache',
      value: 'null',
      allowed: 'expected a mapping',
    },
    {
      what: 'empty listen list',
      input: { listen: [] },
      path: 'listen',
      value: '[]',
      allowed: 'expected a list of at least one item',
    },
    {
      what: 'unknown transport',
      input: { upstream: { ...up, protocol: 'quic' } },
      path: 'upstream.protocol',
      value: '"quic"',
      allowed: 'expected one of "udp", "tcp", "prefer-udp"',
    },
    {
      what: 'unknown selection policy in a zone',
      input: { zones: [{ name: 'a', servers: ['127.0.0.1'], policy: 'fastest' }] },
      path: 'zones.0.policy',
      value: '"fastest"',
      allowed: 'expected one of "random", "round_robin", "sequential"',
    },
    {
      what: 'unknown log level',
      input: { log: { level: 'verbose' } },
      path: 'log.level',
      value: '"verbose"',
      allowed: '"fatal", "error", "warn", "info", "debug", "trace", "silent"',
    },
    {
      what: 'listen address without a port',
      input: { listen: ['127.0.0.1'] },
      path: 'listen.0',
      value: '"127.0.0.1"',
      allowed: 'expected IP:PORT',
    },
    {
      what: 'second listen address with a port out of range',
      input: { listen: ['127.0.0.1:53', '127.0.0.1:65536'] },
      path: 'listen.1',
      value: '"127.0.0.1:65536"',
      allowed: 'port 0–65535',
    },
    {
      what: 'IPv6 listen address with a port but no brackets',
      input: { listen: ['::1:5353'] },
      path: 'listen.0',
      value: '"::1:5353"',
      allowed: 'IPv6 as [::1]:5353',
    },
    {
      what: 'bracketed IPv6 listen address without a port',
      input: { listen: ['[::1]'] },
      path: 'listen.0',
      value: '"[::1]"',
      allowed: 'IPv6 as [::1]:5353',
    },
    {
      what: 'unclosed IPv6 bracket in a server',
      input: { upstream: { servers: ['[::1:53'] } },
      path: 'upstream.servers.0',
      value: '"[::1:53"',
      allowed: 'expected IP or IP:PORT (IPv6 as [::1]:53)',
    },
    {
      what: 'host name instead of an IP',
      input: { upstream: { servers: ['dns.google:53'] } },
      path: 'upstream.servers.0',
      value: '"dns.google:53"',
      allowed: 'expected IP or IP:PORT',
    },
    {
      what: 'admin address with a non-numeric port',
      input: { admin: { listen: '127.0.0.1:http' } },
      path: 'admin.listen',
      value: '"127.0.0.1:http"',
      allowed: 'expected IP:PORT',
    },
    {
      what: 'unknown key at the top level',
      input: { upstream: up, cahce: { maxEntries: 1 } },
      path: '(top level)',
      value: '"cahce"',
      allowed: 'remove or fix the spelling',
    },
    {
      what: 'unknown nested key',
      input: { upstream: { ...up, tcp: { idleTimeout: 1000 } } },
      path: 'upstream.tcp',
      value: '"idleTimeout"',
      allowed: 'remove or fix the spelling',
    },
    {
      what: 'unknown key in a zone',
      input: { zones: [{ name: 'a', servers: ['127.0.0.1'], upstream: '127.0.0.1' }] },
      path: 'zones.0',
      value: '"upstream"',
      allowed: 'remove or fix the spelling',
    },
    {
      what: 'zone name with an empty label',
      input: { zones: [{ name: 'cluster..local', servers: ['127.0.0.1'] }] },
      path: 'zones.0.name',
      value: '"cluster..local"',
      allowed: 'expected a DNS zone name',
    },
    {
      what: 'zone name with a label longer than 63 bytes',
      input: { zones: [{ name: `${'a'.repeat(64)}.example`, servers: ['127.0.0.1'] }] },
      path: 'zones.0.name',
      value: `"${'a'.repeat(64)}.example"`,
      allowed: 'expected a DNS zone name',
    },
    {
      what: 'zone name with a space',
      input: { zones: [{ name: 'my zone', servers: ['127.0.0.1'] }] },
      path: 'zones.0.name',
      value: '"my zone"',
      allowed: 'expected a DNS zone name',
    },
    {
      what: 'zone without a name',
      input: { zones: [{ servers: ['127.0.0.1'] }] },
      path: 'zones.0.name',
      value: 'missing',
      allowed: 'required',
    },
    {
      what: 'zone without servers',
      input: { zones: [{ name: 'a', servers: [] }] },
      path: 'zones.0.servers',
      value: '[]',
      allowed: 'expected a list of at least one item',
    },
    {
      what: 'stale answer TTL of 0 (RFC 8767 §4: never 0)',
      input: { stale: { answerTtlSeconds: 0 } },
      path: 'stale.answerTtlSeconds',
      value: '0',
      allowed: 'expected an integer from 1 to 3600',
    },
    {
      what: 'stale max age above 30 days',
      input: { stale: { maxAgeSeconds: 30 * 86_400 + 1 } },
      path: 'stale.maxAgeSeconds',
      value: '2592001',
      allowed: 'expected an integer from 0 to 2592000',
    },
    {
      what: 'failure recheck above 5 minutes (RFC 8767 §5)',
      input: { stale: { recheckSeconds: 301 } },
      path: 'stale.recheckSeconds',
      value: '301',
      allowed: 'expected an integer from 1 to 300',
    },
    {
      what: 'string where a boolean is needed',
      input: { stale: { keepPastMaxAgeWhileDown: 'yes' } },
      path: 'stale.keepPastMaxAgeWhileDown',
      value: '"yes"',
      allowed: 'expected true or false',
    },
    {
      what: 'refresh fraction of 1 (the entry would expire first)',
      input: { refresh: { toFraction: 1 } },
      path: 'refresh.toFraction',
      value: '1',
      allowed: 'expected a number above 0 and below 1',
    },
    {
      what: 'refresh fraction of 0',
      input: { refresh: { fromFraction: 0 } },
      path: 'refresh.fromFraction',
      value: '0',
      allowed: 'expected a number above 0 and below 1',
    },
    {
      what: 'failure cache hold above 5 minutes (RFC 9520 §3.2)',
      input: { failureCache: { maxSeconds: 301 } },
      path: 'failureCache.maxSeconds',
      value: '301',
      allowed: 'expected an integer from 1 to 300',
    },
    {
      what: 'failure cache hold below 1 second (RFC 9520 §3.2)',
      input: { failureCache: { initialSeconds: 0 } },
      path: 'failureCache.initialSeconds',
      value: '0',
      allowed: 'expected an integer from 1 to 300',
    },
    {
      what: 'retry tokens per answer above 10',
      input: { upstream: { ...up, retransmit: { budgetPerAnswer: 11 } } },
      path: 'upstream.retransmit.budgetPerAnswer',
      value: '11',
      allowed: 'expected a number from 0 to 10',
    },
    {
      what: 'failure ratio of 0',
      input: { upstream: { ...up, health: { failureRatio: 0 } } },
      path: 'upstream.health.failureRatio',
      value: '0',
      allowed: 'expected a number above 0, at most 1',
    },
    {
      what: 'a queue that holds nothing',
      input: { fairness: { queueLength: 0 } },
      path: 'fairness.queueLength',
      value: '0',
      allowed: 'expected an integer from 1 to 100000',
    },
    {
      what: 'UDP receive buffer below 64 KiB',
      input: { server: { udpReceiveBufferBytes: 1024 } },
      path: 'server.udpReceiveBufferBytes',
      value: '1024',
      allowed: 'expected an integer from 65536 to 268435456',
    },
    {
      what: 'a client network that is not a CIDR',
      input: { server: { allowClients: ['10.0.0.0/8', '10.0.0.0/33'] } },
      path: 'server.allowClients.1',
      value: '"10.0.0.0/33"',
      allowed: 'expected a CIDR such as 10.0.0.0/8 or fd00::/8',
    },
    {
      what: 'unknown key in upstream.health',
      input: { upstream: { ...up, health: { threshold: 3 } } },
      path: 'upstream.health',
      value: '"threshold"',
      allowed: 'remove or fix the spelling',
    },
    {
      what: 'refresh window ending before it starts',
      input: { refresh: { fromFraction: 0.9, toFraction: 0.8 } },
      path: 'refresh.fromFraction',
      value: '0.9',
      allowed: 'must not exceed refresh.toFraction (0.8)',
    },
    {
      what: 'TTL floor above the TTL cap',
      input: { cache: { minTtlSeconds: 100, maxTtlSeconds: 60 } },
      path: 'cache.minTtlSeconds',
      value: '100',
      allowed: 'must not exceed cache.maxTtlSeconds (60)',
    },
    {
      what: 'RTO floor above its ceiling',
      input: { upstream: { ...up, retransmit: { minRtoMs: 500, maxRtoMs: 400 } } },
      path: 'upstream.retransmit.minRtoMs',
      value: '500',
      allowed: 'must not exceed upstream.retransmit.maxRtoMs (400)',
    },
    {
      what: 'a hand larger than the queues',
      input: { fairness: { queues: 4, handSize: 8 } },
      path: 'fairness.handSize',
      value: '8',
      allowed: 'must not exceed fairness.queues (4)',
    },
    {
      what: 'a probe interval under 0.1 s',
      input: { upstream: { ...up, health: { probeIntervalMs: 50 } } },
      path: 'upstream.health.probeIntervalMs',
      value: '50',
      allowed: 'an integer from 100 to 600000',
    },
    {
      what: 'first failure hold above the longest',
      input: { failureCache: { initialSeconds: 10, maxSeconds: 5 } },
      path: 'failureCache.initialSeconds',
      value: '10',
      allowed: 'must not exceed failureCache.maxSeconds (5)',
    },
    {
      what: 'two zones with the same name, after lower-casing and removing the trailing dot',
      input: {
        zones: [
          { name: 'cluster.local', servers: ['127.0.0.1'] },
          { name: 'corp.example', servers: ['127.0.0.1'] },
          { name: 'Cluster.Local.', servers: ['127.0.0.2'] },
        ],
      },
      path: 'zones.2.name',
      value: '"Cluster.Local."',
      allowed: 'duplicate of zones.0.name',
    },
    {
      what: 'a zone named "." (the root zone is upstream.servers)',
      input: { zones: [{ name: '.', servers: ['127.0.0.1'] }] },
      path: 'zones.0.name',
      value: '"."',
      allowed: 'the root zone is set with upstream.servers, not as a zone',
    },
    {
      what: 'a zone with an empty name, which is the root',
      input: {
        zones: [
          { name: 'a.example', servers: ['127.0.0.1'] },
          { name: '', servers: ['127.0.0.1'] },
        ],
      },
      path: 'zones.1.name',
      value: '""',
      allowed: 'the root zone is set with upstream.servers',
    },
    {
      what: 'top level that is not a mapping',
      input: ['listen'],
      path: '(top level)',
      value: '["listen"]',
      allowed: 'expected a mapping',
    },
  ];

  it.each(cases)('$what', ({ input, path, value, allowed }) => {
    const err = configError(() => validate(input));
    expect(err.message.startsWith('invalid configuration:\n')).toBe(true);
    const line = err.message.split('\n').find((l) => l.trim().startsWith(`${path}: `));
    expect(line, err.message).toBeDefined();
    expect(line).toContain(value);
    expect(line).toContain(allowed);
  });

  it('reports every bad key at once, one per line', () => {
    const err = configError(() =>
      validate({ listen: ['127.0.0.1'], cache: { maxEntries: 0 }, log: { level: 'loud' }, extra: 1 }),
    );
    const lines = err.message.split('\n').slice(1);
    expect(lines.map((l) => l.trim().split(':')[0]).sort()).toEqual(
      ['(top level)', 'cache.maxEntries', 'listen.0', 'log.level'].sort(),
    );
  });

  it('checks an ordered pair even when only its upper key is given, naming the lower key and the bound', () => {
    // minRtoMs defaults to 200, so a ceiling of 100 breaks the pair although the file never names minRtoMs.
    const err = configError(() => validate({ upstream: { ...up, retransmit: { maxRtoMs: 100 } } }));
    const line = err.message.split('\n').find((l) => l.trim().startsWith('upstream.retransmit.minRtoMs: '));
    expect(line, err.message).toBeDefined();
    expect(line).toContain('must not exceed upstream.retransmit.maxRtoMs (100)');
  });

  it('reports cross-field problems together with range problems', () => {
    const err = configError(() =>
      validate({ cache: { maxEntries: 0 }, refresh: { fromFraction: 0.9, toFraction: 0.8 } }),
    );
    const lines = err.message.split('\n').slice(1);
    expect(lines.map((l) => l.trim().split(':')[0]).sort()).toEqual(['cache.maxEntries', 'refresh.fromFraction']);
  });

  it('reports every duplicate of a zone name, each against the one before it', () => {
    const zone = (name: string) => ({ name, servers: ['127.0.0.1'] });
    const err = configError(() => validate({ zones: [zone('a.example'), zone('A.example'), zone('a.example.')] }));
    expect(err.message).toContain('zones.1.name: got "A.example"; duplicate of zones.0.name');
    expect(err.message).toContain('zones.2.name: got "a.example."; duplicate of zones.1.name');
  });
});

describe('accepted values', () => {
  it.each([
    ['[::1]:5353', 'IPv6 with a port'],
    ['[::]:53', 'IPv6 any address'],
    ['0.0.0.0:53', 'IPv4 any address'],
    ['127.0.0.1:0', 'port 0 (any free port)'],
    ['[fd00::a:1]:65535', 'highest port'],
  ])('listen %s (%s)', (address) => {
    expect(validate({ listen: [address] }).listen).toEqual([address]);
  });

  it('normalises zone names to lower case without a trailing dot', () => {
    const zones = validate({
      zones: [
        { name: 'Cluster.Local.', servers: ['127.0.0.1'] },
        { name: '_tcp.svc.example', servers: ['127.0.0.1'] },
        { name: 'svc.cluster.local', servers: ['127.0.0.1'] },
      ],
    }).zones;
    expect(zones.map((z) => z.name)).toEqual(['cluster.local', '_tcp.svc.example', 'svc.cluster.local']);
  });

  it('takes every bound of an integer range inclusive', () => {
    const c = validate({ cache: { maxEntries: 1, maxTtlSeconds: 604_800, minTtlSeconds: 86_400 } });
    expect(c.cache).toMatchObject({ maxEntries: 1, maxTtlSeconds: 604_800, minTtlSeconds: 86_400 });
  });

  it('accepts equal values on both sides of every ordered pair', () => {
    const c = validate({
      upstream: {
        ...up,
        retransmit: { minRtoMs: 400, maxRtoMs: 400 },
      },
      fairness: { queues: 8, handSize: 8 },
      cache: { minTtlSeconds: 60, maxTtlSeconds: 60 },
      refresh: { fromFraction: 0.8, toFraction: 0.8 },
      failureCache: { initialSeconds: 30, maxSeconds: 30 },
    });
    expect(c.upstream.retransmit).toMatchObject({ minRtoMs: 400, maxRtoMs: 400 });
    expect(c.fairness).toMatchObject({ queues: 8, handSize: 8 });
    expect(c.refresh).toMatchObject({ fromFraction: 0.8, toFraction: 0.8 });
    expect(c.failureCache).toMatchObject({ initialSeconds: 30, maxSeconds: 30 });
  });

  it('accepts 0 where it turns a feature off: serve-stale, the refresh budget, retransmission', () => {
    const c = validate({
      stale: { maxAgeSeconds: 0, clientTimeoutMs: 0 },
      refresh: { budgetPerSecond: 0 },
      upstream: { ...up, retransmit: { budgetPerAnswer: 0, budgetMinPerSecond: 0 } },
    });
    expect(c.stale).toMatchObject({ maxAgeSeconds: 0, clientTimeoutMs: 0 });
    expect(c.refresh.budgetPerSecond).toBe(0);
    expect(c.upstream.retransmit).toMatchObject({ budgetPerAnswer: 0, budgetMinPerSecond: 0 });
  });
});

describe('settings of earlier releases fail at load, naming what replaced them', () => {
  it.each([
    [{ clientLimit: { queriesPerSecond: 200 } }, 'clientLimit', 'replaced by fairness'],
    [{ upstream: { ...up, timeoutMs: 2000 } }, 'upstream.timeoutMs', 'replaced by upstream.deadlineMs'],
    [{ upstream: { ...up, minTimeoutMs: 250 } }, 'upstream.minTimeoutMs', 'replaced by upstream.retransmit.minRtoMs'],
    [
      { upstream: { ...up, retryBudgetRatio: 0.1 } },
      'upstream.retryBudgetRatio',
      'upstream.retransmit.budgetPerAnswer',
    ],
    [{ upstream: { ...up, health: { failureThreshold: 5 } } }, 'upstream.health.failureThreshold', 'transportErrors'],
    [{ upstream: { ...up, health: { servfailRatio: 0.9 } } }, 'upstream.health.servfailRatio', 'failureRatio'],
    [{ upstream: { ...up, health: { servfailMinNames: 10 } } }, 'upstream.health.servfailMinNames', 'minNames'],
    [
      { upstream: { ...up, health: { probeBackoffMaxMs: 30_000 } } },
      'upstream.health.probeBackoffMaxMs',
      'probeIntervalMs',
    ],
    [{ zones: [{ name: 'a.example', servers: ['127.0.0.1'], timeoutMs: 500 }] }, 'zones.0.timeoutMs', 'deadlineMs'],
  ])('%j', (input, path, replacement) => {
    const err = configError(() => validate(input));
    const line = err.message.split('\n').find((l) => l.trim().startsWith(`${path}: got `));
    expect(line, err.message).toBeDefined();
    expect(line).toContain(replacement);
    expect(err.message).not.toContain('unknown key');
  });
});

describe('loadConfig: file, then flags on top', () => {
  const fileText = `
listen: ['127.0.0.1:5300']
admin:
  listen: 127.0.0.1:9300
  maxEventLoopDelayMs: 500
upstream:
  servers: ['127.0.0.1:5301']
  protocol: tcp
zones:
  - name: Cluster.Local.
    servers: ['127.0.0.1:5302']
    protocol: tcp
    deadlineMs: 500
  - name: corp.example
    servers: ['127.0.0.1:5303']
cache:
  maxEntries: 10
log:
  level: warn
`;

  it('reads every setting from the file', async () => {
    const c = loadConfig(await tempFile(fileText));
    expect(c.listen).toEqual(['127.0.0.1:5300']);
    expect(c.admin).toEqual({ listen: '127.0.0.1:9300', maxEventLoopDelayMs: 500 });
    expect(c.upstream).toMatchObject({ servers: ['127.0.0.1:5301'], protocol: 'tcp', policy: 'random' });
    expect(c.zones).toEqual([
      { name: 'cluster.local', servers: ['127.0.0.1:5302'], protocol: 'tcp', deadlineMs: 500 },
      { name: 'corp.example', servers: ['127.0.0.1:5303'] },
    ]);
    expect(c.cache.maxEntries).toBe(10);
    expect(c.log.level).toBe('warn');
  });

  it('lets each flag replace the value at its key path and keeps the rest of the file', async () => {
    const flags: FlagValues = {
      listen: ['[::1]:5353', '127.0.0.1:5400'],
      upstream: ['127.0.0.1:5401'],
      admin: '127.0.0.1:9400',
      'log-level': 'debug',
    };
    const c = loadConfig(await tempFile(fileText), flags);
    expect(c.listen).toEqual(['[::1]:5353', '127.0.0.1:5400']);
    expect(c.upstream.servers).toEqual(['127.0.0.1:5401']);
    expect(c.upstream.protocol).toBe('tcp');
    expect(c.admin).toEqual({ listen: '127.0.0.1:9400', maxEventLoopDelayMs: 500 });
    expect(c.log.level).toBe('debug');
    expect(c.cache.maxEntries).toBe(10);
    expect(c.zones).toHaveLength(2);
  });

  it('merges --zone into the file zone of the same name (servers replaced, settings kept) and appends others', async () => {
    const c = loadConfig(await tempFile(fileText), {
      zone: ['cluster.local=127.0.0.1:5402,127.0.0.1', 'stub.example=[::1]:5353'],
    });
    expect(c.zones).toEqual([
      { name: 'cluster.local', servers: ['127.0.0.1:5402', '127.0.0.1'], protocol: 'tcp', deadlineMs: 500 },
      { name: 'corp.example', servers: ['127.0.0.1:5303'] },
      { name: 'stub.example', servers: ['[::1]:5353'] },
    ]);
  });

  it('matches --zone names case-insensitively and ignoring a trailing dot', async () => {
    const c = loadConfig(await tempFile(fileText), { zone: ['CORP.EXAMPLE.=127.0.0.1:5404'] });
    expect(c.zones).toHaveLength(2);
    expect(c.zones[1]).toEqual({ name: 'corp.example', servers: ['127.0.0.1:5404'] });
  });

  it('works with flags alone', () => {
    const c = loadConfig(undefined, { upstream: ['127.0.0.1:5401'], zone: ['a.example=127.0.0.1'] });
    expect(c.upstream.servers).toEqual(['127.0.0.1:5401']);
    expect(c.zones).toEqual([{ name: 'a.example', servers: ['127.0.0.1'] }]);
    expect(c.listen).toEqual(['127.0.0.1:1053']);
  });

  it.each([
    ['cluster.local', 'no ='],
    ['=127.0.0.1', 'empty zone name'],
  ])('rejects --zone %j (%s) naming the flag and the expected form', (spec) => {
    const err = configError(() => loadConfig(undefined, { zone: [spec] }));
    expect(err.message).toContain(`--zone ${JSON.stringify(spec)}`);
    expect(err.message).toContain('expected ZONE=HOST:PORT[,HOST:PORT...]');
  });

  it.each<[FlagValues, string, string]>([
    [{ listen: ['127.0.0.1'] }, 'listen.0', '"127.0.0.1"'],
    [{ upstream: ['127.0.0.1', 'resolver.local'] }, 'upstream.servers.1', '"resolver.local"'],
    [{ admin: '[::1]' }, 'admin.listen', '"[::1]"'],
    [{ 'log-level': 'loud' }, 'log.level', '"loud"'],
    [{ zone: ['a.example='] }, 'zones.0.servers', '[]'],
    [{ zone: ['a..example=127.0.0.1'] }, 'zones.0.name', '"a..example"'],
  ])('reports a bad flag value %j under its key path', (flags, path, value) => {
    const err = configError(() => loadConfig(undefined, flags));
    expect(err.message).toContain(`${path}: got ${value}`);
  });

  it('treats an empty file as all defaults', async () => {
    expect(loadConfig(await tempFile(''))).toEqual(validate({}));
  });

  it('rejects a file that cannot be read, naming it', () => {
    const missing = join(dir, 'no-such-file.yaml');
    const err = configError(() => loadConfig(missing));
    expect(err.message).toContain(`cannot read config file ${missing}`);
  });

  it('rejects a file that is not YAML, naming it', async () => {
    const file = await tempFile('cache:\n  maxEntries: [1\n');
    expect(configError(() => loadConfig(file)).message).toContain(`config file ${file} is not valid YAML`);
  });

  it.each([['- 127.0.0.1:53\n'], ['just a string\n']])(
    'rejects a file whose top level is not a mapping: %j',
    async (text) => {
      const file = await tempFile(text);
      expect(configError(() => loadConfig(file)).message).toContain('expected a mapping of settings at the top level');
    },
  );

  it('validates the file after flags are applied, so a bad file value is named even with flags', async () => {
    const file = await tempFile('cache:\n  maxBytes: 1024\n');
    const err = configError(() => loadConfig(file, { upstream: ['127.0.0.1:9'] }));
    expect(err.message).toContain('cache.maxBytes: got 1024');
    expect(err.message).toContain('expected an integer from 65536 to 17179869184');
  });
});

describe('parseEndpoint: IPv6 servers in canonical form', () => {
  // UDP answers are matched on the source address as text, and the kernel reports it canonically (RFC 5952).
  it.each<[string, { host: string; port: number }]>([
    ['[FD00:0:0::53]:53', { host: 'fd00::53', port: 53 }],
    ['[fd00:0:0:0:0:0:0:53]:5353', { host: 'fd00::53', port: 5353 }],
    ['FD00::53', { host: 'fd00::53', port: 53 }],
    ['2001:DB8:0:0:1:0:0:1', { host: '2001:db8::1:0:0:1', port: 53 }],
    ['[::1]:5353', { host: '::1', port: 5353 }],
    ['10.0.0.2', { host: '10.0.0.2', port: 53 }],
  ])('%s → %j', (value, endpoint) => {
    expect(parseEndpoint(value, 53)).toEqual(endpoint);
  });

  it('keeps the value in the config as written, and canonicalises it where it is used', () => {
    const config = validate({ upstream: { servers: ['[FD00:0:0::53]:53'] } });
    expect(config.upstream.servers).toEqual(['[FD00:0:0::53]:53']);
    expect(rootServers(config)).toEqual([{ host: 'fd00::53', port: 53 }]);
  });

  it('keeps a zone index', () => {
    expect(parseEndpoint('[fe80::1%eth0]:53')).toEqual({ host: 'fe80::1%eth0', port: 53 });
    expect(parseEndpoint('fe80::1%eth0', 53)).toEqual({ host: 'fe80::1%eth0', port: 53 });
  });
});

describe('readResolvConf', () => {
  it('reads nameserver lines, IPv6 with a zone index included, and ignores comments and other keywords', async () => {
    const file = await tempFile(
      [
        '# Generated by NetworkManager',
        '; an old-style comment',
        'search default.svc.cluster.local svc.cluster.local',
        'nameserver 10.0.0.2',
        '  nameserver\t10.0.0.3   # the backup',
        '#nameserver 10.9.9.9',
        '; nameserver 10.9.9.8',
        'nameserver fe80::1%eth0',
        'nameserver 2001:db8::53',
        'nameserver resolver.example',
        'nameservers 10.9.9.7',
        'options timeout:2 attempts:3 rotate',
        '',
      ].join('\n'),
      'conf',
    );
    expect(readResolvConf(file)).toEqual([
      { host: '10.0.0.2', port: 53 },
      { host: '10.0.0.3', port: 53 },
      // The zone index is kept: a link-local nameserver is unreachable without it.
      { host: 'fe80::1%eth0', port: 53 },
      { host: '2001:db8::53', port: 53 },
    ]);
  });

  it('reads a file with CRLF line endings', async () => {
    const file = await tempFile('nameserver 10.0.0.2\r\nnameserver 10.0.0.3\r\n', 'conf');
    expect(readResolvConf(file).map((e) => e.host)).toEqual(['10.0.0.2', '10.0.0.3']);
  });

  it('returns no servers for a file without nameserver lines', async () => {
    expect(readResolvConf(await tempFile('# nothing\nsearch example.com\n', 'conf'))).toEqual([]);
  });

  it('throws a ConfigError naming upstream.resolvConf when the file cannot be read', () => {
    const missing = join(dir, 'no-resolv.conf');
    const err = configError(() => readResolvConf(missing));
    expect(err.message).toContain(`upstream.resolvConf: cannot read ${missing}`);
  });
});

describe('rootServers', () => {
  it('uses upstream.servers when given, with port 53 by default, IPv6 bare or bracketed', () => {
    const config = validate({ upstream: { servers: ['127.0.0.1:5353', '10.0.0.1', '[::1]:5353', '::1'] } });
    expect(rootServers(config)).toEqual([
      { host: '127.0.0.1', port: 5353 },
      { host: '10.0.0.1', port: 53 },
      { host: '::1', port: 5353 },
      { host: '::1', port: 53 },
    ]);
  });

  it('does not read resolv.conf when upstream.servers is given', () => {
    const config = validate({ upstream: { servers: ['127.0.0.1'], resolvConf: join(dir, 'absent.conf') } });
    expect(rootServers(config)).toEqual([{ host: '127.0.0.1', port: 53 }]);
  });

  it('falls back to the nameservers of upstream.resolvConf when upstream.servers is empty', async () => {
    const file = await tempFile('nameserver 127.0.0.2\nnameserver ::1\n', 'conf');
    expect(rootServers(validate({ upstream: { resolvConf: file } }))).toEqual([
      { host: '127.0.0.2', port: 53 },
      { host: '::1', port: 53 },
    ]);
  });

  it('throws a ConfigError naming upstream.servers and the file when it lists no nameserver', async () => {
    const file = await tempFile('# nameserver 127.0.0.2\noptions ndots:5\n', 'conf');
    const err = configError(() => rootServers(validate({ upstream: { resolvConf: file } })));
    expect(err.message).toBe(`upstream.servers: got []; expected at least one server, and ${file} lists no nameserver`);
  });
});
