// The built CLI as an operator runs it: bad config and bad flags exit 2 before anything binds; --help and --version.
// Every config here either fails validation or names 127.0.0.1 upstreams, so nothing is forwarded off the machine.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVE_FLAGS } from '../../src/config/index.js';
import { ensureBuilt } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(root, 'node_modules/.bin/node');
const BIN = join(root, 'bin/ballast.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ballast ARGS` to completion. */
function ballast(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'ballast-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('ballast serve with a bad configuration', () => {
  it('exits 2 and names every bad key, its value and what is allowed, without starting', async () => {
    const file = await configFile(
      'bad.yaml',
      "upstream:\n  servers: ['127.0.0.1:9']\n  policy: fastest\ncache:\n  maxEntries: 0\n  maxTTLSeconds: 60\n",
    );
    const run = await ballast(['serve', '--config', file, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('ballast: invalid configuration:');
    expect(run.stderr).toContain(
      'upstream.policy: got "fastest"; expected one of "random", "round_robin", "sequential"',
    );
    expect(run.stderr).toContain('cache.maxEntries: got 0;');
    expect(run.stderr).toContain('expected an integer from 1 to 10000000');
    expect(run.stderr).toContain('cache: unknown key(s) "maxTTLSeconds"');
    expect(run.stdout).not.toContain('ballast started');
  });

  it("exits 2 naming the flag's key path for a bad flag value", async () => {
    const run = await ballast([
      'serve',
      '--upstream',
      '127.0.0.1:9',
      '--listen',
      '127.0.0.1',
      '--admin',
      '127.0.0.1:0',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('listen.0: got "127.0.0.1"');
  });

  it('exits 2 for --zone without =', async () => {
    const run = await ballast(['serve', '--upstream', '127.0.0.1:9', '--zone', 'cluster.local']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--zone "cluster.local": expected ZONE=HOST:PORT');
  });

  it('exits 2 for a config file that does not exist', async () => {
    const missing = join(dir, 'missing.yaml');
    const run = await ballast(['serve', '--config', missing]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read config file ${missing}`);
  });

  it('exits 2 naming upstream.servers when no server is given and resolv.conf lists none', async () => {
    const resolv = await configFile('resolv.conf', '# nameserver 127.0.0.2\nsearch example.com\n');
    const file = await configFile('no-upstream.yaml', `upstream:\n  resolvConf: ${resolv}\n`);
    const run = await ballast(['serve', '--config', file, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`upstream.servers: got []; expected at least one server, and ${resolv} lists`);
  });
});

describe('ballast command line', () => {
  it('--help exits 0 and lists every flag the parser accepts', async () => {
    // The flags of `serve`; `ballast drill` has its own table and help, checked in test/e2e/drill.test.ts.
    const flags = SERVE_FLAGS.map((f) => f.name);
    expect(flags).toEqual(expect.arrayContaining(['listen', 'upstream', 'zone', 'admin', 'config', 'log-level']));
    const run = await ballast(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage:');
    for (const flag of flags) expect(run.stdout).toContain(`--${flag}`);
    expect(run.stdout).toContain('-h, --help');
    expect(run.stdout).toContain('-v, --version');
  });

  it.each([['--version'], ['-v']])('%s prints the version from package.json', async (flag) => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    const run = await ballast([flag]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`ballast ${pkg.version}\n`);
  });

  it('exits 2 on an unknown flag with one line naming it and what is allowed', async () => {
    const run = await ballast(['serve', '--bogus']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `ballast serve: unknown flag --bogus; allowed: ${SERVE_FLAGS.map((f) => `--${f.name}`).join(', ')}\n`,
    );
  });

  it.each([
    [[], 'ballast: no command; expected serve or drill (ballast --help)'],
    [['frobnicate'], 'ballast: unknown command "frobnicate"; expected serve or drill (ballast --help)'],
    [['serve', 'extra'], 'ballast serve: unexpected argument "extra"'],
  ])('exits 2 with one line for %j', async (args, line) => {
    const run = await ballast(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${line}\n`);
  });

  it('exits 2 with one line for a flag without its value', async () => {
    const run = await ballast(['serve', '--listen']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('ballast serve: --listen needs a value (see ballast serve --help)\n');
  });
});

describe('ballast serve on an address it cannot have', () => {
  it('exits 2 with one line naming a DNS address in use and --listen, and an admin address and --admin', async () => {
    // Taken by this test: a UDP socket on the DNS address, a TCP server on the admin address (port 0 each).
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    const dnsPort = udp.address().port;
    const adminPort = (tcp.address() as AddressInfo).port;
    const snapshot = ['--snapshot', join(dir, 'busy.snapshot'), '--upstream', '127.0.0.1:9'];
    try {
      const dns = await ballast(['serve', '--listen', `127.0.0.1:${dnsPort}`, '--admin', '127.0.0.1:0', ...snapshot]);
      expect(dns.code).toBe(2);
      expect(dns.stderr).toBe(
        `ballast: cannot listen on 127.0.0.1:${dnsPort}: another program is using it; choose another address with ` +
          '--listen HOST:PORT (listen)\n',
      );
      const admin = await ballast([
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--admin',
        `127.0.0.1:${adminPort}`,
        ...snapshot,
      ]);
      expect(admin.code).toBe(2);
      expect(admin.stderr).toBe(
        `ballast: cannot listen on 127.0.0.1:${adminPort}: another program is using it; choose another address with ` +
          '--admin HOST:PORT (admin.listen)\n',
      );
      // No stack trace and no "cannot start" line on stdout either.
      expect(`${dns.stdout}${admin.stdout}`).not.toContain('cannot start');
    } finally {
      udp.close();
      await new Promise((r) => tcp.close(r));
    }
  });
});

describe('ballast serve without --snapshot', () => {
  it("states where its snapshot goes and writes it there: the user's state directory, not /var/lib", async () => {
    const home = await mkdtemp(join(tmpdir(), 'ballast-home-'));
    const env = { PATH: process.env.PATH, HOME: home };
    const child = spawn(
      NODE,
      [BIN, 'serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--upstream', '127.0.0.1:9'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await until(() => out.includes('"msg":"ballast started"'), 'ballast to start');
      const expected = join(home, '.local', 'state', 'ballast', 'cache.snapshot');
      expect(out).toContain(`"snapshot":"${expected}"`);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect((await readFile(expected)).length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
      await rm(home, { recursive: true, force: true });
    }
  });
});
