// A line chart as a standalone SVG, for the bench reports (one y axis, from 0; series in fixed colours).
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];

const esc = (s) => String(s).replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** { title, x: number[], series: [{ name, values: number[] }], xLabel } → SVG text. Non-finite values are gaps. */
export function lineChart({ title, x, series, xLabel, width = 900, height = 360 }) {
  const m = { left: 60, right: 20, top: 40, bottom: 60 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const finite = series.flatMap((s) => s.values).filter(Number.isFinite);
  const yMax = Math.max(1, ...finite) * 1.1;
  const xMin = Math.min(...x);
  const xMax = Math.max(xMin + 1, ...x);
  const px = (v) => m.left + ((v - xMin) / (xMax - xMin)) * w;
  const py = (v) => m.top + h - (v / yMax) * h;
  const lines = series.map((s, i) => {
    let d = '';
    s.values.forEach((v, j) => {
      if (!Number.isFinite(v)) return;
      d += `${d === '' || !Number.isFinite(s.values[j - 1]) ? 'M' : 'L'}${px(x[j]).toFixed(1)},${py(v).toFixed(1)} `;
    });
    return `<path d="${d}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.5"/>`;
  });
  const ticks = Array.from({ length: 5 }, (_, i) => (yMax / 1.1) * (i / 4));
  const yAxis = ticks.map(
    (t) =>
      `<line x1="${m.left}" x2="${m.left + w}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>` +
      `<text x="${m.left - 6}" y="${py(t) + 4}" text-anchor="end">${t.toFixed(t < 10 ? 1 : 0)}</text>`,
  );
  const legend = series.map(
    (s, i) =>
      `<rect x="${m.left + i * 190}" y="${height - 22}" width="12" height="3" fill="${COLOURS[i % COLOURS.length]}"/>` +
      `<text x="${m.left + i * 190 + 18}" y="${height - 17}">${esc(s.name)}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    ...yAxis,
    `<line x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}" stroke="#444"/>`,
    `<text x="${m.left}" y="${m.top + h + 16}">${xMin.toFixed(0)}</text>`,
    `<text x="${m.left + w}" y="${m.top + h + 16}" text-anchor="end">${xMax.toFixed(0)} ${esc(xLabel)}</text>`,
    ...lines,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}
