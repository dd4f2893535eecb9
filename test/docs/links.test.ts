// Every relative link in the docs leads somewhere: README.md, deploy/README.md and every docs/**/*.md. A link must name
// a file or folder that exists inside the repository, and a #anchor into a markdown file must name one of its headings,
// with GitHub's slugs. http(s) and mailto links are not followed. Also: the README links every doc, and
// docs/design.md keeps the section numbers that code comments cite ("docs/design.md §4").
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVE_FLAGS } from '../../src/config/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The markdown files whose links are checked, relative to the repository root. */
function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return ['README.md', join('deploy', 'README.md'), ...walk('docs')].filter((f) => existsSync(join(root, f)));
}

/** The text with fenced code blocks blanked out (line breaks kept, so line numbers stay right). */
function withoutFences(markdown: string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (fence === undefined && m) {
        fence = m[1];
        return '';
      }
      if (fence !== undefined) {
        if (new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(line)) fence = undefined;
        return '';
      }
      return line;
    })
    .join('\n');
}

/**
 * The text with code blocks and inline code spans blanked out: a `[x](y)` or a `# comment` inside code is neither a
 * link nor a heading. A code span may wrap onto the next line, but not across a blank line.
 */
function withoutCode(markdown: string): string {
  return withoutFences(markdown).replace(/(`+)(?:[^`\n]|\n(?![ \t]*\n))*?\1/g, (span) => span.replace(/[^\n]/g, ' '));
}

interface Link {
  readonly line: number;
  readonly target: string;
}

/** Inline links and images `[text](target "title")`, reference definitions `[id]: target`, and HTML href/src. */
function findLinks(markdown: string): Link[] {
  const text = withoutCode(markdown);
  const found = new Map<number, string>();
  // Link text may hold one level of brackets (an image inside a link: [![alt](img)](target)); images are matched on
  // their own too, so that the image inside such a link is checked as well. Keyed by where the target starts.
  const target = /\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)$/;
  for (const re of [/!?\[(?:[^[\]]|\[[^[\]]*\])*\]\([^)]*\)/g, /!\[[^[\]]*\]\([^)]*\)/g]) {
    for (const m of text.matchAll(re)) {
      const t = target.exec(m[0]);
      if (t) found.set(m.index + t.index, t[1].replace(/^<|>$/g, ''));
    }
  }
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm)) found.set(m.index, m[1].replace(/^<|>$/g, ''));
  for (const m of text.matchAll(/<(?:a|img)\s[^>]*?\b(?:href|src)="([^"]*)"/gi)) found.set(m.index, m[1]);
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  return [...found].sort(([a], [b]) => a - b).map(([at, t]) => ({ line: lineOf(at), target: t }));
}

/** GitHub's heading anchor: lower case, punctuation other than '-' and '_' dropped, each space a '-'. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // HTML tags
    .replace(/`/g, ''); // code spans keep their text
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a markdown file offers: its ATX headings' slugs (duplicates numbered -1, -2, …) and HTML ids. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  // Only code blocks are removed: a heading's inline code is part of its slug.
  const text = withoutFences(markdown);
  for (const m of text.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/gi)) out.add(m[1]);
  return out;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let a = anchorCache.get(file);
  if (a === undefined) {
    a = anchors(readFileSync(file, 'utf8'));
    anchorCache.set(file, a);
  }
  return a;
}

/** What is wrong with each relative link of `markdown`, read as the file `file` (absolute path). */
function brokenLinks(file: string, markdown: string): string[] {
  const problems: string[] = [];
  for (const { line, target } of findLinks(markdown)) {
    const where = `${relative(root, file)}:${line}: ${target}`;
    if (/^(https?|mailto):/i.test(target)) continue;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      problems.push(`${where}: a scheme that is neither http(s) nor mailto`);
      continue;
    }
    const hash = target.indexOf('#');
    const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    if (pathPart === '') {
      if (anchor !== undefined && anchor !== '' && !anchors(markdown).has(anchor)) {
        problems.push(`${where}: no heading with the anchor #${anchor}`);
      }
      continue;
    }
    const resolved = pathPart.startsWith('/') ? join(root, pathPart) : resolve(dirname(file), pathPart);
    const inside = relative(root, resolved);
    if (inside.startsWith(`..${sep}`) || inside === '..') {
      problems.push(`${where}: points outside the repository`);
      continue;
    }
    if (!existsSync(resolved)) {
      problems.push(`${where}: no such file or folder`);
      continue;
    }
    if (anchor === undefined || anchor === '') continue;
    if (statSync(resolved).isDirectory()) {
      problems.push(`${where}: an anchor into a folder`);
    } else if (resolved.endsWith('.md')) {
      if (!anchorsOf(resolved).has(anchor)) problems.push(`${where}: no heading with the anchor #${anchor}`);
    } else if (!/^L\d+(-L\d+)?$/.test(anchor)) {
      problems.push(`${where}: an anchor into a file that is not markdown`);
    }
  }
  return problems;
}

