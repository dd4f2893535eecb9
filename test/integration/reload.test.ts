// Hot reload (docs/design.md §7): new settings apply without dropping the cache.
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validate } from '../../src/config/index.js';
import { type Running, startBallast } from '../helpers/ballast.js';
import { type CliProcess, startCli } from '../helpers/cli.js';
import { header, Packet, query } from '../helpers/client.js';
import { a, type FakeUpstream, startFakeUpstream } from '../helpers/upstream.js';
import { until } from '../helpers/wait.js';

const A = Packet.TYPE.A;
const records = (address: string) => ({
  'cached.test/1': [a('cached.test', address)],
  'new.test/1': [a('new.test', address)],
});

describe('reload, in process', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  const upstream = async (address: string) => {
    const u = await startFakeUpstream({ records: records(address) });
    cleanup.push(() => u.close());
    return u;
  };
  const ballast = async (servers: string[]): Promise<Running> => {
    const b = await startBallast({ upstream: { servers } });
    cleanup.push(() => b.close());
    return b;
  };

  it('new queries go to the new upstream; cached names keep answering from cache, with no upstream query', async () => {
    const one = await upstream('192.0.2.1');
    const two = await upstream('192.0.2.2');
    const b = await ballast([one.address]);
    await query(b.port, 'cached.test', A);
    const base = b.ballast.currentConfig;
    const changed = await b.ballast.reload(
      validate({ ...base, upstream: { ...base.upstream, servers: [two.address] } }),
    );
    expect(changed).toEqual(['upstream']);

    const cached = await query(b.port, 'cached.test', A);
    expect(cached.packet.answers[0].address).toBe('192.0.2.1');
    const fresh = await query(b.port, 'new.test', A);
    expect(fresh.packet.answers[0].address).toBe('192.0.2.2');
    expect(one.count()).toBe(1); // only the first cached.test
    expect(two.count()).toBe(1); // only new.test
    expect(b.ballast.cache.entries).toBe(2);
    expect(await b.metric('ballast_config_reloads_total', { result: 'success' })).toBe(1);
  });

  it('opens added listen addresses and closes removed ones; cache bounds shrink without a flush', async () => {
    const one = await upstream('192.0.2.1');
    const b = await ballast([one.address]);
    await query(b.port, 'cached.test', A);
    await query(b.port, 'new.test', A);
    const base = b.ballast.currentConfig;
    await b.ballast.reload(
      validate({ ...base, listen: [...base.listen, '127.0.0.2:0'], cache: { ...base.cache, maxEntries: 1 } }),
    );
    const added = b.ballast.addresses!.udp[1];
    expect(added.host).toBe('127.0.0.2');
    const r = await query(added.port, 'new.test', A, {}, added.host);
    expect(header(r.raw).rcode).toBe(0);
    expect(b.ballast.cache.entries).toBe(1); // the most recently used one is kept
    expect(one.count('new.test')).toBe(1);

    await b.ballast.reload(validate({ ...b.ballast.currentConfig, listen: base.listen }));
    expect(b.ballast.addresses!.udp).toHaveLength(1);
    await expect(query(added.port, 'new.test', A, {}, added.host, 300)).rejects.toThrow();
  });
});

describe('reload, over the CLI', () => {
  let one: FakeUpstream;
  let two: FakeUpstream;
  let cli: CliProcess | undefined;
  afterEach(async () => {
    await cli?.stop('SIGKILL');
    await one?.close();
    await two?.close();
  });

  it('SIGHUP with a bad value changes nothing and says why; a ConfigMap-style swap applies the new upstream', async () => {
    one = await startFakeUpstream({ records: records('192.0.2.1') });
    two = await startFakeUpstream({ records: records('192.0.2.2') });
    // A ConfigMap volume: config.yaml → ..data/config.yaml, ..data → ..2026_a (a directory swapped atomically).
    const dir = mkdtempSync(join(tmpdir(), 'ballast-cm-'));
    const version = (name: string, yaml: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'config.yaml'), yaml);
    };
    const swap = (name: string) => {
      symlinkSync(name, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    };
    version('..v1', `upstream:\n  servers: ['${one.address}']\n`);
    swap('..v1');
    symlinkSync('..data/config.yaml', join(dir, 'config.yaml'));
    cli = await startCli(['--config', join(dir, 'config.yaml')]);
    await query(cli.port, 'cached.test', A);

    // An invalid value in the file, then SIGHUP: rejected, named, nothing changes.
    writeFileSync(join(dir, '..v1', 'config.yaml'), `upstream:\n  servers: ['${two.address}']\n  timeoutMs: -1\n`);
    cli.child.kill('SIGHUP');
    await until(() => cli!.output().includes('config rejected'), 'the rejection');
    expect(cli.output()).toContain('upstream.timeoutMs: got -1');
    const stillOld = await query(cli.port, 'new.test', A);
    expect(stillOld.packet.answers[0].address).toBe('192.0.2.1');

    // A good config arrives the way kubelet delivers it; no signal needed.
    version('..v2', `upstream:\n  servers: ['${two.address}']\n`);
    swap('..v2');
    await until(() => cli!.output().includes('"msg":"config reloaded"'), 'the reload');
    expect(cli.output()).toContain('"trigger":"file changed"');
    const cached = await query(cli.port, 'cached.test', A);
    expect(cached.packet.answers[0].address).toBe('192.0.2.1'); // from cache
    await query(cli.port, 'other.test', A);
    expect(two.count('other.test')).toBe(1);
    expect(one.count('other.test')).toBe(0);
    expect(two.count('cached.test')).toBe(0);
  });
});
