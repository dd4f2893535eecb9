// The CLI, e2e, drill and fleet tests run the built program (bin/ballast.js → dist/), as an operator would. dist/ is
// built here, once, before any test file starts, when it is missing or older than src/: a build inside a test file
// would rewrite dist/ while another file's child process is loading it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsFresh } from '../helpers/build.js';

export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  if (distIsFresh()) return;
  // tsc emits even when another part of the tree has a type error (that is `npm run typecheck`'s job).
  const build = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], {
    encoding: 'utf8',
  });
  if (!distIsFresh()) throw new Error(`building dist/ failed:\n${build.stdout}${build.stderr}`);
}
