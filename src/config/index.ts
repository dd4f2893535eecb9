export * from './checks.js';
export * from './diff.js';
export * from './flags.js';
export * from './load.js';
export * from './metrics.js';
export * from './report.js';
export * from './schema.js';
export * from './watch.js';
