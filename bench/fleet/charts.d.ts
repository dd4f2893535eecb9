// Types for the TypeScript tests that read the fleet report's colours (test/bench/fleet.test.ts).
/** The colour of each policy's line in the charts, by policy key. */
export declare const COLORS: Readonly<Record<string, string>>;
