import { readFileSync } from 'node:fs';
import { encodeName } from '../wire/index.js';
import type { DrillOptions } from './options.js';
import { adminCall } from './target.js';

/** A name to ask for, in wire form, with its type. */
export interface Name {
  readonly wire: Buffer;
  readonly type: number;
}

/** Names to query: a file ("name [type]" per line, # comments) or the target's cache (GET /chaos/names). */
export async function loadNames(opts: DrillOptions): Promise<Name[]> {
  const TYPES: Record<string, number> = { A: 1, AAAA: 28, SRV: 33, TXT: 16, PTR: 12, MX: 15, CNAME: 5, NS: 2, SOA: 6 };
  let list: { name: string; type: number }[];
  if (opts.namesFile !== undefined) {
    list = readFileSync(opts.namesFile, 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean)
      .map((l) => {
        const [name, type = 'A'] = l.split(/\s+/);
        const t = TYPES[type.toUpperCase()] ?? Number(type);
        if (!Number.isInteger(t) || t <= 0 || t > 65535)
          throw new Error(`names file: bad type ${JSON.stringify(type)}`);
        return { name, type: t };
      });
  } else if (opts.admin !== undefined) {
    const body = (await adminCall(opts, 'GET', '/chaos/names?limit=5000')) as {
      names?: { name: string; type: number }[];
    };
    list = body.names ?? [];
  } else {
    throw new Error('no names: give --names FILE, or --admin so names can be taken from the target');
  }
  if (list.length === 0)
    throw new Error('no names to query (the names file is empty, or the target has cached nothing yet)');
  return list.map((n) => ({ wire: encodeName(n.name), type: n.type }));
}
