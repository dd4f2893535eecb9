// The pure parts of bench/conformance.js, one module per job:
//   codes.js    DNS type, class and rcode numbers and their names
//   build.js    DNS messages written byte by byte (a probe can be as odd as a case needs)
//   parse.js    DNS messages read byte by byte, malformed ones included
//   fake.js     the scripted fake upstream's answers
//   compare.js  answers described in a line and compared between the two servers
//   report.js   the markdown report
// They import nothing from dist/ (only ../report.js's table writer), so test/bench/conformance.test.ts needs no build;
// each has a .d.ts that types it for the test. The script's other parts are imported from their own modules, not from
// here: upstream.js (the fake upstream's sockets), servers.js (ballast and BIND), probes.js (the cases) and
// ask.js (sending the probes on time).
export * from './build.js';
export * from './codes.js';
export * from './compare.js';
export * from './fake.js';
export * from './parse.js';
export * from './report.js';
