// docs/conformance.md is the table of protocol edges; test/integration/protocol-edges.test.ts shows each of them.
// Every row names its test by title, and every test there has its row, so the two cannot drift apart.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const doc = await readFile(new URL('docs/conformance.md', root), 'utf8');
const tests = await readFile(new URL('test/integration/protocol-edges.test.ts', root), 'utf8');

/** The rows of the first table: their trimmed cells. */
function rows(markdown: string): string[][] {
  const lines = markdown.split('\n').filter((l) => l.startsWith('|'));
  return lines.slice(2).map((l) =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim()),
  );
}

/** The titles of the `it(...)` cases, as written (single-quoted strings). */
function titles(source: string): string[] {
  return [...source.matchAll(/^\s+it\(\s*'((?:[^'\\]|\\.)*)'/gm)].map((m) => m[1].replace(/\\'/g, "'"));
}

describe('docs/conformance.md and test/integration/protocol-edges.test.ts', () => {
  const table = rows(doc);
  const named = table.map((r) => r[3]);

  it('has a table of behaviour, what ballast does, the rule and the test, every cell filled', () => {
    expect(table.length).toBeGreaterThanOrEqual(11);
    for (const r of table) {
      expect(r, r[0]).toHaveLength(4);
      for (const cell of r) expect(cell.length, r[0]).toBeGreaterThan(0);
      expect(r[2], `${r[0]}: the rule cites an RFC`).toMatch(/RFC \d+/);
    }
  });

  it('names only tests that exist, each once', () => {
    const existing = new Set(titles(tests));
    for (const t of named) expect(existing.has(t), t).toBe(true);
    expect(new Set(named).size).toBe(named.length);
  });

  it('has a row for every test of the edges', () => {
    for (const t of titles(tests)) expect(named, t).toContain(t);
  });
});
