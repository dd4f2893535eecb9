// The scenarios of `npm run bench` (bench/run.js), in the order they run. A new scenario is a module in this folder
// and one line in SCENARIOS; run.js and the other scenarios need no change.
//
// A scenario module's default export:
//   name      its id for `--only` (kebab-case)
//   title     the heading of its section in RESULTS.md
//   summary   one line for `--help` and the report's list of scenarios
//   needs     tools it needs, checked before anything starts: 'dnsperf' (with taskset), 'build' (dist/)
//   options   its own command-line options, in the spec format of bench/lib/options.js; merged with run.js's
//             shared ones (--duration, --rounds, --names, --outstanding, --clients, --max-qps), and a flag may be
//             declared by one scenario only; `help` is the option's line in --help
//   run(ctx)  measures; ctx is { opts, log(msg), busyBefore }, opts holding every parsed option. Resolves
//             { markdown, json, summary, warnings, failures }:
//               markdown  the section's body (run.js adds the `## title` heading), with the commands it ran
//               json      JSON-serialisable figures, written to bench/out/results.json under the scenario's name
//               summary   lines for the console
//               warnings  what makes this run's figures less trustworthy (also stated in `markdown`)
//               failures  broken preconditions of the measurement itself (e.g. a cache-hit pass that reached the
//                         upstream): run.js prints them, writes the report to bench/out/ only and exits 1
//             A scenario stops the processes it started (lib's stopProcess) before it resolves; on an error,
//             run.js stops whatever is left.
import cacheHit from './cache-hit.js';
import mixed from './mixed.js';
import stale from './stale.js';

export const SCENARIOS = [cacheHit, stale, mixed];
