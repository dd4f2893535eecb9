import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The newest modification time of any file in src/. */
function newestSource(): number {
  return (readdirSync(`${root}src`, { recursive: true }) as string[])
    .map((f) => statSync(`${root}src/${f}`).mtimeMs)
    .reduce((a, b) => Math.max(a, b), 0);
}

/** Whether `file` (under dist/) exists and is at least as new as every file in src/. */
function fresh(file: string): boolean {
  const built = `${root}dist/${file}`;
  return existsSync(built) && statSync(built).mtimeMs >= newestSource();
}

/** Whether tsc's output in dist/ is at least as new as every file in src/. */
export function distIsFresh(): boolean {
  return fresh('cli.js');
}

/** Whether dist/bundle.js, the file bin/ballast.js runs, is at least as new as every file in src/. */
export function bundleIsFresh(): boolean {
  return fresh('bundle.js');
}
