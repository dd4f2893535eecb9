// The baseline: NodeLocal DNSCache as its stock manifest configures CoreDNS (docs/fleet.md, "The NodeLocal DNSCache
// model"). A model, not ballast code, built from CoreDNS's documented behaviour:
//
//   cluster.local:53 { cache { success 9984 30; denial 9984 5 }  forward . <kube-dns-upstream> { force_tcp } }
//   .:53             { cache 30                                  forward . <node's resolv.conf> }
//
// - cache: an answer lives for min(TTL, cap), never less than MINTTL 5 s; an upstream SERVFAIL is cached 5 s
//   (the `servfail` default); no serve-stale, no prefetch, no coalescing (every miss is its own upstream query);
// - forward: one attempt at a time to a random backend, each with a 2 s read timeout. An error starts health checks
//   of `. IN NS` (1 s timeout, 0.5 s apart) until one is answered; after more than `max_fails` (2) failed checks in
//   a row the upstream is down. While it is not down, a failed attempt is tried again until 5 s have passed since the
//   query arrived; once it is down, a query gets one attempt (with one upstream, a down upstream is still used),
//   then SERVFAIL.

import type { Random } from '../util/random.js';
import type { CoreDns, DnsServer } from './coredns.js';
import type { Sim } from './engine.js';
import { type Name, outcomeOf, QTYPE, RCODE } from './names.js';
import type { NodeCache } from './pods.js';
import type { Stats } from './stats.js';

const READ_TIMEOUT_MS = 2000;
const FORWARD_DEADLINE_MS = 5000;
const HEALTH_CHECK_MS = 500;
/** A health check's own timeout (CoreDNS pkg/proxy: 1 s); the loop sleeps HEALTH_CHECK_MS between checks. */
const HEALTH_CHECK_TIMEOUT_MS = 1000;
const SERVFAIL_CACHE_MS = 5000;
const MIN_TTL_S = 5;
const MAX_FAILS = 2;
/**
 * A cap on attempts per query. A refused connection fails in one round trip, so before the health checks mark the
 * upstream down the real loop would redial thousands of times in a second; the cap keeps the model from spinning.
 * Refused connections never reach CoreDNS, and the query fails either way.
 */
const MAX_ATTEMPTS = 20;

export class NodeLocalNode implements NodeCache {
  private readonly coredns: CoreDns;
  private readonly resolver: DnsServer;
  private readonly rng: Random;
  /** Cached answers by name: A (and the health check's), and AAAA. */
  private readonly cache = new Map<Name, { until: number; outcome: number }>();
  private readonly cache6 = new Map<Name, { until: number; outcome: number }>();
  private checking = false;
  /** Failed health checks in a row; the upstream is down above MAX_FAILS. */
  private fails = 0;

  constructor(
    private readonly sim: Sim,
    { coredns, resolver, rng }: { coredns: CoreDns; resolver: DnsServer; rng: Random; stats: Stats },
  ) {
    this.coredns = coredns;
    this.resolver = resolver;
    this.rng = rng;
  }

  /** A restart empties the cache (the DaemonSet's rolling update; the seconds without a listener are not modelled). */
  restart(): Promise<void> {
    this.cache.clear();
    this.cache6.clear();
    return Promise.resolve();
  }

  /** One query from a pod: `done(outcome)` now (a cache hit) or later. Never marked stale: NodeLocal has no serve-stale. */
  ask(name: Name, qtype: number, _client: string, done: (outcome: number) => void): void {
    const cache = qtype === QTYPE.AAAA ? this.cache6 : this.cache;
    const now = this.sim.t;
    const hit = cache.get(name);
    if (hit !== undefined && hit.until > now) {
      done(hit.outcome);
      return;
    }
    this.forward(name, qtype, now, 0, (rcode, fromUpstream) => {
      const outcome = outcomeOf(rcode, rcode === RCODE.NOERROR && qtype === QTYPE.A && name.exists ? 1 : 0);
      const ttl = this.ttlMs(name, qtype, rcode, fromUpstream);
      if (ttl > 0) cache.set(name, { until: this.sim.t + ttl, outcome });
      done(outcome);
    });
  }

  /** How long the cache keeps an answer: per the server block's caps; 0 for what is not cached. */
  private ttlMs(name: Name, qtype: number, rcode: number, fromUpstream: boolean): number {
    if (rcode === RCODE.SERVFAIL) return fromUpstream ? SERVFAIL_CACHE_MS : 0;
    if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) return 0;
    const positive = rcode === RCODE.NOERROR && qtype === QTYPE.A && name.exists;
    const ttl = positive ? name.ttl : name.negTtl;
    const cap = positive || !name.cluster ? 30 : 5;
    return Math.max(Math.min(ttl, cap), MIN_TTL_S) * 1000;
  }

  /** forward's loop: attempts until one gets a response or the 5 s deadline passes; `done(rcode, fromUpstream)`. */
  private forward(
    name: Name,
    qtype: number,
    startedAt: number,
    attempt: number,
    done: (rcode: number, fromUpstream: boolean) => void,
  ): void {
    const server: DnsServer = name.cluster ? this.coredns : this.resolver;
    const cluster = name.cluster;
    const down = cluster && this.fails > MAX_FAILS;
    server.exchange(this.rng, name, qtype, READ_TIMEOUT_MS, (r) => {
      if (r.error === undefined) {
        done(r.rcode, true);
        return;
      }
      if (cluster) this.healthCheck();
      if (!down && this.sim.t - startedAt < FORWARD_DEADLINE_MS && attempt + 1 < MAX_ATTEMPTS) {
        this.forward(name, qtype, startedAt, attempt + 1, done);
      } else {
        done(RCODE.SERVFAIL, false);
      }
    });
  }

  /** After an error, `. IN NS` to the cluster upstream, 0.5 s after each failed one, until one is answered. */
  private healthCheck(): void {
    if (this.checking) return;
    this.checking = true;
    const probe = (): unknown =>
      this.coredns.exchange(this.rng, undefined, QTYPE.A, HEALTH_CHECK_TIMEOUT_MS, (r) => {
        if (r.error === undefined) {
          this.checking = false;
          this.fails = 0;
        } else {
          this.fails++;
          this.sim.after(HEALTH_CHECK_MS, probe);
        }
      });
    probe();
  }
}
