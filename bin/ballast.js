#!/usr/bin/env node
// The one way ballast starts: `npx ballast`, `npm start`, systemd units and the image's ENTRYPOINT all run this file.
// It first makes the process lean (bin/lean.js): when settings are missing it replaces itself, same PID, with
// `node LEAN-FLAGS… bin/ballast.js ARGS…` under the lean environment, before ballast is loaded.
import { leanRelaunch } from './lean.js';

const args = process.argv.slice(2);
// `ballast drill` is a client that runs for a minute or two; only the server is made lean.
const relaunch = args[0] === 'drill' ? undefined : leanRelaunch(process.execArgv, process.env);
if (relaunch !== undefined && typeof process.execve === 'function') {
  const argv = [process.execPath, ...relaunch.flags, ...process.execArgv, ...process.argv.slice(1)];
  try {
    process.execve(process.execPath, argv, relaunch.env);
  } catch (err) {
    // Runs on, without the lean settings, rather than not at all.
    process.stderr.write(`ballast: could not re-run lean (${err?.code ?? err}); memory use will be higher\n`);
  }
}

const { main } = await import('../dist/bundle.js');
main(args).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`ballast: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
