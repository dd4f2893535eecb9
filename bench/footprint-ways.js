// bench/footprint.js's comparison of the ways ballast is started (bench/lib/ballast.js startWay): the launcher
// (bin/ballast.js) should make `ballast serve` as lean as the image's ENTRYPOINT, within 10 %.
import { fmtInt, leanEnv, leanFlags, mdTable } from './lib/index.js';

const MIB = 1024 * 1024;
const fmtMi = (bytes) => (bytes / MIB).toFixed(1);
const WHAT = {
  serve: '`ballast serve` (npm start, npx, systemd)',
  image: "the image's ENTRYPOINT",
  unlean: '`ballast serve` with BALLAST_LEAN=0',
};
/** How far `ballast serve` may be from the image's entrypoint, in RSS. */
export const SAME_WITHIN = 0.1;

/** The section's lines and the row it adds to the targets; empty when the comparison was skipped (--compare 0). */
export function waysReport(ways) {
  if (ways.length === 0) return { lines: [], targets: [] };
  const image = ways.find((w) => w.way === 'image');
  const serve = ways.find((w) => w.way === 'serve');
  const size = fmtInt(serve.size);
  const vs = (w) =>
    `${w.full.rssMean >= image.full.rssMean ? '+' : ''}${((w.full.rssMean / image.full.rssMean - 1) * 100).toFixed(1)} %`;
  const lines = [
    '',
    '## Ways of starting it',
    '',
    `Each way a fresh instance with the same config, sampled idle after start and again after filling ${size} ` +
      `names (the mix above). The launcher, bin/ballast.js, re-runs itself with V8 flags \`${leanFlags().join(' ')}\` ` +
      `and \`${leanEnv().join(' ')}\` unless they are given already (bin/lean.js); BALLAST_LEAN=0 shows what they are worth.`,
    '',
    mdTable(
      [
        ['started as', 'left'],
        ['command', 'left'],
        ['idle, empty (MiB)', 'right'],
        [`idle, ${size} names (MiB)`, 'right'],
        ['peak RSS (MiB)', 'right'],
        ["vs the image's entrypoint", 'right'],
      ],
      ways.map((w) => [
        WHAT[w.way],
        `\`${w.command.replace(/ --config .*$/, ' …')}\``,
        fmtMi(w.idle.rssMean),
        fmtMi(w.full.rssMean),
        fmtMi(w.full.hwm),
        w === image ? '—' : vs(w),
      ]),
    ),
  ];
  const gap = Math.abs(serve.full.rssMean / image.full.rssMean - 1);
  const targets = [
    [
      `\`ballast serve\` against the image's entrypoint, RSS with ${size} names`,
      `${fmtMi(serve.full.rssMean)} vs ${fmtMi(image.full.rssMean)} MiB (${vs(serve)})`,
      `within ${SAME_WITHIN * 100} %`,
      gap <= SAME_WITHIN ? 'met' : '**not met**',
    ],
  ];
  return { lines, targets };
}
