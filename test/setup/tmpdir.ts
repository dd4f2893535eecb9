// Every temporary file a test run makes — the tests' own folders, the ballast and BIND processes they start, the
// snapshots those write — lands under one folder made for the run, and the folder goes when the run ends, so a run
// leaves nothing behind in /tmp even when a test fails half-way. Workers and child processes inherit TMPDIR.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'ballast-test-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
