// The CLI, e2e, drill and image tests run the built program (bin/ballast.js → dist/bundle.js), as an operator would.
// dist/ and the bundle are built here, once, before any test file starts, when missing or older than src/: a build
// inside a test file would rewrite dist/ while another file's child process is loading it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleIsFresh, distIsFresh } from '../helpers/build.js';

export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  if (!distIsFresh()) {
    // tsc emits even when another part of the tree has a type error (that is `npm run typecheck`'s job).
    const build = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], {
      encoding: 'utf8',
    });
    if (!distIsFresh()) throw new Error(`building dist/ failed:\n${build.stdout}${build.stderr}`);
  }
  if (!bundleIsFresh()) {
    // package.json's `bundle` script: the one place the bundle's esbuild options are written.
    const bundle = spawnSync('npm', ['run', '--silent', 'bundle'], { cwd: root, encoding: 'utf8' });
    if (!bundleIsFresh()) throw new Error(`bundling dist/bundle.js failed:\n${bundle.stdout}${bundle.stderr}`);
  }
}
