/** A column of a markdown table: its heading and alignment. */
export type Column = readonly [heading: string, align: 'left' | 'right'];

/**
 * A markdown table with padded columns, laid out the way `biome format` lays it out, so that generated reports need
 * no reformatting: each column as wide as its widest cell (in characters, not bytes), `|` in a cell escaped, and
 * right-aligned columns with the `---:` rule.
 */
export function mdTable(columns: readonly Column[], rows: readonly (readonly unknown[])[]): string {
  const len = (str: string) => [...str].length;
  const text = rows.map((r) => r.map((c) => String(c).replaceAll('|', '\\|')));
  const widths = columns.map(([h], i) => Math.max(3, len(h), ...text.map((r) => len(r[i]))));
  const cell = (str: string, i: number) => {
    const pad = ' '.repeat(widths[i] - len(str));
    return columns[i][1] === 'right' ? pad + str : str + pad;
  };
  const line = (cells: string[]) => `| ${cells.map((c, i) => cell(c, i)).join(' | ')} |`;
  const rule = `| ${columns.map(([, a], i) => (a === 'right' ? `${'-'.repeat(widths[i] - 1)}:` : '-'.repeat(widths[i]))).join(' | ')} |`;
  return [line(columns.map(([h]) => h)), rule, ...text.map(line)].join('\n');
}
