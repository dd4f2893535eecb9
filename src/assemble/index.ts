export * from './parts.js';
export * from './routing.js';
export * from './settings.js';
