// A two-panel SVG (training and held-out loss per round, cumulative revenue per request) drawn by
// hand: no plotting dependency for two charts.

export type Series = {
  title: string;
  xLabel: string;
  yLabel: string;
  points: [number, number][];
  color: string;
  /** Name of the main line in the legend (a legend is drawn when there is an overlay). */
  label?: string | undefined;
  /** A second line on the same axes (e.g. held-out loss over training loss). */
  overlay?: { label: string; points: [number, number][]; color: string } | undefined;
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

function ticks(min: number, max: number, count = 4): number[] {
  if (max === min) return [min];
  return Array.from({ length: count + 1 }, (_, i) => min + ((max - min) * i) / count);
}

const fmt = (v: number) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));

function panel(s: Series, x0: number, width: number, height: number): string {
  const pad = { left: 60, right: 16, top: 36, bottom: 44 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const all = [...s.points, ...(s.overlay?.points ?? [])];
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [xMin, xMax] = [Math.min(...xs, 0), Math.max(...xs, 1)];
  const [yMin, yMax] = [Math.min(...ys, 0), Math.max(...ys, 1e-12)];
  const X = (x: number) => x0 + pad.left + ((x - xMin) / (xMax - xMin || 1)) * w;
  const Y = (y: number) => pad.top + h - ((y - yMin) / (yMax - yMin || 1)) * h;
  const line = (points: [number, number][], color: string) => [
    `<path d="${points.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`,
    ...points.map((p) => `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${color}"/>`),
  ];
  const legend = s.overlay
    ? [
        [s.label ?? s.yLabel, s.color],
        [s.overlay.label, s.overlay.color],
      ].map(
        ([label, color], i) =>
          `<text x="${x0 + pad.left + w - 4}" y="${pad.top + 14 + 14 * i}" text-anchor="end" fill="${color}">${esc(label as string)}</text>`,
      )
    : [];
  const yTicks = ticks(yMin, yMax).map(
    (t) =>
      `<line x1="${x0 + pad.left - 4}" x2="${x0 + pad.left + w}" y1="${Y(t)}" y2="${Y(t)}" stroke="#ddd"/><text x="${x0 + pad.left - 6}" y="${Y(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
  );
  const xTicks = ticks(xMin, xMax).map((t) => `<text x="${X(t)}" y="${pad.top + h + 16}" text-anchor="middle">${fmt(t)}</text>`);
  return [
    `<text x="${x0 + pad.left + w / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(s.title)}</text>`,
    ...yTicks,
    ...xTicks,
    `<line x1="${x0 + pad.left}" x2="${x0 + pad.left + w}" y1="${pad.top + h}" y2="${pad.top + h}" stroke="#333"/>`,
    `<line x1="${x0 + pad.left}" x2="${x0 + pad.left}" y1="${pad.top}" y2="${pad.top + h}" stroke="#333"/>`,
    ...line(s.points, s.color),
    ...(s.overlay ? line(s.overlay.points, s.overlay.color) : []),
    ...legend,
    `<text x="${x0 + pad.left + w / 2}" y="${height - 8}" text-anchor="middle">${esc(s.xLabel)}</text>`,
    `<text transform="translate(${x0 + 14},${pad.top + h / 2}) rotate(-90)" text-anchor="middle">${esc(s.yLabel)}</text>`,
  ].join("\n");
}

/** Side-by-side line charts of `series`, as a standalone SVG document. */
export function lineChartsSvg(series: Series[], { panelWidth = 420, height = 300 } = {}): string {
  const width = panelWidth * series.length;
  const body = series.map((s, i) => panel(s, i * panelWidth, panelWidth, height)).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
