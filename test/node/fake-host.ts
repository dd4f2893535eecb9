// An in-memory stand-in for `ip` and `iptables-nft`, for the tests that need no root: it records every command and
// keeps just enough state (one interface, rules per chain) to answer them the way the real programs do.
import type { Exec, ExecResult } from '../../src/node/index.js';

export interface FakeHost {
  readonly exec: Exec;
  /** Every command run, as argv. */
  readonly calls: string[][];
  /** Rules per `family table chain`, as `iptables -S` prints them. */
  readonly rules: Map<string, string[]>;
  link: { kind: string; alias?: string; up: boolean; addresses: Set<string> } | undefined;
  /** Answers a command before the fake does, e.g. to fail it. */
  override?: (file: string, args: readonly string[]) => ExecResult | undefined;
  /** Print rules with words in another order than ballast writes them (another iptables version). */
  reorder: boolean;
}

const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' });
const fail = (code: number, stderr: string): ExecResult => ({ code, stdout: '', stderr });

export function fakeHost(programs: string[] = ['iptables-nft', 'ip6tables-nft']): FakeHost {
  const host: FakeHost = {
    calls: [],
    rules: new Map(),
    link: undefined,
    reorder: false,
    exec: async (file, args) => {
      host.calls.push([file, ...args]);
      const overridden = host.override?.(file, args);
      if (overridden !== undefined) return overridden;
      if (file === 'ip') return ip(host, args);
      if (programs.includes(file)) return iptables(host, file.startsWith('ip6') ? 6 : 4, args);
      return fail(127, `${file}: not found`);
    },
  };
  return host;
}

function print(spec: readonly string[], reorder: boolean): string {
  const words = spec.map((w) => (/\s/.test(w) ? `"${w}"` : w));
  if (!reorder) return words.join(' ');
  const j = words.indexOf('-j');
  return [...words.slice(j), ...words.slice(0, j)].join(' ');
}

function iptables(host: FakeHost, family: 4 | 6, args: readonly string[]): ExecResult {
  if (args[0] === '-V') return ok('iptables v1.8.9 (nf_tables)\n');
  const a = [...args];
  if (a[0] === '-w') a.splice(0, 2);
  let table = 'filter';
  if (a[0] === '-t') {
    table = a[1];
    a.splice(0, 2);
  }
  const [op, chain, ...spec] = a;
  const key = `${family} ${table} ${chain}`;
  const list = host.rules.get(key) ?? [];
  host.rules.set(key, list);
  const line = `-A ${chain} ${print(spec, host.reorder)}`;
  switch (op) {
    case '-S':
      return ok(`${[`-P ${chain} ACCEPT`, ...list].join('\n')}\n`);
    case '-C':
      return list.includes(line) ? ok() : fail(1, 'iptables: Bad rule (does a matching rule exist in that chain?).');
    case '-I':
      list.unshift(line);
      return ok();
    case '-D': {
      const i = list.indexOf(line);
      if (i === -1) return fail(1, 'iptables: Bad rule (does a matching rule exist in that chain?).');
      list.splice(i, 1);
      return ok();
    }
    default:
      return fail(2, `unknown option ${op}`);
  }
}

function ip(host: FakeHost, args: readonly string[]): ExecResult {
  const cmd = args.join(' ');
  let m: RegExpExecArray | null;
  if ((m = /^-j -d addr show dev (\S+)$/.exec(cmd))) {
    if (host.link === undefined) return fail(1, `Device "${m[1]}" does not exist.`);
    const l = host.link;
    return ok(
      JSON.stringify([
        {
          ifname: m[1],
          flags: l.up ? ['BROADCAST', 'UP'] : ['BROADCAST'],
          linkinfo: { info_kind: l.kind },
          ...(l.alias ? { ifalias: l.alias } : {}),
          addr_info: [...l.addresses].map((local) => ({ local })),
        },
      ]),
    );
  }
  if ((m = /^link add (\S+) type (\S+)$/.exec(cmd))) {
    if (host.link) return fail(2, 'RTNETLINK answers: File exists');
    host.link = { kind: m[2], up: false, addresses: new Set() };
    return ok();
  }
  if ((m = /^link set dev (\S+) alias (\S+)$/.exec(cmd)) && host.link) {
    host.link.alias = m[2];
    return ok();
  }
  if (/^link set dev \S+ up$/.test(cmd) && host.link) {
    host.link.up = true;
    return ok();
  }
  if ((m = /^addr (add|del) ([^/]+)\/\d+ dev \S+( nodad)?$/.exec(cmd)) && host.link) {
    if (m[1] === 'add') host.link.addresses.add(m[2]);
    else host.link.addresses.delete(m[2]);
    return ok();
  }
  if (/^link del dev \S+$/.test(cmd) && host.link) {
    host.link = undefined;
    return ok();
  }
  return fail(1, `fake ip: cannot do "${cmd}"`);
}
