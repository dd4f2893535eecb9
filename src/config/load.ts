import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { FlagValues } from '../util/flags.js';
import { applyFlags } from './flags.js';
import { type Config, configSchema, parseEndpoint } from './schema.js';

/** Reads and validates the config: YAML file (if any), then flags on top. Throws ConfigError naming the key. */
export function loadConfig(file: string | undefined, flags: FlagValues = {}): Config {
  let raw: unknown = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError(`config file ${file}: expected a mapping of settings at the top level`);
    }
  }
  return validate(applyFlags(raw as Record<string, unknown>, flags));
}

/** Validates a settings object; the error names every bad key path, its value and what is allowed. */
export function validate(raw: unknown): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error, raw));
  return result.data;
}

function formatIssues(error: z.ZodError, raw: unknown): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    // A cross-field check can fire on a default the user never wrote: show the value it had.
    const value = valueAt(raw, issue.path) ?? (issue.code === 'custom' ? issue.input : undefined);
    const shown = value === undefined ? 'missing' : JSON.stringify(value);
    let allowed = issue.message;
    if (issue.code === 'unrecognized_keys') {
      const unknown = issue.keys.filter((k) => replacement([...issue.path, k]) === undefined);
      const lines = issue.keys
        .filter((k) => !unknown.includes(k))
        .map((k) => {
          const at = [...issue.path, k];
          return `${at.map(String).join('.')}: got ${JSON.stringify(valueAt(raw, at))}; ${replacement(at)}`;
        });
      if (unknown.length > 0) {
        const keys = unknown.map((k) => JSON.stringify(k)).join(', ');
        lines.push(`${path}: unknown key(s) ${keys}; remove or fix the spelling`);
      }
      return lines.join('\n  ');
    }
    if (issue.code === 'invalid_value')
      allowed = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    return `${path}: got ${shown}; ${allowed}`;
  });
  return `invalid configuration:\n  ${lines.join('\n  ')}`;
}

/**
 * Settings an earlier release had, with what replaced them: an old config fails at load saying what to write now,
 * instead of meaning something else in silence.
 */
const REPLACED: [string, string][] = [
  ['upstream.timeoutMs', 'replaced by upstream.deadlineMs: one deadline per query, retransmissions included'],
  ['zones.*.timeoutMs', 'replaced by deadlineMs: one deadline per query, retransmissions included'],
  ['upstream.minTimeoutMs', 'replaced by upstream.retransmit.minRtoMs'],
  ['upstream.retryBudgetRatio', 'replaced by upstream.retransmit.budgetPerAnswer: retransmissions are paid by answers'],
  [
    'upstream.health.failureThreshold',
    'replaced by upstream.health.transportErrors (timeouts and REFUSED no longer mark an upstream down)',
  ],
  ['upstream.health.servfailRatio', 'replaced by upstream.health.failureRatio'],
  ['upstream.health.servfailMinNames', 'replaced by upstream.health.minNames'],
  [
    'clientLimit',
    'replaced by fairness (queues, handSize, queueLength): a busy client now waits in its own queue instead of ' +
      'being refused; see docs/resilience.md',
  ],
];

function replacement(path: readonly PropertyKey[]): string | undefined {
  const key = path.map((p) => (typeof p === 'number' ? '*' : String(p))).join('.');
  return REPLACED.find(([k]) => k === key)?.[1];
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** Nameserver addresses from a resolv.conf, port 53. */
export function readResolvConf(path: string): { host: string; port: number }[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`upstream.resolvConf: cannot read ${path}: ${(err as Error).message}`);
  }
  const out: { host: string; port: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    // A link-local nameserver keeps its zone index (fe80::1%eth0): without it the address is unreachable.
    const ep = parseEndpoint(m[1], 53);
    if (ep) out.push(ep);
  }
  return out;
}

/** Root-zone upstreams: upstream.servers, else the resolv.conf nameservers (ConfigError when there are none). */
export function rootServers(config: Config): { host: string; port: number }[] {
  if (config.upstream.servers.length > 0) return config.upstream.servers.map((s) => parseEndpoint(s, 53)!);
  const found = readResolvConf(config.upstream.resolvConf);
  if (found.length === 0) {
    throw new ConfigError(
      `upstream.servers: got []; expected at least one server, and ${config.upstream.resolvConf} lists no nameserver`,
    );
  }
  return found;
}
