import type { Logger } from 'pino';
import { createRegistry } from '../observe/index.js';
import type { Registry } from '../observe/prom.js';
import type { UpstreamDeps } from '../upstream/index.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { Endpoint } from '../util/endpoint.js';
import { type Random, systemRandom } from '../util/random.js';

export interface BallastDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly registry?: Registry;
  /** How upstreams are reached, when not over sockets (an in-memory network: the fleet simulation). */
  readonly transport?: UpstreamDeps['transport'];
}

export interface BoundAddresses {
  readonly udp: Endpoint[];
  readonly tcp: Endpoint[];
  readonly admin: Endpoint;
}

/** What every part is built with: injected time and randomness, the instance's registry, the root logger. */
export interface Context {
  readonly clock: Clock;
  readonly random: Random;
  readonly registry: Registry;
  readonly log: Logger;
  /** How upstreams are reached, when not over sockets (an in-memory network: the fleet simulation). */
  readonly transport?: UpstreamDeps['transport'];
}

export function createContext(deps: BallastDeps): Context {
  const registry = deps.registry ?? createRegistry();
  const { clock = systemClock, random = systemRandom, log, transport } = deps;
  return { clock, random, registry, log, transport };
}
