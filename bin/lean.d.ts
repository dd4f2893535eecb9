// Types for bin/lean.js, which stays plain JavaScript: the launcher runs it before anything is built or loaded.
export declare const LEAN_NODE_FLAGS: readonly string[];
export declare const LEAN_ENV: Readonly<Record<string, string>>;
export declare function leanRelaunch(
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
): { flags: string[]; env: NodeJS.ProcessEnv } | undefined;
