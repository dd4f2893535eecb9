import * as v from 'valibot';

// The building blocks of the config schema (config/schema.ts, node/config.ts), each carrying the text a user reads
// when a value breaks it: the whole allowed range, not just the bound that failed. valibot is used for its size: the
// process validates its config once at start and on reload, and a smaller validator is memory every node keeps
// (docs/performance.md §2).

/** An integer from `min` to `max`, both included. */
export function int(min: number, max: number) {
  const m = `expected an integer from ${min} to ${max}`;
  return v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m));
}

/** A number from `min` to `max`, both included. */
export function num(min: number, max: number) {
  const m = `expected a number from ${min} to ${max}`;
  return v.pipe(v.number(m), v.minValue(min, m), v.maxValue(max, m));
}

/** A fraction strictly between 0 and 1. */
export function fraction() {
  const m = 'expected a number above 0 and below 1';
  return v.pipe(v.number(m), v.gtValue(0, m), v.ltValue(1, m));
}

/** A number above 0, at most `max`. */
export function positive(max: number) {
  const m = `expected a number above 0, at most ${max}`;
  return v.pipe(v.number(m), v.gtValue(0, m), v.maxValue(max, m));
}

/** One of `options`. */
export function oneOf<const T extends readonly [string, ...string[]]>(options: T) {
  return v.picklist(options, `expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}`);
}

/** A string that is not empty. */
export function text() {
  return v.pipe(v.string('expected a string'), v.minLength(1, 'expected a non-empty string'));
}

/** A list of at least one item. */
export function nonEmpty<S extends v.GenericSchema>(item: S) {
  return v.pipe(v.array(item, 'expected a list'), v.minLength(1, 'expected a list of at least one item'));
}

/**
 * A section of settings, all optional: absent, it is `{}` with every default filled in. Keys it does not name are
 * reported by {@link unknownKeys}, all of them at once (valibot's strict objects stop at the first).
 */
export function section<const E extends v.ObjectEntries>(entries: E) {
  const schema = v.object(entries);
  return v.optional(schema, () => ({}) as v.InferInput<typeof schema>);
}

/**
 * The text of an issue whose schema names none: a section that is not a mapping, a required key that is missing.
 * Given to valibot as the parse's message (`config.message`).
 */
export function defaultMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.type === 'object' && issue.input === undefined && issue.path) return 'required';
  if (issue.type === 'object') return 'expected a mapping';
  return `expected ${issue.expected}`;
}

/** A key the schema does not have, or a list where a mapping belongs: `path` to it and the value found there. */
export interface Misplaced {
  readonly path: readonly (string | number)[];
  readonly input: unknown;
  readonly kind: 'unknown-key' | 'not-a-mapping';
}

type Node = { type: string; entries?: v.ObjectEntries; item?: v.GenericSchema; wrapped?: Node; pipe?: Node[] };

/** The schema under optional() and pipe(). */
function unwrap(schema: Node): Node {
  let s = schema;
  for (;;) {
    if (s.type === 'optional' && s.wrapped) s = s.wrapped;
    else if (s.pipe && s.pipe[0] !== s) s = s.pipe[0];
    else return s;
  }
}

const isMapping = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Walks `raw` along `schema` and lists every key no section has and every list given where a mapping belongs
 * (valibot's objects take a list as a mapping with no keys). Values of the wrong type are valibot's to report.
 */
export function unknownKeys(schema: v.GenericSchema, raw: unknown, path: (string | number)[] = []): Misplaced[] {
  const s = unwrap(schema as unknown as Node);
  if (s.type === 'object' && s.entries) {
    if (Array.isArray(raw)) return [{ path, input: raw, kind: 'not-a-mapping' }];
    if (!isMapping(raw)) return [];
    const entries = s.entries;
    return Object.keys(raw).flatMap((key) =>
      Object.hasOwn(entries, key)
        ? unknownKeys(entries[key], raw[key], [...path, key])
        : [{ path: [...path, key], input: raw[key], kind: 'unknown-key' as const }],
    );
  }
  if (s.type === 'array' && s.item && Array.isArray(raw)) {
    const item = s.item;
    return raw.flatMap((x, i) => unknownKeys(item, x, [...path, i]));
  }
  return [];
}

/** A problem found across keys (a pair out of order, a duplicate zone): where, the value seen, what is wrong. */
export interface Problem {
  readonly path: readonly (string | number)[];
  readonly input: unknown;
  readonly message: string;
}

/** `path` as the path of a valibot issue. */
export function issuePath(path: readonly (string | number)[]): [v.IssuePathItem, ...v.IssuePathItem[]] | undefined {
  const items = path.map(
    (key): v.IssuePathItem => ({ type: 'unknown', origin: 'value', input: undefined, key, value: undefined }),
  );
  return items.length > 0 ? (items as [v.IssuePathItem, ...v.IssuePathItem[]]) : undefined;
}
