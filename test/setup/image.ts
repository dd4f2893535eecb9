// The image tests (test/image) run the image `npm run image` builds. It is built here, before any test file starts,
// when those tests are part of the run and can run on this machine (root, podman): a build during the run would take
// the CPU from tests that answer in real time. Once built, a rebuild is a cache hit of a few seconds.
import type { TestProject } from 'vitest/node';
import { buildImage, imageEnvironment } from '../image/podman.js';

declare module 'vitest' {
  export interface ProvidedContext {
    image: { image: string; report: string } | null;
  }
}

/** Whether this run includes test/image: a full run, or file filters naming it. */
function selected(): boolean {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== 'run' && a !== 'watch');
  return args.length === 0 || args.some((a) => 'test/image/image.test.ts'.includes(a) || a.includes('image'));
}

export default async function setup(project: TestProject): Promise<void> {
  const environment = await imageEnvironment();
  const build = selected() && environment.skip === undefined && environment.fail === undefined;
  project.provide('image', build ? await buildImage() : null);
}
