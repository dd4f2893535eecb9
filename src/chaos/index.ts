export * from './admin.js';
export * from './faults.js';
