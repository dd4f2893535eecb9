// Helpers for end-to-end tests: run the real `dig` (Debian package `dnsutils`,
// i.e. bind9-dnsutils) and parse its default (non-+short) output.

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * Finds an executable by name on PATH, then at the given absolute fallbacks
 * (root's PATH usually has /usr/sbin, but a normal user's may not).
 */
export function findExecutable(name: string, fallbacks: string[] = []): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const candidate of [...dirs.map((d) => path.join(d, name)), ...fallbacks]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export function digPath(): string | undefined {
  return findExecutable('dig', ['/usr/bin/dig']);
}

/**
 * Prepended to every dig invocation so a dead server costs ~4 s, not dig's
 * default 3 x 5 s. Later arguments win, so callers can override either.
 */
export const DIG_DEFAULT_OPTIONS = ['+time=2', '+tries=2'];

export interface DigResult {
  stdout: string;
  stderr: string;
  /** dig's exit code: 0 = got a reply (any RCODE), 9 = no reply, 10 = internal error, ... */
  code: number;
}

/**
 * Runs `dig ARGS...` with a hard wall-clock limit. A non-zero exit from dig is
 * returned in `code` (e.g. 9 when no server answered); only a failure to run
 * dig at all, or dig overrunning `timeoutMs`, throws.
 */
export async function dig(args: string[], opts: { timeoutMs?: number } = {}): Promise<DigResult> {
  const bin = digPath();
  if (!bin) throw new Error('dig not found on PATH or at /usr/bin/dig (apt-get install dnsutils)');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const fullArgs = [...DIG_DEFAULT_OPTIONS, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      fullArgs,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ stdout, stderr, code: 0 });
          return;
        }
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
        if (e.killed || e.signal) {
          reject(new Error(`dig ${fullArgs.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}${stderr}`));
          return;
        }
        if (typeof e.code === 'number') {
          resolve({ stdout, stderr, code: e.code });
          return;
        }
        reject(new Error(`could not run dig ${fullArgs.join(' ')}: ${e.message}`));
      },
    );
  });
}

/** `dig @127.0.0.1 -p PORT ARGS...` */
export function digAt(port: number, args: string[], opts: { timeoutMs?: number } = {}): Promise<DigResult> {
  return dig(['@127.0.0.1', '-p', String(port), ...args], opts);
}

export interface DigRecord {
  /** Owner name exactly as dig prints it (absolute, with the trailing dot, case preserved). */
  name: string;
  ttl: number;
  class: string;
  /** Mnemonic (A, TXT, ...) or TYPEnnn for types dig does not know. */
  type: string;
  /** The rest of the line, as dig prints it (e.g. `10 mail.e2e.test.`, `"a" "b"`, `\# 4 0A0B0C0D`). */
  data: string;
}

export interface DigQuestion {
  name: string;
  class: string;
  type: string;
}

export interface ParsedDig {
  /** RCODE mnemonic: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... */
  status: string;
  opcode: string;
  id?: number;
  /** Header flags in dig's order, lower case: qr aa tc rd ra ad cd. */
  flags: string[];
  counts: { query: number; answer: number; authority: number; additional: number };
  question: DigQuestion[];
  answers: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** Present when the reply carried an OPT record. */
  edns?: { version: number; flags: string[]; udp: number };
  /** Transport of the reply dig parsed, from `;; SERVER: ... (UDP)`. */
  transport?: 'UDP' | 'TCP';
  /** `;; MSG SIZE  rcvd: N` */
  msgSize?: number;
}

const HEADER_RE = /^;; ->>HEADER<<- opcode: (\S+), status: (\S+), id: (\d+)/;
const FLAGS_RE = /^;; flags:([^;]*);\s*QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)/;
const EDNS_RE = /^; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/;
const SECTION_RE = /^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:$/;
const RR_RE = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/;
const QUESTION_RE = /^;(\S+)\s+(\S+)\s+(\S+)\s*$/;

function emptyParse(): ParsedDig {
  return {
    status: '',
    opcode: '',
    flags: [],
    counts: { query: 0, answer: 0, authority: 0, additional: 0 },
    question: [],
    answers: [],
    authority: [],
    additional: [],
  };
}

/**
 * Parses dig's default output (no +short, +multiline, +nottlid, +noclass or
 * +yaml). If the output holds several messages (e.g. `+qr`, or dig retrying
 * over TCP after TC=1), the last one wins. Throws if there is no reply header
 * at all (e.g. "no servers could be reached").
 */
export function parseDig(stdout: string): ParsedDig {
  let out: ParsedDig | undefined;
  let section: 'QUESTION' | 'ANSWER' | 'AUTHORITY' | 'ADDITIONAL' | undefined;
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const header = HEADER_RE.exec(line);
    if (header) {
      out = emptyParse();
      out.opcode = header[1];
      out.status = header[2];
      out.id = Number(header[3]);
      section = undefined;
      continue;
    }
    if (!out) continue;
    const flags = FLAGS_RE.exec(line);
    if (flags) {
      out.flags = flags[1].trim().split(/\s+/).filter(Boolean);
      out.counts = {
        query: Number(flags[2]),
        answer: Number(flags[3]),
        authority: Number(flags[4]),
        additional: Number(flags[5]),
      };
      continue;
    }
    const edns = EDNS_RE.exec(line);
    if (edns) {
      out.edns = { version: Number(edns[1]), flags: edns[2].trim().split(/\s+/).filter(Boolean), udp: Number(edns[3]) };
      continue;
    }
    const sec = SECTION_RE.exec(line);
    if (sec) {
      section = sec[1] as typeof section;
      continue;
    }
    if (line.trim() === '') {
      section = undefined;
      continue;
    }
    const server = /^;; SERVER: .*\((UDP|TCP)\)\s*$/.exec(line);
    if (server) {
      out.transport = server[1] as 'UDP' | 'TCP';
      continue;
    }
    const size = /^;; MSG SIZE\s+rcvd: (\d+)/.exec(line);
    if (size) {
      out.msgSize = Number(size[1]);
      continue;
    }
    if (section === 'QUESTION') {
      const q = QUESTION_RE.exec(line);
      if (q) out.question.push({ name: q[1], class: q[2], type: q[3] });
      continue;
    }
    if (section && !line.startsWith(';')) {
      const rr = RR_RE.exec(line);
      if (!rr) continue;
      const rec: DigRecord = { name: rr[1], ttl: Number(rr[2]), class: rr[3], type: rr[4], data: rr[5] ?? '' };
      if (section === 'ANSWER') out.answers.push(rec);
      else if (section === 'AUTHORITY') out.authority.push(rec);
      else out.additional.push(rec);
    }
  }
  if (!out) {
    throw new Error(`parseDig: no ';; ->>HEADER<<-' line (no reply?) in dig output:\n${stdout}`);
  }
  return out;
}

/** Splits TXT/SPF presentation data (`"a" "b c"`) into its unescaped character-strings. */
export function txtStrings(data: string): string[] {
  const strings: string[] = [];
  for (const m of data.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    strings.push(
      m[1].replace(/\\(\d{3}|.)/g, (_, esc: string) => (esc.length === 3 ? String.fromCharCode(Number(esc)) : esc)),
    );
  }
  return strings;
}
