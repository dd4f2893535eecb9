// One run: a scenario, a policy, a sample of nodes. Builds the CoreDNS model, the nodes (ballast's real request path,
// or the NodeLocal model) and their pods on one virtual clock, plays the scenario and returns per-second series and
// the summary. Deterministic for a given seed: every random draw comes from a seeded generator, one stream per purpose
// and node, so the pods ask exactly the same things at the same instants whatever the policy.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, validate } from '../config/index.js';
import { seededRandom } from '../util/random.js';
import { BallastNode, COREDNS_ADDRESS, memoryTransport, RESOLVER_ADDRESS } from './ballast-node.js';
import { CoreDns, NodeResolver, scaleReplicas } from './coredns.js';
import { Sim } from './engine.js';
import { DEFAULTS, merge, type Params, POLICIES, type Policy, type PolicyName } from './model.js';
import { Names } from './names.js';
import { NodeLocalNode } from './nodelocal.js';
import { Pods, Workload } from './pods.js';
import { type Phases, SCENARIOS, type ScenarioName, type Timeline, timeline } from './scenarios.js';
import { type FleetSummary, Stats, summarize } from './stats.js';

/** One run's options: the model's parameters to override, and what to run. */
export interface FleetOptions extends Partial<Omit<Params, 'ballast'>> {
  scenario: ScenarioName;
  policy: PolicyName;
  /** Shorter phases (a test, a short run). */
  phases?: Partial<Phases>;
  /** The overload scenario's reference load; measured when absent. */
  calibratedQps?: number;
  /** Settings for the simulated ballast, over the simulation's own (DEFAULTS.ballast). */
  ballast?: object;
}

export interface FleetRun {
  scenario: ScenarioName;
  policy: PolicyName;
  label: string;
  times: Timeline;
  scale: number;
  coredns: ReturnType<typeof scaleReplicas>;
  summary: FleetSummary;
  series: Record<string, number[]>;
}

/** A seed of its own for each (purpose, node), so that one stream's draws never shift another's. */
const streamSeed = (seed: number, purpose: number, node: number) =>
  Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(purpose * 65_537 + node, 0x85ebca6b);

/** The validated config of a simulated ballast: the product's defaults, the policy's settings, fake addresses. */
export function ballastConfig(p: Params, policy: Policy): Config {
  const base = {
    listen: ['127.0.0.1:0'],
    admin: { listen: '127.0.0.1:0' },
    upstream: { servers: [`${RESOLVER_ADDRESS}:53`] },
    // The cluster zone goes to the kube-dns-upstream Service over TCP, as ballast's node discovery sets it up.
    zones: [{ name: 'cluster.local', servers: [`${COREDNS_ADDRESS}:53`], protocol: 'tcp' }],
  };
  return validate(merge(merge(base, p.ballast), policy.config));
}

/**
 * Runs one scenario for one policy. Options: the DEFAULTS (model.js) to override, `scenario`, `policy`, `phases`
 * (shorter phase lengths), `calibratedQps` (the overload scenario's reference load; measured when absent).
 */
export async function runFleet(opts: FleetOptions): Promise<FleetRun> {
  const { scenario: scenarioName, policy: policyName, phases, ...overrides } = opts;
  const p: Params = merge(DEFAULTS, overrides);
  const scenario = SCENARIOS[scenarioName];
  const policy = POLICIES[policyName];
  if (scenario === undefined) throw new Error(`unknown scenario ${scenarioName}`);
  if (policy === undefined) throw new Error(`unknown policy ${policyName}`);
  const times = timeline(scenario, phases);
  const calibratedQps =
    scenario.calibrate && opts.calibratedQps === undefined ? await calibrate(p, times.warmS) : opts.calibratedQps;

  const dir = mkdtempSync(join(tmpdir(), 'ballast-fleet-'));
  try {
    const sim = new Sim(p.quantumMs);
    const stats = new Stats(sim, times.seconds);
    const coredns = new CoreDns(sim, p, stats);
    const resolver = new NodeResolver(sim, p);
    const names = new Names(p);
    const workload = new Workload(p, names);
    const config = policy.kind === 'ballast' ? ballastConfig(p, policy) : undefined;
    const nodes: (BallastNode | NodeLocalNode)[] = [];
    const pods: Pods[] = [];
    for (let i = 0; i < p.nodes; i++) {
      const net = seededRandom(streamSeed(p.seed, 1, i));
      let node: BallastNode | NodeLocalNode;
      if (policy.kind === 'nodelocal') {
        node = new NodeLocalNode(sim, { coredns, resolver, rng: net, stats });
      } else {
        const nodeConfig = {
          ...config!,
          persistence: { ...config!.persistence, path: join(dir, `node-${i}.snapshot`) },
        };
        node = new BallastNode(sim, nodeConfig, {
          transport: memoryTransport({ coredns, resolver, names, rng: net }),
          random: seededRandom(streamSeed(p.seed, 2, i)),
          coalescing: policy.coalescing ?? true,
        });
      }
      nodes.push(node);
      const rng = seededRandom(streamSeed(p.seed, 3, i));
      pods.push(new Pods(sim, { workload, cache: node, rng, stats, index: i }));
    }
    for (const pod of pods) pod.start();
    const sampleCapacity = () => {
      stats.add('capacity', stats.second(sim.t), coredns.capacity(sim.t));
      if (sim.t + 1000 < times.seconds * 1000) sim.after(1000, sampleCapacity);
    };
    sim.at(0, sampleCapacity);
    sim.at(times.faultStart * 1000, () => {
      for (const pod of pods) pod.recordSeen = false;
    });
    const rng = seededRandom(streamSeed(p.seed, 4, 0));
    scenario.setup({ sim, coredns, nodes, p, ...times, calibratedQps, rng });
    await sim.run(times.seconds * 1000);
    for (const pod of pods) pod.stop();

    const scale = p.fleetNodes / p.nodes;
    return {
      scenario: scenarioName,
      policy: policyName,
      label: policy.label,
      times,
      scale,
      coredns: scaleReplicas(p),
      summary: summarize(stats, times, scale),
      series: Object.fromEntries(Object.entries(stats.series).map(([k, v]) => [k, Array.from(v)])),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The overload scenario's reference: the mean load NodeLocal DNSCache offers CoreDNS in the last minute of the warm
 * phase (the sample's queries per second). The same for every policy, so they all meet the same CoreDNS.
 */
export async function calibrate(p: Params, warmS: number): Promise<number> {
  const sim = new Sim(p.quantumMs);
  const stats = new Stats(sim, warmS);
  const coredns = new CoreDns(sim, p, stats);
  const resolver = new NodeResolver(sim, p);
  const workload = new Workload(p, new Names(p));
  const pods: Pods[] = [];
  for (let i = 0; i < p.nodes; i++) {
    const node = new NodeLocalNode(sim, { coredns, resolver, rng: seededRandom(streamSeed(p.seed, 1, i)), stats });
    pods.push(new Pods(sim, { workload, cache: node, rng: seededRandom(streamSeed(p.seed, 3, i)), stats, index: i }));
  }
  for (const pod of pods) pod.start();
  await sim.run(warmS * 1000);
  for (const pod of pods) pod.stop();
  const from = Math.max(0, warmS - 60);
  return stats.series.offered.slice(from, warmS).reduce((a, b) => a + b, 0) / (warmS - from);
}
