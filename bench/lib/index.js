// Everything the bench scripts share, one module per job:
//   env.js        paths, the Node.js binary, CPU roles, displayCommand()
//   options.js    command-line parsing, --help, where a report goes
//   processes.js  child processes: start, stop by PID, stop all on error and Ctrl-C (runMain)
//   net.js        free loopback ports, HTTP GETs, Prometheus values
//   dns.js        a minimal UDP DNS client, waitForDns()
//   the tests' exchange.ts (one DNS exchange over UDP or TCP) and dns2-listen.ts (listenDns()), re-exported
//   fixtures.js   fake upstreams (bench/upstream.js, dns2), the baseline responder, a pinned system under test
//   ballast.js    the `ballast serve` command line and its temporary folder (snapshot, config)
//   dnsperf.js    running dnsperf and parsing its output, latency passes
//   machine.js    machine and process load from /proc (machineBusy, CPU share of a pass, RSS)
//   stalls.js     how often the machine stops a CPU that has work (a floor under every server's tail latency)
//   chromium.js   screenshots of a report in headless Chromium, a PNG file's size
//   report.js     markdown tables and number formats
//   cache.js      options for the in-process DnsCache
//   mix.js        the realistic answer mix (names, qtypes, stored sizes) shared with bench/upstream.js

export * from '../../test/helpers/dns2-listen.ts';
export * from '../../test/helpers/exchange.ts';
export * from './ballast.js';
export * from './cache.js';
export * from './chromium.js';
export * from './dns.js';
export * from './dnsperf.js';
export * from './env.js';
export * from './fixtures.js';
export * from './machine.js';
export * from './mix.js';
export * from './net.js';
export * from './options.js';
export * from './processes.js';
export * from './report.js';
export * from './stalls.js';
