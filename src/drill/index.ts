export * from './cli.js';
export * from './html.js';
export * from './options.js';
export * from './run.js';
export * from './summary.js';
