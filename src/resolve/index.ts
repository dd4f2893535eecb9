export * from './budget.js';
export * from './failures.js';
export * from './forward.js';
export * from './handler.js';
export * from './limits.js';
export * from './metrics.js';
