import { readFileSync } from 'node:fs';
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import * as v from 'valibot';
import { ConfigError } from '../errors.js';
import type { FlagValues } from '../util/flags.js';
import { defaultMessage, unknownKeys } from '../util/validators.js';
import { configSchema } from './checks.js';
import { applyFlags } from './flags.js';
import { describeIssues } from './issues.js';
import { type Config, parseEndpoint } from './schema.js';

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
      // YAML 1.2's core schema, as Kubernetes reads manifests: `yes` and `on` are strings, not booleans. An empty
      // file (or one of comments only) is no document: all defaults.
      const docs = loadAll(text, { schema: CORE_SCHEMA });
      if (docs.length > 1) throw new Error(`expected one document, found ${docs.length}`);
      raw = docs[0] ?? {};
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
  const misplaced = unknownKeys(configSchema, raw);
  const result = v.safeParse(configSchema, raw, { message: defaultMessage });
  if (result.success && misplaced.length === 0) return result.output;
  throw new ConfigError(describeIssues(result.issues ?? [], misplaced, raw));
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
