// A worker thread of the simulation (cli.ts): runs the jobs it is sent, one at a time, and posts each result back.
import { parentPort } from 'node:worker_threads';
import { type FleetOptions, runFleet } from './run.js';

parentPort!.on('message', async (job: { id: number; opts: FleetOptions }) => {
  try {
    parentPort!.postMessage({ id: job.id, result: await runFleet(job.opts) });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error)?.stack ?? String(err) });
  }
});
