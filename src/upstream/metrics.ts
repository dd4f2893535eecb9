import { Counter, Gauge, Histogram, type Registry } from '../observe/prom.js';

export type UpstreamMetrics = ReturnType<typeof createUpstreamMetrics>;

/** Upstream metrics (docs/design.md §8). The `upstream` label is "host:port" from config, so it stays bounded. */
export function createUpstreamMetrics(registry: Registry) {
  const registers = [registry];
  return {
    queries: new Counter({
      name: 'ballast_upstream_queries_total',
      help: 'Queries sent to upstreams, by upstream and transport.',
      labelNames: ['upstream', 'protocol'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'ballast_upstream_errors_total',
      help:
        'Upstream attempts that produced no answer, by upstream and kind: the attempt outcome (no_answer, ' +
        'unreachable, broken, busy).',
      labelNames: ['upstream', 'kind'] as const,
      registers,
    }),
    rejected: new Counter({
      name: 'ballast_upstream_rejected_responses_total',
      help: 'Datagrams or frames from upstreams ignored as not the answer (id, question, malformed).',
      labelNames: ['upstream', 'reason'] as const,
      registers,
    }),
    topBitTtls: new Counter({
      name: 'ballast_upstream_ttl_top_bit_total',
      help: 'Records in accepted upstream answers whose TTL had its top bit set, read as 0 (RFC 2181 §8).',
      labelNames: ['upstream'] as const,
      registers,
    }),
    ednsFallbacks: new Counter({
      name: 'ballast_upstream_edns_fallbacks_total',
      help: 'Queries asked again without EDNS: the upstream answered FORMERR or NOTIMP without an OPT (RFC 6891 §7).',
      labelNames: ['upstream'] as const,
      registers,
    }),
    truncated: new Counter({
      name: 'ballast_upstream_truncated_total',
      help: 'UDP answers with TC=1 that were asked again over TCP.',
      labelNames: ['upstream'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'ballast_upstream_duration_seconds',
      help: 'Time from sending a query to an upstream to its accepted answer.',
      labelNames: ['upstream'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    state: new Gauge({
      name: 'ballast_upstream_health_state',
      help: 'Health per upstream and zone: 0 closed (healthy), 1 suspect or probing, 2 open (down; only probes are sent).',
      labelNames: ['upstream', 'zone'] as const,
      registers,
    }),
    transitions: new Counter({
      name: 'ballast_upstream_health_transitions_total',
      help: 'Health state changes per upstream and zone, by the state entered (suspect, open, probing, closed).',
      labelNames: ['upstream', 'zone', 'state'] as const,
      registers,
    }),
    probes: new Counter({
      name: 'ballast_upstream_probes_total',
      help: 'Health probes (a known-answerable query) per upstream and zone, by result.',
      labelNames: ['upstream', 'zone', 'result'] as const,
      registers,
    }),
    contradictions: new Counter({
      name: 'ballast_upstream_contradictions_total',
      help:
        'Negative answers (NXDOMAIN, NODATA) for a name the cache held a positive answer for, per upstream and zone ' +
        '(docs/resilience.md, "Last known good").',
      labelNames: ['upstream', 'zone'] as const,
      registers,
    }),
    wrong: new Gauge({
      name: 'ballast_upstream_answers_wrong',
      help:
        '1 while an upstream is judged to answer a zone wrongly: it contradicts names it answered before, in several ' +
        'domains at once. Their last known good answers are served meanwhile.',
      labelNames: ['upstream', 'zone'] as const,
      registers,
    }),
    limit: new Gauge({
      name: 'ballast_upstream_inflight_limit',
      help:
        'In-flight window per upstream: upstream.maxInflight, halved while the upstream answers REFUSED for names in ' +
        'many domains.',
      labelNames: ['upstream'] as const,
      registers,
    }),
    retransmissions: new Counter({
      name: 'ballast_upstream_retransmissions_total',
      help:
        'Queries sent again, to the same or another upstream: no answer within the retransmission timeout, or an ' +
        'error answer or an unreachable upstream moved on to the next.',
      labelNames: ['upstream'] as const,
      registers,
    }),
    budgetExhausted: new Counter({
      name: 'ballast_upstream_retransmissions_skipped_total',
      help: 'Retransmissions not sent because the retry budget was empty.',
      registers,
    }),
    queueWaiting: new Gauge({
      name: 'ballast_fair_queue_waiting',
      help: 'Queries waiting in an upstream’s fair queue for capacity, by upstream.',
      labelNames: ['upstream'] as const,
      registers,
    }),
    queueRefused: new Counter({
      name: 'ballast_fair_queue_refused_total',
      help: 'Queries refused (REFUSED, EDE "client queue full") because their flow’s lane was full, by upstream.',
      labelNames: ['upstream'] as const,
      registers,
    }),
    inflight: new Gauge({
      name: 'ballast_upstream_inflight',
      help: 'Queries currently waiting on an upstream answer.',
      labelNames: ['upstream'] as const,
      registers,
    }),
  };
}
