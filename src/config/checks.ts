import * as v from 'valibot';
import { checkNodeConfig } from '../node/config.js';
import { issuePath, type Problem } from '../util/validators.js';
import { type Config, settings } from './schema.js';

/**
 * Checks across keys, on the settings with their defaults: a check can fail on a default the file never wrote, so
 * each problem carries the value it saw.
 */
function crossChecks(c: Config): Problem[] {
  const problems: Problem[] = [...checkNodeConfig(c.node, c.listen)];
  if (c.chaos.enabled && c.chaos.tokenFile === undefined) {
    problems.push({
      path: ['chaos', 'tokenFile'],
      input: undefined,
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
      ['failureCache', 'initialSeconds'],
      c.failureCache.initialSeconds,
      'failureCache.maxSeconds',
      c.failureCache.maxSeconds,
    ],
  ];
  for (const [path, low, highKey, high] of pairs) {
    if (low > high) problems.push({ path, input: low, message: `must not exceed ${highKey} (${high})` });
  }
  const seen = new Map<string, number>();
  c.zones.forEach((zone, i) => {
    const path = ['zones', i, 'name'];
    if (zone.name === '.') {
      problems.push({ path, input: zone.name, message: 'the root zone is set with upstream.servers, not as a zone' });
    } else if (seen.has(zone.name)) {
      problems.push({ path, input: zone.name, message: `duplicate of zones.${seen.get(zone.name)}.name` });
    }
    seen.set(zone.name, i);
  });
  return problems;
}

/** The whole config: every section, then the checks across them. */
export const configSchema = v.pipe(
  settings,
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const p of crossChecks(dataset.value))
      addIssue({ message: p.message, input: p.input, path: issuePath(p.path) });
  }),
);
