// The handover check and the node lock: Unix sockets in a shared directory, alive exactly as long as their owner.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { InstanceDir, InstanceError } from '../../src/node/index.js';
import { until } from '../helpers/wait.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ballast-inst-'));
  dirs.push(d);
  return d;
}

/** A process listening on `path` until SIGKILLed: an instance or lock holder that dies without cleaning up. */
function holder(path: string): Promise<ChildProcess> {
  const script = `const info = JSON.stringify({ id: 'child', pid: process.pid, startedAt: 'x' });
    require('node:net').createServer((s) => s.end(info + '\\n')).listen(process.argv[1], () => console.log('ready'))`;
  const child = spawn(process.execPath, ['-e', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve) => child.stdout!.once('data', () => resolve(child)));
}

const kill = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

describe('InstanceDir', () => {
  it('shows each registered instance to the others, with its details, until it unregisters', async () => {
    const d = dir();
    const a = new InstanceDir(d, { id: 'a', pid: 11, pod: 'ballast-a' });
    const b = new InstanceDir(d, { id: 'b', pid: 22 });
    expect(await a.others()).toEqual([]);
    await a.register();
    await b.register();
    expect(await readdir(d)).toEqual(expect.arrayContaining(['instance-a.sock', 'instance-b.sock']));
    expect(await b.others()).toEqual([{ id: 'a', pid: 11, pod: 'ballast-a', startedAt: a.info.startedAt }]);
    // The start time goes out as ISO 8601, formatted when a peer asks (instances.ts).
    expect(a.info.startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((await a.others()).map((o) => o.id)).toEqual(['b']);
    await a.unregister();
    expect(await b.others()).toEqual([]);
    expect(await readdir(d)).toEqual(['instance-b.sock']);
    await b.unregister();
    await b.unregister();
    expect(await readdir(d)).toEqual([]);
  });

  it('treats a killed instance as gone and removes its file', async () => {
    const d = dir();
    const child = await holder(join(d, 'instance-child.sock'));
    const me = new InstanceDir(d, { id: 'me', pid: 1 });
    expect((await me.others()).map((o) => o.id)).toEqual(['child']);
    await kill(child);
    expect(await me.others()).toEqual([]);
    expect(await readdir(d)).toEqual([]);
  });

  it('treats a leftover file that is not a socket as gone; ignores files that are not instances', async () => {
    const d = dir();
    writeFileSync(join(d, 'instance-old.sock'), '');
    writeFileSync(join(d, 'cache.snapshot'), '');
    expect(await new InstanceDir(d, { id: 'me', pid: 1 }).others()).toEqual([]);
    expect(await readdir(d)).toEqual(['cache.snapshot']);
  });

  it('creates the directory, and lists nothing in one that does not exist', async () => {
    const d = join(dir(), 'run', 'ballast');
    const me = new InstanceDir(d, { id: 'me', pid: 1 });
    expect(await me.others()).toEqual([]);
    await me.register();
    expect(await readdir(d)).toEqual(['instance-me.sock']);
    await me.unregister();
  });

  it('refuses a socket path the kernel cannot hold', async () => {
    const me = new InstanceDir(join(dir(), 'x'.repeat(100)), { id: 'me', pid: 1 });
    await expect(me.register()).rejects.toBeInstanceOf(InstanceError);
  });
});

describe('the node lock', () => {
  it('is held by one at a time; the other waits, and times out naming the holder', async () => {
    const d = dir();
    const a = new InstanceDir(d, { id: 'a', pid: 11 });
    const b = new InstanceDir(d, { id: 'b', pid: 22 });
    const release = await a.lock(1000);
    await expect(b.lock(300)).rejects.toThrow(/timed out after 300 ms .*held by instance a, pid 11/);
    // A waiter asks the holder who it is (the holder writes its details, start time included, to every connection):
    // one more question to a is the sign b found the lock held and is waiting.
    const asked = vi.spyOn(a.info, 'startedAt', 'get');
    let settled = false;
    const waiting = b.lock(5000).finally(() => (settled = true));
    await until(() => asked.mock.calls.length > 0, 'b to find the lock held');
    expect(settled).toBe(false);
    await release();
    const releaseB = await waiting;
    await releaseB();
    expect(await readdir(d)).toEqual([]);
  });

  it('is taken over from a holder that was killed', async () => {
    const d = dir();
    const child = await holder(join(d, 'node.lock'));
    const me = new InstanceDir(d, { id: 'me', pid: 1 });
    await expect(me.lock(200)).rejects.toBeInstanceOf(InstanceError);
    await kill(child);
    const release = await me.lock(200);
    await release();
  });
});
