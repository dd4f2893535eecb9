// A worker thread of bench/fleet.js: runs the jobs it is sent, one at a time, and posts each result back.

import { parentPort } from 'node:worker_threads';
import { runFleet } from './run.js';

parentPort.on('message', async (job) => {
  try {
    parentPort.postMessage({ id: job.id, result: await runFleet(job.opts) });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: err?.stack ?? String(err) });
  }
});
