export * from './context.js';
export * from './parts.js';
export * from './routing.js';
export * from './settings.js';
