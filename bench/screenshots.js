// `node bench/screenshots.js`: the drill report and every chart of the fleet report as PNG files, drawn by headless
// Chromium (apt-get install chromium), to look at them as a reader's browser shows them.
//
//   node bench/screenshots.js [--drill PATH] [--fleet PATH] [--out DIR]
//
// --drill: the drill report (default bench/out/drill-report.html, from `npm run drill`); --fleet: the fleet report
// (default bench/out/fleet.html, from `npm run simulate`); a missing report is named and skipped. Writes to --out
// (default bench/out/screenshots, git-ignored): drill-report.png (the page), fleet-page.png (the fleet page's top, at
// 1,400 px) and one fleet-NN-<title>.png per chart at its own size.

import fs from 'node:fs';
import path from 'node:path';
import { helpText, OUT_DIR, parseOptions, runMain, screenshot } from './lib/index.js';

const slug = (s) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);

/** Every top-level <svg> of an HTML page, with its title and size. */
function svgsOf(html) {
  const out = [];
  for (const m of html.matchAll(/<svg xmlns[^>]*>[\s\S]*?<\/svg>/g)) {
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(m[0]) ?? [];
    const title = /<title>([^<]*)<\/title>/.exec(m[0])?.[1] ?? 'chart';
    out.push({ svg: m[0], title, width: Number(w), height: Number(h) });
  }
  return out;
}

async function main() {
  const opts = parseOptions(process.argv.slice(2), {
    drill: { type: 'path', default: path.join(OUT_DIR, 'drill-report.html') },
    fleet: { type: 'path', default: path.join(OUT_DIR, 'fleet.html') },
    out: { type: 'path', default: path.join(OUT_DIR, 'screenshots') },
  });
  if (opts.help) {
    process.stdout.write(helpText(import.meta.url));
    return 0;
  }
  fs.mkdirSync(opts.out, { recursive: true });
  const shots = [];
  const shoot = async (page, name, size) => {
    const png = path.join(opts.out, name);
    const { width, height } = await screenshot(page, png, size);
    shots.push(`${path.relative(process.cwd(), png)} (${width}×${height})`);
  };
  if (fs.existsSync(opts.drill)) await shoot(opts.drill, 'drill-report.png', { width: 1160, height: 1240 });
  else process.stderr.write(`no drill report at ${opts.drill}: npm run drill writes one\n`);
  if (fs.existsSync(opts.fleet)) {
    await shoot(opts.fleet, 'fleet-page.png', { width: 1400, height: 1800 });
    const charts = svgsOf(fs.readFileSync(opts.fleet, 'utf8'));
    for (const [i, c] of charts.entries()) {
      const page = path.join(opts.out, `fleet-${String(i + 1).padStart(2, '0')}.html`);
      fs.writeFileSync(page, `<!doctype html><html><body style="margin:0">${c.svg}</body></html>\n`);
      await shoot(page, `fleet-${String(i + 1).padStart(2, '0')}-${slug(c.title)}.png`, c);
      fs.rmSync(page);
    }
  } else process.stderr.write(`no fleet report at ${opts.fleet}: npm run simulate writes one\n`);
  process.stdout.write(`${shots.join('\n')}\n`);
  return 0;
}

runMain('screenshots', main);
