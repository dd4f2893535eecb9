// Answers described and compared: one answer in a line for the report's cells, the fake upstream's queries in short,
// and in which aspects two servers' answers to the same steps differ.

import { CLASS, className, rcodeName, TYPE, typeName } from './codes.js';

const FLAG_NAMES = ['aa', 'tc', 'rd', 'ra', 'ad', 'cd'];

/** The header bits set in a parsed message, as in dig: "qr aa rd ra". */
export const flagList = (m) => ['qr', ...FLAG_NAMES].filter((f) => m[f]);

function recordText(r, withData) {
  const cls = r.cls === CLASS.IN ? '' : `${className(r.cls)} `;
  let data = '';
  if (withData && r.type === TYPE.TXT && Array.isArray(r.data)) data = ` "${r.data.join('')}"`;
  if (withData && r.type === TYPE.CNAME) data = `→${r.data}`;
  return `${cls}${typeName(r.type)}${data} ${r.ttl}`;
}

/**
 * One answer in a line, for a table cell: rcode, header bits, each section's records as TYPE TTL (with CNAME targets
 * and TXT text), OPT and EDE, and how many queries the fake upstream saw meanwhile. `probe` is
 * { response (parsed or null), upstream: [...] , timeoutMs }.
 */
export function describeAnswer(probe) {
  const up = probe.upstream ? ` · ${upstreamText(probe.upstream)}` : '';
  const m = probe.response;
  if (!m) return `no answer in ${(probe.timeoutMs ?? 0) / 1000} s${up}`;
  if (m.error && !m.questions) return `unreadable (${m.error})${up}`;
  const parts = [`${rcodeName(m.rcode)} ${flagList(m).join(' ')}`];
  if (m.answer.length) parts.push(`an ${m.answer.map((r) => recordText(r, true)).join(', ')}`);
  if (m.authority.length) parts.push(`ns ${m.authority.map((r) => recordText(r, false)).join(', ')}`);
  if (m.additional.length) parts.push(`ar ${m.additional.map((r) => recordText(r, false)).join(', ')}`);
  if (m.opt) parts.push(`OPT${m.opt.do ? ' do' : ''}`);
  for (const e of m.opt?.ede ?? []) parts.push(`EDE ${e.code}${e.text ? ` "${e.text}"` : ''}`);
  if (m.error) parts.push(`malformed: ${m.error}`);
  return `${parts.join(' · ')}${up}`;
}

/**
 * The queries the fake upstream received, in short: "up 0", or "up 2: a.old.test A edns do, a.old.test A" with
 * repeats counted (×3) and the ones a blackholed fake dropped marked "dropped".
 */
export function upstreamText(queries) {
  if (!queries.length) return 'up 0';
  const groups = new Map();
  for (const q of queries) {
    const cls = q.cls === CLASS.IN ? '' : ` ${className(q.cls)}`;
    const bits = `${q.edns ? ' edns' : ''}${q.do ? ' do' : ''}${q.dropped ? ' dropped' : ''}`;
    const key = `${q.name || '.'}${cls} ${typeName(q.type)}${bits}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const parts = [...groups].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
  return `up ${queries.length}: ${parts.join(', ')}`;
}

/**
 * What two servers' answers are compared on: rcode, header bits, the types in each section, OPT, EDE codes and
 * whether the upstream saw the query; TTLs only where a case says (`ttls`).
 */
export function shapeOf(probe, { ttls = false } = {}) {
  const m = probe.response;
  if (!m) return { answered: false, forwarded: probe.upstream?.length > 0 };
  const types = (rs) => rs.map((r) => typeName(r.type) + (ttls ? `/${r.ttl}` : '')).join(',');
  return {
    answered: true,
    rcode: rcodeName(m.rcode),
    flags: flagList(m).join(' '),
    answer: types(m.answer),
    authority: types(m.authority),
    additional: types(m.additional),
    opt: !!m.opt,
    ede: (m.opt?.ede ?? []).map((e) => e.code).join(','),
    forwarded: probe.upstream?.length > 0,
  };
}

/** The aspects in which two lists of probes differ (step by step), [] when they are alike. */
export function differences(a, b, opts = {}) {
  const out = new Set();
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (!a[i] || !b[i]) {
      out.add('steps');
      continue;
    }
    const x = shapeOf(a[i], opts);
    const y = shapeOf(b[i], opts);
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (x[k] !== y[k])
        out.add(
          k === 'answer' || k === 'authority' || k === 'additional' ? `${k}${opts.ttls ? ' (types/TTLs)' : ''}` : k,
        );
    }
    if (x.flags !== y.flags && x.answered && y.answered) {
      out.delete('flags');
      const fx = new Set(x.flags.split(' '));
      const fy = new Set(y.flags.split(' '));
      for (const f of ['qr', ...FLAG_NAMES]) if (fx.has(f) !== fy.has(f)) out.add(f.toUpperCase());
    }
  }
  return [...out];
}
