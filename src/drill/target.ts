import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { DrillOptions } from './options.js';

/** One call to the target's admin API (fault control, names, metrics), with the bearer token when one is given. */
export async function adminCall(opts: DrillOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const a = opts.admin!;
  const host = isIPv6(a.host) ? `[${a.host}]` : a.host;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.tokenFile !== undefined) headers.authorization = `Bearer ${readFileSync(opts.tokenFile, 'utf8').trim()}`;
  const res = await fetch(`http://${host}:${a.port}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.trim()}`);
  return text.startsWith('{') ? JSON.parse(text) : text;
}

/** The sum of ballast_upstream_queries_total on the target, or undefined (no admin, not ballast, unreachable). */
export async function upstreamTotal(opts: DrillOptions): Promise<number | undefined> {
  if (opts.admin === undefined) return undefined;
  try {
    const text = String(await adminCall(opts, 'GET', '/metrics'));
    let sum = 0;
    let seen = false;
    for (const m of text.matchAll(/^ballast_upstream_queries_total\{[^}]*\} (\S+)$/gm)) {
      sum += Number(m[1]);
      seen = true;
    }
    return seen ? sum : 0;
  } catch {
    return undefined;
  }
}

/** Switches the fault on over the target's chaos API; in external mode, tells the operator to. */
export async function startFault(opts: DrillOptions): Promise<string | undefined> {
  if (opts.external) {
    opts.out('fault phase: break the upstream now (external mode: ballast injects nothing)');
    return undefined;
  }
  if (opts.admin === undefined) throw new Error('--admin is required to inject a fault (or use --external)');
  // The fault outlives the phase a little, and ends by itself if this drill dies.
  const f = (await adminCall(opts, 'POST', '/chaos/faults', {
    ...opts.fault,
    durationSeconds: opts.faultSeconds + 30,
  })) as { id: string };
  opts.out(`fault phase: ${opts.fault.kind} injected (${f.id})`);
  return f.id;
}

export async function endFault(opts: DrillOptions, id: string | undefined): Promise<void> {
  if (opts.external) {
    opts.out('recover phase: restore the upstream now');
    return;
  }
  if (id === undefined) return;
  await adminCall(opts, 'DELETE', `/chaos/faults/${id}`);
  opts.out(`recover phase: fault ${id} cleared`);
}
