// Screenshots of the reports in headless Chromium (Debian's `chromium` package), for the README's image and for
// looking at a chart as a reader's browser draws it. Chromium runs with a throwaway profile, is started and waited
// for by PID (processes.js), and loads only local files.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from './ballast.js';
import { startProcess } from './processes.js';

/** The Chromium binary: $CHROMIUM, else chromium or chromium-browser on the PATH; undefined when there is none. */
export function chromiumPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

/** Width and height of a PNG file, read from its IHDR chunk; throws when the file is not a PNG. */
export function pngSize(file) {
  const b = fs.readFileSync(file);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (b.length < 24 || !b.subarray(0, 8).equals(signature) || b.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error(`${file} is not a PNG file`);
  }
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bytes: b.length };
}

/** Renders the local HTML or SVG file `page` at `width` × `height` CSS pixels into the PNG file `png`. */
export async function screenshot(page, png, { width, height }) {
  const chromium = chromiumPath();
  if (chromium === undefined) throw new Error('chromium not found: apt-get install chromium (or set CHROMIUM)');
  fs.mkdirSync(path.dirname(png), { recursive: true });
  fs.rmSync(png, { force: true });
  const argv = [
    chromium,
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--hide-scrollbars',
    '--no-first-run',
    '--force-device-scale-factor=1',
    `--user-data-dir=${path.join(tempDir(), 'chromium-profile')}`,
    `--window-size=${width},${height}`,
    `--screenshot=${path.resolve(png)}`,
    pathToFileURL(path.resolve(page)).href,
  ];
  const child = startProcess('chromium', argv, { stdout: 'ignore', stderr: 'ignore' });
  const killer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }, 60_000);
  const { code } = await child.exited;
  clearTimeout(killer);
  if (!fs.existsSync(png)) throw new Error(`chromium exited ${code} without writing ${png}`);
  return pngSize(png);
}
