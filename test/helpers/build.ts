import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Whether dist/ exists and is at least as new as every file in src/. */
export function distIsFresh(): boolean {
  const built = `${root}dist/cli.js`;
  if (!existsSync(built)) return false;
  const newest = (readdirSync(`${root}src`, { recursive: true }) as string[])
    .map((f) => statSync(`${root}src/${f}`).mtimeMs)
    .reduce((a, b) => Math.max(a, b), 0);
  return statSync(built).mtimeMs >= newest;
}
