// Types for the TypeScript tests that read the fleet model's policies (test/bench/fleet.test.ts).
/** The policies a scenario can run, by key: NodeLocal DNSCache, ballast and its ablations. */
export declare const POLICIES: Readonly<Record<string, { readonly label: string; readonly kind: string }>>;