describe('the link checker itself', () => {
  it('makes GitHub slugs', () => {
    expect(slug('The `--zone` flag')).toBe('the---zone-flag');
    expect(slug('Transport (`upstream.protocol`)')).toBe('transport-upstreamprotocol');
    expect(slug('2.2 Upstream load never multiplies')).toBe('22-upstream-load-never-multiplies');
    expect(slug('7. Restarts, reloads, handover')).toBe('7-restarts-reloads-handover');
    expect(slug('resolv.conf fallback')).toBe('resolvconf-fallback');
    expect(slug('Snapshots (keeping the cache across restarts)')).toBe('snapshots-keeping-the-cache-across-restarts');
  });

  it('numbers duplicate headings and ignores headings in code blocks', () => {
    const a = anchors('# Title\n\n## Check\n\n```sh\n# not a heading\n```\n\n## Check\n');
    expect([...a]).toEqual(['title', 'check', 'check-1']);
  });

  it('finds inline, image, reference and HTML links, and none inside code', () => {
    const md = [
      'See [a](a.md) and ![b](img/b.png "title") and [![c](c.png)](d.md#x).',
      '`[not](a link)` and',
      '```md',
      '[not](either.md)',
      '```',
      '[ref]: e.md',
      '<a href="f.md">f</a>',
    ].join('\n');
    expect(findLinks(md).map((l) => `${l.line} ${l.target}`)).toEqual([
      '1 a.md',
      '1 img/b.png',
      '1 c.png',
      '1 d.md#x',
      '6 e.md',
      '7 f.md',
    ]);
  });

  it('reports a missing file, a missing heading and a link out of the repository, and passes good links', () => {
    const file = join(root, 'docs', 'example.md');
    const md = [
      '# Example',
      '[ok](configuration.md#errors) [ok](#example) [ok](../README.md) [ok](../deploy/) [ok](https://example.com/x)',
      '[bad](no-such-file.md) [bad](configuration.md#no-such-heading) [bad](#nowhere) [bad](../../outside.md)',
    ].join('\n');
    expect(brokenLinks(file, md)).toEqual([
      'docs/example.md:3: no-such-file.md: no such file or folder',
      'docs/example.md:3: configuration.md#no-such-heading: no heading with the anchor #no-such-heading',
      'docs/example.md:3: #nowhere: no heading with the anchor #nowhere',
      'docs/example.md:3: ../../outside.md: points outside the repository',
    ]);
  });
});

