// The docs are part of the product: every metric and every setting ballast has must be in them, with the right
// names, types and defaults. These tests fail when code and docs drift apart, in either direction.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load as parseYaml } from 'js-yaml';
import { safeParse } from 'valibot';
import { afterAll, describe, expect, it } from 'vitest';
import { Ballast } from '../../src/ballast.js';
import { loadConfig, SERVE_FLAGS, validate, zoneSchema } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { createRegistry, silentLogger } from '../../src/observe/index.js';

const root = new URL('../../', import.meta.url);
const configurationMd = await readFile(new URL('docs/configuration.md', root), 'utf8');
const metricsMd = await readFile(new URL('docs/metrics.md', root), 'utf8');

/** The trimmed cells of the table row whose first cell is `` `key` `` (biome pads cells), or undefined. */
function row(markdown: string, key: string): string[] | undefined {
  const rows = markdown.split('\n').filter((l) => /^\| `([^`]+)` +\|/.exec(l)?.[1] === key);
  if (rows.length > 1) throw new Error(`${key} has ${rows.length} rows`);
  return rows[0]
    ?.split('|')
    .slice(1, -1)
    .map((c) => c.trim());
}

/** First cells of every table row that names something in backticks. */
function firstCells(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]);
}

/** The text between the heading `## title` and the next `## ` heading. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start === -1) throw new Error(`no section "## ${title}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

/** The fenced code blocks of one language, in order. */
function codeBlocks(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]);
}

// A ballast as configured, not started: constructing it registers every metric.
const ballast = new Ballast(
  validate({ listen: ['127.0.0.1:0'], admin: { listen: '127.0.0.1:0' }, upstream: { servers: ['127.0.0.1:9'] } }),
  { log: silentLogger() },
);
afterAll(() => ballast.close());
const defaultMetricNames = new Set((await createRegistry().getMetricsAsJSON()).map((m) => m.name));
const all = await ballast.registry.getMetricsAsJSON();
// prom-client's typings declare `type` as a numeric enum; at run time it is the exposition name ("counter", ...).
const own = all
  .filter((m) => !defaultMetricNames.has(m.name))
  .map((m) => ({ name: m.name, help: m.help, type: String(m.type) }));
const labelNames = (name: string): readonly string[] => {
  // prom-client keeps the declared label names on the metric object; its typings do not expose them.
  const names = (ballast.registry.getSingleMetric(name) as unknown as { labelNames?: readonly string[] }).labelNames;
  if (!Array.isArray(names)) throw new Error(`cannot read the label names of ${name}`);
  return names;
};

describe('docs/metrics.md and the metrics a running ballast registers', () => {
  it('registers ballast metrics of its own besides the process defaults', () => {
    expect(defaultMetricNames.size).toBeGreaterThan(0);
    expect(own.length).toBeGreaterThan(10);
  });

  it('exports the prom-client default metrics under the ballast_ prefix', () => {
    for (const name of defaultMetricNames) expect(name).toMatch(/^ballast_(process|nodejs)_/);
  });

  describe.each(own.map((m) => [m.name, m] as const))('%s', (name, metric) => {
    it('is named ballast_<subsystem>_<name> in lower snake case, with no non-base units', () => {
      expect(name).toMatch(/^ballast_[a-z][a-z0-9]*(_[a-z0-9]+)+$/);
      expect(name).not.toMatch(/_(ms|milliseconds|microseconds|kb|mb|kilobytes|megabytes|minutes|hours)(_|$)/);
    });

    it('ends in _total if and only if it is a counter', () => {
      expect(name.endsWith('_total')).toBe(metric.type === 'counter');
    });

    it('ends in _seconds if it measures time, and is then not a counter', () => {
      const timing = /\b(time|duration|latency|seconds?)\b/i.test(metric.help) || /duration|latency/.test(name);
      if (timing) expect(name).toMatch(/_seconds$/);
      if (name.endsWith('_seconds')) expect(metric.type).not.toBe('counter');
    });

    it('ends in _bytes if it is a gauge of bytes, and _bytes means a gauge', () => {
      if (metric.type === 'gauge' && /\bbytes\b/i.test(metric.help)) expect(name).toMatch(/_bytes$/);
      if (name.endsWith('_bytes')) expect(metric.type).toBe('gauge');
    });

    it('has a row in docs/metrics.md with its type and every label', () => {
      const cells = row(metricsMd, name);
      expect(cells, `docs/metrics.md has no row for ${name}`).toBeDefined();
      expect(cells![1]).toBe(metric.type);
      const labels = labelNames(name);
      if (labels.length === 0) expect(cells![2]).toBe('—');
      for (const label of labels) expect(cells![2]).toContain(`\`${label}\``);
      expect(cells![3].length).toBeGreaterThan(20);
    });
  });

  it('lists no metric that ballast does not register', () => {
    const documented = firstCells(metricsMd);
    expect(documented.length).toBe(own.length);
    for (const name of documented) expect(own.map((m) => m.name)).toContain(name);
  });

  it('uses only registered metrics in its PromQL examples', () => {
    const names = new Set(all.map((m) => m.name));
    const queries = codeBlocks(metricsMd, 'promql');
    expect(queries.length).toBeGreaterThanOrEqual(3);
    for (const q of queries) {
      for (const [used] of q.matchAll(/\bballast_[a-z0-9_]+/g)) {
        expect(names.has(used) || names.has(used.replace(/_(bucket|sum|count)$/, '')), used).toBe(true);
      }
    }
  });
});

