export * from './metrics.js';
export * from './select.js';
export * from './upstream.js';
export * from './zones.js';
