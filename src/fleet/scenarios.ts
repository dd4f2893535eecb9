// The scenarios (docs/fleet.md, "Scenarios"). Each is a warm phase, a fault, and a recovery phase after the fault ends;
// `setup` schedules the fault on the run's CoreDNS model and nodes. Phase lengths can be shortened (the test does).

import type { Random } from '../util/random.js';
import type { CoreDns } from './coredns.js';
import type { Sim } from './engine.js';
import type { Params, PolicyName } from './model.js';

export interface Phases {
  warmS: number;
  faultS: number;
  recoverS: number;
}

/** A run's timeline in seconds from its start. */
export interface Timeline extends Phases {
  faultStart: number;
  faultEnd: number;
  seconds: number;
}

/** What a scenario schedules its fault on. */
export interface FaultContext extends Timeline {
  sim: Sim;
  coredns: CoreDns;
  nodes: readonly { restart(): Promise<unknown> }[];
  p: Params;
  rng: Random;
  /** The overload scenario's reference load (calibrate() in run.ts); undefined for the others. */
  calibratedQps: number | undefined;
}

export interface Scenario {
  readonly title: string;
  readonly summary: string;
  readonly phases: Phases;
  readonly policies: readonly PolicyName[];
  /** Whether the run needs calibrate()'s reference load. */
  readonly calibrate?: boolean;
  setup(c: FaultContext): void;
}

const scenarios = {
  'dec-2024': {
    title: 'December 2024: the API server is down for 30 minutes',
    summary:
      'CoreDNS answers from its frozen informer; from minute 10 its replicas restart one by one over 5 minutes and ' +
      'answer SERVFAIL for cluster names; the API server returns at minute 30 and restarted replicas list ' +
      'everything again (30 s) before they answer.',
    phases: { warmS: 180, faultS: 1800, recoverS: 300 },
    policies: ['nodelocal', 'ballast', 'no-jitter', 'no-coalescing', 'no-stale'],
    setup({ sim, coredns, p, faultStart, faultEnd, faultS }) {
      sim.at(faultStart * 1000, () => coredns.apiDown());
      // Restarts from a third of the way in, over a sixth of the outage (minutes 10 to 15 of 30).
      const n = coredns.replicas.length;
      for (let i = 0; i < n; i++) {
        const at = faultStart + faultS / 3 + ((faultS / 6) * i) / n;
        sim.at(at * 1000, () => coredns.restart(i, p.restartGapMs, p.syncMs));
      }
      sim.at(faultEnd * 1000, () => coredns.apiBack(p.syncMs));
    },
  },
  unreachable: {
    title: 'CoreDNS unreachable for 10 minutes',
    summary: 'Every packet between the nodes and CoreDNS is lost (a network partition, a bad NetworkPolicy).',
    phases: { warmS: 180, faultS: 600, recoverS: 300 },
    policies: ['nodelocal', 'ballast', 'no-stale'],
    setup({ sim, coredns, faultStart, faultEnd }) {
      sim.at(faultStart * 1000, () => (coredns.partitioned = true));
      sim.at(faultEnd * 1000, () => (coredns.partitioned = false));
    },
  },
  overload: {
    title: 'CoreDNS overloaded: capacity at 50 % of the steady load for 10 minutes',
    summary:
      'CoreDNS can serve half the queries NodeLocal DNSCache sends it in steady state (replicas lost or ' +
      'CPU-starved); beyond max_concurrent it answers REFUSED, below it queries wait in line.',
    phases: { warmS: 180, faultS: 600, recoverS: 300 },
    policies: ['nodelocal', 'ballast', 'no-coalescing'],
    calibrate: true,
    setup({ sim, coredns, faultStart, faultEnd, calibratedQps }) {
      sim.at(faultStart * 1000, () => {
        coredns.capacityFactor = (0.5 * calibratedQps!) / coredns.capacity(sim.t);
      });
      sim.at(faultEnd * 1000, () => (coredns.capacityFactor = 1));
    },
  },
  'wrong-negatives': {
    title: 'One of two CoreDNS replicas answers NXDOMAIN for 10 minutes',
    summary:
      'A replica restarted and relisted against an API server that returned nothing: its informer is empty, so it ' +
      'answers NXDOMAIN, with its SOA, for every Service and pod name, while the other replica answers right and ' +
      'kube-proxy spreads queries over both. Nothing is down, and nothing answers SERVFAIL.',
    phases: { warmS: 180, faultS: 600, recoverS: 300 },
    policies: ['nodelocal', 'ballast', 'no-lkg'],
    setup({ sim, coredns, faultStart, faultEnd }) {
      sim.at(faultStart * 1000, () => (coredns.replicas[0].empty = true));
      sim.at(faultEnd * 1000, () => (coredns.replicas[0].empty = false));
    },
  },
  'rolling-restart': {
    title: 'The node cache DaemonSet rolls during a 15-minute API server outage',
    summary:
      'Every CoreDNS replica has restarted without the API server and answers SERVFAIL for cluster names; ' +
      'meanwhile every node cache restarts once, at a random moment between minutes 2 and 12.',
    phases: { warmS: 180, faultS: 900, recoverS: 300 },
    policies: ['nodelocal', 'ballast', 'no-snapshot'],
    setup({ sim, coredns, nodes, p, faultStart, faultEnd, faultS, rng }) {
      sim.at(faultStart * 1000, () => {
        coredns.apiDown();
        for (let i = 0; i < coredns.replicas.length; i++) coredns.restart(i, p.restartGapMs, p.syncMs);
      });
      for (const node of nodes) {
        const at = faultStart + (faultS * (2 + 10 * rng.float())) / 15;
        sim.at(at * 1000, () => sim.block(node.restart()));
      }
      sim.at(faultEnd * 1000, () => coredns.apiBack(p.syncMs));
    },
  },
} satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof scenarios;
export const SCENARIOS: Record<ScenarioName, Scenario> = scenarios;

/** A scenario's timeline in seconds from the start, with any phase lengths overridden. */
export function timeline(scenario: Scenario, phases: Partial<Phases> = {}): Timeline {
  const { warmS, faultS, recoverS } = { ...scenario.phases, ...phases };
  return {
    warmS,
    faultS,
    recoverS,
    faultStart: warmS,
    faultEnd: warmS + faultS,
    seconds: warmS + faultS + recoverS,
  };
}
