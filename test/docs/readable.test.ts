// The docs must stay readable: tables that fit a terminal, no lab-notebook narrative, and a bounded length. Each fact
// is explained once, in the doc that owns its topic, and linked from elsewhere; these checks keep the docs from
// growing back into copies of each other.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const docs = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** The widest cell a table may have, in characters, after trimming its padding. */
const MAX_CELL = 120;
/** The words of docs/*.md together, counted as `wc -w` counts them. */
const MAX_WORDS = 45_000;

/** Every table cell outside fenced code blocks, with its line number; separator rows (`| --- |`) are not cells. */
function tableCells(markdown: string): { line: number; cell: string }[] {
  const cells: { line: number; cell: string }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, i) => {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(text);
    if (m && (fence === undefined || m[1].startsWith(fence))) {
      fence = fence === undefined ? m[1] : undefined;
      return;
    }
    if (fence !== undefined || !/^\s*\|/.test(text)) return;
    // An escaped pipe (`\|`) is part of a cell, not a border.
    const row = text
      .trim()
      .split(/(?<!\\)\|/)
      .slice(1, -1);
    if (row.every((c) => /^\s*:?-+:?\s*$/.test(c))) return;
    for (const c of row) cells.push({ line: i + 1, cell: c.trim() });
  });
  return cells;
}

/** Whitespace-separated tokens, as `wc -w` counts them. */
function words(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length;
}

describe('the table-cell check itself', () => {
  it('finds cells, skips separator rows and code blocks, and keeps escaped pipes inside a cell', () => {
    const md = ['| a | b |', '| --- | ---: |', '| `x \\| y` | z |', '```', '| not | a table |', '```'].join('\n');
    expect(tableCells(md).map((c) => c.cell)).toEqual(['a', 'b', '`x \\| y`', 'z']);
  });

  it('counts words as wc -w does', () => {
    expect(words('  one two\tthree\n| --- |  ')).toBe(6);
  });
});

describe('readable docs', () => {
  it.each([...docs, 'README.md'])('%s: no table cell over 120 characters', (file) => {
    const long = tableCells(read(file))
      .filter(({ cell }) => cell.length > MAX_CELL)
      .map(({ line, cell }) => `${file}:${line}: ${cell.length} characters: ${cell.slice(0, 60)}…`);
    expect(long).toEqual([]);
  });

  it('no doc reads as a lab notebook ("this round", "the run before"); history is bench/results/history.md', () => {
    const found = docs.flatMap((file) =>
      read(file)
        .split('\n')
        .flatMap((text, i) => (/this round|the run before/i.test(text) ? [`${file}:${i + 1}: ${text.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });

  it("no doc cites this project's commits or issue numbers (upstream bugs such as kubernetes/dns#387 may stay)", () => {
    const found = docs.flatMap((file) =>
      read(file)
        .split('\n')
        .flatMap((text, i) =>
          [...text.matchAll(/\bissue #?\d+|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b/gi)].map(
            (m) => `${file}:${i + 1}: ${m[0]}`,
          ),
        ),
    );
    expect(found).toEqual([]);
  });

  it(`docs/*.md together stay below ${MAX_WORDS} words`, () => {
    const total = docs.reduce((sum, file) => sum + words(read(file)), 0);
    expect(total).toBeLessThan(MAX_WORDS);
  });
});