describe('docs/configuration.md and the config schema', () => {
  const defaults = validate({});
  /** Leaf key paths of the defaulted config; lists are leaves (their entries have no defaults). */
  const leaves: [string, unknown][] = [];
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
    } else {
      leaves.push([path, value]);
    }
  };
  walk(defaults, '');
  const zoneShape = zoneSchema.entries;
  const zoneKeys = Object.keys(zoneShape);
  const settings = section(configurationMd, 'Settings');
  /** How a default is written in the table: strings bare, everything else as YAML flow / JSON. */
  const written = (v: unknown) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;

  it('walks the whole schema', () => {
    expect(leaves.length).toBeGreaterThan(20);
    expect(zoneKeys).toContain('name');
  });

  it.each(leaves)('%s has a row with its default %j', (path, value) => {
    const cells = row(settings, path);
    expect(cells, `docs/configuration.md has no row for ${path}`).toBeDefined();
    // The snapshot's default depends on the environment (defaultSnapshotPath); the row names the rule.
    expect(cells![2]).toBe(path === 'persistence.path' ? 'the state directory' : written(value));
    expect(cells![4].length).toBeGreaterThan(20);
  });

  it.each(zoneKeys)('zones[].%s has a row saying it is required or what it inherits', (key) => {
    const cells = row(settings, `zones[].${key}`);
    expect(cells, `docs/configuration.md has no row for zones[].${key}`).toBeDefined();
    const optional = safeParse(zoneShape[key as keyof typeof zoneShape], undefined).success;
    // Most zone settings default to the upstream section's; last known good to its own section's policy.
    const inherits = key === 'lastKnownGood' ? 'lastKnownGood.policy' : `upstream.${key}`;
    expect(cells![2]).toBe(optional ? `\`${inherits}\`` : '— (required)');
  });

  it('lists no setting that does not exist', () => {
    const known = new Set([...leaves.map(([p]) => p), ...zoneKeys.map((k) => `zones[].${k}`)]);
    const documented = firstCells(settings);
    // Optional settings without a default (chaos.tokenFile) are not among the defaults' leaves: such a row must
    // say `none` and the key must be accepted by the validator.
    const optional = documented.filter((key) => !known.has(key));
    for (const key of optional) {
      expect(row(settings, key)![2], key).toBe('none');
      const raw: Record<string, unknown> = {};
      const parts = key.split('.');
      let at = raw;
      for (const part of parts.slice(0, -1)) at = at[part] = {} as Record<string, unknown>;
      at[parts.at(-1)!] = '/some/file';
      expect(() => validate(raw), key).not.toThrow();
    }
    expect(documented.length).toBe(known.size + optional.length);
  });

  it('documents every flag of ballast serve', () => {
    // serve's flags; drill's are checked against docs/drills.md in test/e2e/drill.test.ts.
    const flags = SERVE_FLAGS.map((f) => f.name);
    expect(flags).toContain('config');
    const table = section(configurationMd, 'How settings are given');
    for (const flag of flags) expect(table).toContain(`\`--${flag}`);
  });

  it('has an example that is valid, complete and routes cluster.local over TCP', () => {
    const [example] = codeBlocks(section(configurationMd, 'Example'), 'yaml');
    const raw = parseYaml(example) as Record<string, unknown>;
    const config = validate(raw);
    const present: string[] = [];
    const collect = (value: unknown, path: string) => {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) collect(v, path ? `${path}.${k}` : k);
      } else {
        present.push(path);
      }
    };
    collect(raw, '');
    expect(present.sort()).toEqual(leaves.map(([p]) => p).sort());
    const cluster = config.zones.find((z) => z.name === 'cluster.local');
    expect(cluster).toMatchObject({ servers: ['10.96.0.10'], protocol: 'tcp' });
    expect(config.zones.length).toBeGreaterThan(1);
  });

  it('shows the exact error message that the example bad file produces', async () => {
    const errors = section(configurationMd, 'Errors');
    const [bad] = codeBlocks(errors, 'yaml');
    const shown = [...errors.matchAll(/^```\n(ballast: invalid configuration:\n[\s\S]*?)^```$/gm)].map((m) => m[1]);
    const output = shown.find((s) => !s.includes('KEY.PATH'));
    expect(output).toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), 'ballast-docs-'));
    try {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, bad);
      let message = '';
      try {
        loadConfig(file);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(`ballast: ${message}\n`).toBe(output);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('bench/README.md', () => {
  it('names every file of bench/: a script with its command, or a module', async () => {
    const readme = await readFile(new URL('bench/README.md', root), 'utf8');
    const [scriptsPart, modulesPart] = readme.split('\n## Modules\n');
    const files = (await readdir(new URL('bench/', root))).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const listed = scriptsPart.includes(`**\`${file}\`**`) || modulesPart.includes(`- \`${file}\``);
      expect(listed, `${file} is not in bench/README.md's Scripts or Modules`).toBe(true);
    }
  });
});

