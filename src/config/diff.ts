import { isDeepStrictEqual } from 'node:util';
import type { Config } from './schema.js';

/** The top-level sections that differ between two validated configs, in schema order (for the reload log line). */
export function changedSections(previous: Config, next: Config): (keyof Config)[] {
  return (Object.keys(next) as (keyof Config)[]).filter((k) => !isDeepStrictEqual(previous[k], next[k]));
}

/** Whether the part of the config that `pick` selects is equal in both (a component built from it can be kept). */
export function samePart(previous: Config | undefined, next: Config, pick: (c: Config) => unknown): boolean {
  return previous !== undefined && isDeepStrictEqual(pick(previous), pick(next));
}
