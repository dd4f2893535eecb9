import { type LevelWithSilent, type Logger, pino } from 'pino';

/**
 * The one root logger: JSON lines on stdout. Components take `log.child({ component })`. Nothing is
 * logged per query at info; state changes are.
 */
export function createLogger(level: LevelWithSilent, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { app: 'ballast' } }, destination ?? pino.destination({ fd: 1, sync: false }));
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
