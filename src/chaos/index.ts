export * from './admin.js';
export * from './drill.js';
export * from './faults.js';
export * from './report.js';
