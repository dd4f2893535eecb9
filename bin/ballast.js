#!/usr/bin/env node
// Thin launcher so `npx ballast` works from a checkout after `npm ci` (which builds dist/ in `prepare`).
import { main } from '../dist/bundle.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`ballast: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
