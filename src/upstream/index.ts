export * from './health.js';
export * from './metrics.js';
export * from './rtt.js';
export * from './select.js';
export * from './transport.js';
export * from './upstream.js';
export * from './zones.js';
