// The model's parameters, and the policies compared. Each number's source is in docs/fleet.md ("Parameters"); the
// comment here names it in a word.

export const DEFAULTS = {
  /** The fleet the results stand for. */
  fleetNodes: 5000,
  /** Nodes simulated; CoreDNS is scaled to match (scaleReplicas in coredns.js). */
  nodes: 20,
  seed: 1,
  /** Events this close together share one step of the engine (engine.js). */
  quantumMs: 1,

  // Pods (docs/fleet.md, "Pods")
  lookupsPerSecond: 5, // per node: a modelling choice, a moderately busy node
  podsPerNode: 30, // client addresses per node
  namespacesPerNode: 4, // the namespaces of a node's pods
  servicesPerNode: 40, // distinct Services a node's pods use
  externalsPerNode: 15, // distinct external names a node's pods use
  newNameShare: 0.01, // lookups drawn afresh from the whole cluster (the long tail)
  serviceShare: 0.7, // of those, Services; the rest are external names
  sameNamespaceShare: 0.5, // Service lookups by short name from the Service's own namespace
  services: 5000, // Services in the cluster
  namespaces: 250,
  externals: 2000, // distinct external names
  zipfExponent: 0.9, // popularity of names (Zipf-like, α ≈ 0.9)
  externalTtl: [30, 300] as [number, number], // seconds, per name
  nodeDomain: 'compute.internal', // the node's search domain (cloud default)
  nodeNegativeTtl: 60, // seconds: the node resolver's NXDOMAIN/NODATA TTL
  glibc: { timeoutMs: 5000, attempts: 2 }, // resolv.conf defaults (RES_TIMEOUT, RES_DFLRETRY)

  // CoreDNS (docs/fleet.md, "CoreDNS")
  nodesPerReplica: 16, // cluster-proportional-autoscaler's linear default for CoreDNS
  replicaQps: 5000, // one replica, in-cluster names
  maxConcurrent: 1000, // REFUSED above it (max_concurrent)
  clusterTtl: 5, // kubernetes plugin `ttl` default, seconds
  corednsCacheCapSeconds: 30, // `cache 30` of the stock Corefile
  rttMs: 0.5, // node ↔ CoreDNS round trip
  resolverRttMs: 1, // node ↔ its cloud resolver
  restartGapMs: 7000, // a restarting replica refuses connections: container start + kubernetes plugin's 5 s wait
  syncMs: 30_000, // a restarted replica's list of every Service once the API server is back

  // ballast in the simulation: defaults, except what a shared process needs
  ballast: {
    cache: { maxEntries: 5000, maxBytes: 4 * 1024 * 1024 },
    failureCache: { maxEntries: 5000 },
  } as Settings,
};

/** The model's parameters, as a run has them (DEFAULTS with its options over them). */
export type Params = typeof DEFAULTS;

/** Plain settings, as in a config file: the policy's and the simulation's ballast settings. */
export type Settings = { [key: string]: unknown };

/** One policy: NodeLocal DNSCache's model, or ballast with some settings (and, for one ablation, no coalescing). */
export interface Policy {
  readonly label: string;
  readonly kind: 'nodelocal' | 'ballast';
  readonly config?: Settings;
  readonly coalescing?: boolean;
}

/**
 * The policies: NodeLocal DNSCache (the model), ballast with its defaults, and ablations that each turn one mechanism
 * off through the product's own settings — or, for coalescing, which has no setting, a part of its own that the
 * simulation brings through buildHandler's `flights` (ballast-node.js).
 */
const policies = {
  nodelocal: { label: 'NodeLocal DNSCache', kind: 'nodelocal' as const },
  ballast: { label: 'ballast', kind: 'ballast' as const, config: {} },
  'no-jitter': {
    label: 'ballast, no jitter',
    kind: 'ballast' as const,
    config: { refresh: { fromFraction: 0.85, toFraction: 0.85 } },
  },
  'no-coalescing': { label: 'ballast, no coalescing', kind: 'ballast' as const, config: {}, coalescing: false },
  'no-stale': { label: 'ballast, no serve-stale', kind: 'ballast' as const, config: { stale: { maxAgeSeconds: 0 } } },
  'no-snapshot': {
    label: 'ballast, no snapshot',
    kind: 'ballast' as const,
    config: { persistence: { enabled: false } },
  },
  'no-lkg': {
    label: 'ballast, no last known good',
    kind: 'ballast' as const,
    config: { lastKnownGood: { policy: 'off' } },
  },
} satisfies Record<string, Policy>;

export type PolicyName = keyof typeof policies;
export const POLICIES: Record<PolicyName, Policy> = policies;

/** Merges plain objects (the policy's settings over the simulation's); arrays and values replace. */
export function merge<T extends object>(base: T, over: object | undefined): T {
  const out: Settings = { ...(base as Settings) };
  for (const [k, v] of Object.entries(over ?? {})) {
    const under = (base as Settings)[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? merge((under ?? {}) as object, v) : v;
  }
  return out as T;
}