describe("README's Deploy on Kubernetes and the image test", () => {
  it('build the image with the same command: npm run image, which runs deploy/image/build.sh', async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8');
    const deploy = readme.slice(readme.indexOf('## Deploy on Kubernetes'), readme.indexOf('## Running it'));
    expect(deploy).toContain('IMAGE=REGISTRY/ballast:TAG npm run image');
    const pkg = JSON.parse(await readFile(new URL('package.json', root), 'utf8'));
    expect(pkg.scripts.image).toBe('bash deploy/image/build.sh');
    const helper = await readFile(new URL('test/image/podman.ts', root), 'utf8');
    expect(helper).toContain("join(ROOT, 'deploy', 'image', 'build.sh')");
    expect(helper).toContain('IMAGE: image');
  });
});

describe('what the docs and the help claim', () => {
  it('names only metrics that exist, in every doc and the README', async () => {
    const names = new Set(all.map((m) => m.name));
    const files = [
      'README.md',
      ...(await readdir(new URL('docs/', root))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
    ];
    const unknown: string[] = [];
    for (const file of files) {
      const text = await readFile(new URL(file, root), 'utf8');
      // A metric name in backticks or in PromQL; a name ending in _ or * is a family (ballast_nodejs_*).
      for (const m of text.matchAll(/\bballast_[a-z0-9_]+\b(?![*{-])/g)) {
        const name = m[0].replace(/_(bucket|sum|count)$/, '');
        if (!names.has(name) && !name.endsWith('_') && !names.has(`${name}_total`)) unknown.push(`${file}: ${m[0]}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('says, as the code does, that every chaos endpoint needs the token and that forwarding loops are detected', async () => {
    const { DRILL_HELP } = await import('../../src/drill/index.js');
    expect(DRILL_HELP).not.toMatch(/loopback-only/);
    expect(DRILL_HELP).toMatch(
      /--token-file FILE\s+bearer token of the target's chaos endpoints \(every fault needs it\)/,
    );
    const migrating = await readFile(new URL('docs/migrating-from-nodelocaldns.md', root), 'utf8');
    expect(migrating).not.toMatch(/does not detect forwarding loops/);
    expect(migrating).toContain('`ballast_upstream_loop_detected`');
    expect(all.map((m) => m.name)).toContain('ballast_upstream_loop_detected');
  });
});
