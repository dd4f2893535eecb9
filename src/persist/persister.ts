import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { DnsCache } from '../cache/index.js';
import type { Clock, Timer } from '../util/clock.js';
import type { PersistMetrics } from './metrics.js';
import { loadSnapshot, readSnapshotFile, SnapshotError, writeSnapshot } from './snapshot.js';

export interface PersistOptions {
  readonly path: string;
  readonly intervalMs: number;
  /** Largest snapshot written or read. */
  readonly maxBytes: number;
}

/**
 * Keeps the cache across restarts (docs/design.md §7): loads the snapshot before the listeners open, writes it every
 * interval and once more at shutdown. A bad file is reported and ignored; a failed write is reported and retried at
 * the next interval. Neither ever stops ballast from serving.
 */
export class Persister {
  private timer: Timer | undefined;
  private writing: Promise<boolean> | undefined;
  /** Why the last write failed, so a path that stays unwritable is reported once, not at every interval. */
  private lastProblem: string | undefined;

  constructor(
    private readonly cache: DnsCache,
    private opts: PersistOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: PersistMetrics,
  ) {}

  /** Loads the snapshot into the cache; returns how many entries were restored. Never throws. */
  load(): number {
    const started = performance.now();
    try {
      const now = this.clock.now();
      const data = readSnapshotFile(this.opts.path, this.opts.maxBytes);
      const { restored, total, writtenAtMs } = loadSnapshot(this.cache, data, now);
      const seconds = (performance.now() - started) / 1000;
      this.metrics.loads.labels('success').inc();
      this.metrics.entries.set(restored);
      this.metrics.loadDuration.set(seconds);
      this.log.info(
        {
          path: this.opts.path,
          restored,
          skipped: total - restored,
          ageSeconds: Math.round((now - writtenAtMs) / 1000),
          seconds,
        },
        'snapshot loaded',
      );
      return restored;
    } catch (err) {
      if (err instanceof SnapshotError) {
        this.metrics.loads.labels(err.problem).inc();
        if (err.problem === 'missing') this.log.info({ path: this.opts.path }, 'no snapshot to load; starting cold');
        else
          this.log.warn(
            { path: this.opts.path, problem: err.problem, reason: err.message },
            'snapshot ignored; starting cold',
          );
      } else {
        this.metrics.loads.labels('failure').inc();
        this.log.warn({ path: this.opts.path, err }, 'snapshot unreadable; starting cold');
      }
      return 0;
    }
  }

  /**
   * Writes the snapshot now. Never rejects; resolves with whether it was written. Entries stream from the arena to
   * the file a slice at a time with asynchronous I/O in between, so queries keep being answered while it runs and
   * the write holds one slice in memory, not a copy of the cache. One write at a time.
   */
  write(): Promise<boolean> {
    this.writing ??= this.writeOnce().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async writeOnce(): Promise<boolean> {
    try {
      await mkdir(dirname(this.opts.path), { recursive: true });
      const { bytes, count, complete } = await writeSnapshot(
        this.cache,
        this.opts.path,
        this.clock.now(),
        this.opts.maxBytes,
      );
      this.metrics.writes.labels('success').inc();
      this.lastProblem = undefined;
      this.metrics.lastWrite.set(this.clock.now() / 1000);
      this.metrics.size.set(bytes);
      this.metrics.entries.set(count);
      if (!complete)
        this.log.warn(
          { path: this.opts.path, count, maxBytes: this.opts.maxBytes },
          'snapshot capped at persistence.maxBytes',
        );
      this.log.debug({ path: this.opts.path, count, bytes }, 'snapshot written');
      return true;
    } catch (err) {
      this.metrics.writes.labels('failure').inc();
      this.reportProblem(err, 'snapshot write failed');
      return false;
    }
  }

  /**
   * One warning line per distinct problem, with the way out: on a laptop the default path (a hostPath in the
   * DaemonSet) is usually not writable, and that is worth a line, not a stack trace every minute.
   */
  private reportProblem(err: unknown, msg: string): void {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    if (reason === this.lastProblem) {
      this.log.debug({ path: this.opts.path, reason }, msg);
      return;
    }
    this.lastProblem = reason;
    const hint = 'choose a writable path with --snapshot PATH (persistence.path), or set persistence.enabled: false';
    this.log.warn(
      { path: this.opts.path, reason: (err as Error).message, hint },
      `${msg}; the cache will not survive a restart`,
    );
  }

  /** Checks now that the snapshot's folder can be written (so a bad path is reported at start), then writes every interval until stop(). */
  start(): void {
    void this.checkWritable();
    this.schedule();
  }

  private async checkWritable(): Promise<void> {
    const dir = dirname(this.opts.path);
    try {
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK);
    } catch (err) {
      this.reportProblem(err, 'snapshot path is not writable');
    }
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(() => {
      void this.write();
      if (this.timer !== undefined) this.schedule();
    }, this.opts.intervalMs);
  }

  /** New path, interval or bound (a config reload); a running interval restarts with the new period. */
  configure(opts: PersistOptions): void {
    const restart = this.timer !== undefined && opts.intervalMs !== this.opts.intervalMs;
    this.opts = opts;
    if (restart) {
      this.stop();
      this.schedule();
    }
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
