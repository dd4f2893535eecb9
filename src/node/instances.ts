import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { BallastError } from '../errors.js';

/**
 * Which ballast instances run on this node, and a node-wide lock, both as Unix sockets in one shared directory
 * (a hostPath, /run/ballast by default).
 *
 * Each instance listens on `instance-ID.sock` for as long as it runs. Another instance checks it by connecting:
 * the kernel accepts the connection while the owner lives and refuses it (ECONNREFUSED) the moment the owner is
 * gone, however it died (SIGKILL and OOMKill included), so a dead instance can never keep the rules alive. This
 * works across pods: a PID and /proc/PID/stat would not, because each pod has its own PID namespace.
 *
 * `node.lock` is a socket too: whoever holds it listening owns the lock; a refused connection means its holder
 * died, and the file is taken over. Setup, resync and teardown run under it, so a new instance never sets up
 * while an old one is halfway through tearing down.
 */

export interface InstanceInfo {
  readonly id: string;
  readonly pid: number;
  /** The pod's name (env POD_NAME, from the downward API), when set. */
  readonly pod?: string;
  /** When the instance started (ISO 8601). */
  readonly startedAt: string;
}

export class InstanceError extends BallastError {
  override readonly code = 'BALLAST_NODE_INSTANCE';
}

const PROBE_TIMEOUT_MS = 1000;
const LOCK_RETRY_MS = 100;
/** sun_path is 108 bytes on Linux, with a terminating NUL. */
const MAX_SOCKET_PATH = 107;

type Probe = { state: 'alive'; info?: InstanceInfo } | { state: 'dead' } | { state: 'gone' };

/** Connects to a socket file: alive (answered or still connecting at the timeout), dead (refused), gone. */
function probe(path: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Probe> {
  return new Promise((resolve) => {
    let connected = false;
    let text = '';
    const socket = connect(path);
    socket.setEncoding('utf8');
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ state: 'alive' });
    }, timeoutMs);
    const done = (p: Probe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(p);
    };
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 4096) done({ state: 'alive' });
    });
    socket.on('end', () => {
      let info: InstanceInfo | undefined;
      try {
        info = JSON.parse(text) as InstanceInfo;
      } catch {
        info = undefined;
      }
      done({ state: 'alive', info });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) return done({ state: 'alive' });
      if (err.code === 'ECONNREFUSED') return done({ state: 'dead' });
      if (err.code === 'ENOENT') return done({ state: 'gone' });
      // Anything else (EACCES, ...) cannot prove the owner is gone: count it as alive, the safe side for handover.
      done({ state: 'alive' });
    });
  });
}

/** Listens on a socket file, answering every connection with one line of JSON and closing it. */
function listen(path: string, info: InstanceInfo): Promise<Server> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    return Promise.reject(
      new InstanceError(`${path}: longer than the ${MAX_SOCKET_PATH} bytes a socket path may have`),
    );
  }
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.end(`${JSON.stringify(info)}\n`);
    });
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      server.unref();
      resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function inode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch {
    return undefined;
  }
}

export class InstanceDir {
  private server: Server | undefined;
  readonly info: InstanceInfo;

  constructor(
    readonly dir: string,
    info: Omit<InstanceInfo, 'startedAt'> & { startedAt?: string },
  ) {
    const startedAtMs = Date.now();
    const given = info.startedAt;
    // Formatted when a peer asks, not at start: the first Date formatting in a process maps in V8's date and time-zone
    // code, about 0.9 MiB of resident memory that a node cache otherwise never needs (docs/performance.md §2).
    this.info = {
      ...info,
      get startedAt() {
        return given ?? new Date(startedAtMs).toISOString();
      },
    };
  }

  get path(): string {
    return join(this.dir, `instance-${this.info.id}.sock`);
  }

  get registered(): boolean {
    return this.server !== undefined;
  }

  /** Announces this instance until {@link unregister} or death. */
  async register(): Promise<void> {
    if (this.server !== undefined) return;
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await unlink(this.path).catch(() => {});
    this.server = await listen(this.path, this.info);
  }

  /** The file goes first, then the socket: no other instance can see this one as alive afterwards. */
  async unregister(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await unlink(this.path).catch(() => {});
    await closeServer(server);
  }

  /** The other live instances. Files left by dead ones are removed on the way. */
  async others(): Promise<InstanceInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const own = `instance-${this.info.id}.sock`;
    const live: InstanceInfo[] = [];
    for (const name of names) {
      if (name === own || !/^instance-.+\.sock$/.test(name)) continue;
      const path = join(this.dir, name);
      const before = await inode(path);
      const p = await probe(path);
      if (p.state === 'alive') {
        live.push(p.info ?? { id: name.slice('instance-'.length, -'.sock'.length), pid: 0, startedAt: 'unknown' });
      } else if (p.state === 'dead' && before !== undefined && (await inode(path)) === before) {
        await unlink(path).catch(() => {});
      }
    }
    return live;
  }

  /**
   * Takes the node-wide lock, waiting up to `timeoutMs`; resolves to its release. A holder that died is detected
   * by a refused connection and its file is taken over. Throws InstanceError when the wait runs out.
   */
  async lock(timeoutMs: number): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const path = join(this.dir, 'node.lock');
    const deadline = Date.now() + timeoutMs;
    let holder: InstanceInfo | undefined;
    for (;;) {
      try {
        const server = await listen(path, this.info);
        const ino = await inode(path);
        return async () => {
          // Unlink before close: while the socket listens, nobody else can have replaced the file.
          if (ino !== undefined && (await inode(path)) === ino) await unlink(path).catch(() => {});
          await closeServer(server);
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
      const before = await inode(path);
      const p = await probe(path);
      if (p.state === 'dead') {
        // Same file as before the probe: its holder died. Take it over.
        if (before !== undefined && (await inode(path)) === before) await unlink(path).catch(() => {});
        continue;
      }
      if (p.state === 'gone') continue;
      holder = p.info ?? holder;
      if (Date.now() >= deadline) {
        const by = holder
          ? ` (held by instance ${holder.id}, pid ${holder.pid}${holder.pod ? `, pod ${holder.pod}` : ''})`
          : '';
        throw new InstanceError(`timed out after ${timeoutMs} ms waiting for ${path}${by}`);
      }
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
    }
  }
}