describe('relative links in the docs', () => {
  const files = markdownFiles();

  it('covers the README, deploy/README.md and every doc', () => {
    expect(files).toContain('README.md');
    expect(files).toContain(join('deploy', 'README.md'));
    expect(files.filter((f) => f.startsWith(`docs${sep}`)).length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('%s: every relative link resolves', (file) => {
    const path = join(root, file);
    expect(brokenLinks(path, readFileSync(path, 'utf8'))).toEqual([]);
  });

  it('the README links every doc in docs/', () => {
    const readme = findLinks(readFileSync(join(root, 'README.md'), 'utf8')).map((l) => l.target.split('#')[0]);
    for (const doc of files.filter((f) => f.startsWith(`docs${sep}`))) {
      expect(readme, `README.md does not link ${doc}`).toContain(doc.split(sep).join('/'));
    }
  });
});

describe('docs/design.md and the sections the code cites', () => {
  const design = readFileSync(join(root, 'docs', 'design.md'), 'utf8');
  const titles = [
    'The problem',
    'Promises',
    'Topology on a node',
    'The request path',
    'Numbers (defaults)',
    'Wire handling',
    'Restarts, reloads, handover',
    'Observability',
    'Chaos drills',
    'How peers compare',
  ];

  it('has the numbered sections §1 to §10, in order', () => {
    const headings = [...withoutCode(design).matchAll(/^## (.*)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(titles.map((t, i) => `${i + 1}. ${t}`));
  });

  it('has the promises §2.1 to §2.5, in order', () => {
    const promises = [...withoutCode(design).matchAll(/^### (2\.\d+) /gm)].map((m) => m[1]);
    expect(promises).toEqual(['2.1', '2.2', '2.3', '2.4', '2.5']);
  });

  it('has every section that a comment or a doc cites', () => {
    const sections = new Set([
      ...[...design.matchAll(/^## (\d+)\. /gm)].map((m) => m[1]),
      ...[...design.matchAll(/^### (\d+\.\d+) /gm)].map((m) => m[1]),
    ]);
    const cited = new Map<string, string[]>();
    const cite = (rel: string) => {
      const text = readFileSync(join(root, rel), 'utf8');
      // "docs/design.md §3", "docs/design.md §3, §7, §8", "[design.md §2.2](…)", and JSON's "\u00a7" for §.
      const section = /(?:§|\\u00a7) ?(\d+(?:\.\d+)?)/g;
      for (const m of text.matchAll(/design\.md((?:,? (?:and )?(?:§|\\u00a7) ?\d+(?:\.\d+)?)+)/g)) {
        for (const n of m[1].matchAll(section)) cited.set(n[1], [...(cited.get(n[1]) ?? []), rel]);
      }
    };
    const scan = (dir: string) => {
      for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
        const rel = join(dir, e.name);
        if (e.isDirectory()) scan(rel);
        else if (/\.(ts|js|md|ya?ml|json)$/.test(e.name) && rel !== join('docs', 'design.md')) cite(rel);
      }
    };
    for (const dir of ['src', 'test', 'bench', 'deploy', 'docs']) scan(dir);
    cite('README.md');
    expect(cited.size).toBeGreaterThanOrEqual(8);
    for (const [n, where] of cited) expect(sections, `${where.join(', ')} cite docs/design.md §${n}`).toContain(n);
  });
});

describe("the README's flag table", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  // First cells of the table rows that start with a flag: `--listen HOST:PORT`, `--help`, `-h`.
  const cells = [...readme.matchAll(/^\| (`-[^|]+?) +\|/gm)].map((m) => m[1]);
  const documented = new Set(cells.flatMap((c) => [...c.matchAll(/`--([a-z][a-z-]*)/g)].map((m) => m[1])));

  it('lists every flag of ballast serve, with its value as --help shows it', () => {
    for (const f of SERVE_FLAGS) {
      expect(documented, `--${f.name} is missing from the README's flag table`).toContain(f.name);
      if (f.value !== undefined) {
        const cell = cells.find((c) => c.startsWith(`\`--${f.name} `));
        expect(cell, `--${f.name} in the README has no value`).toBeDefined();
      }
    }
  });

  it('lists no flag that ballast serve does not accept', () => {
    const known = new Set(SERVE_FLAGS.map((f) => f.name));
    expect([...documented].filter((f) => !known.has(f))).toEqual([]);
  });
});
