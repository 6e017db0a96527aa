// A small SVG line chart: one circle per point (class `point`, with its x and y in data
// attributes), nice-ish axis ticks, no dependency.

export type ChartPoint = { x: number; y: number; label: string };

const W = 560;
const H = 220;
const PAD = { left: 56, right: 16, top: 14, bottom: 36 };

/** Round tick values spanning [min, max]. */
function ticks(min: number, max: number, count = 4): number[] {
  if (min === max) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function LineChart({
  points,
  xLabel,
  yLabel,
  formatY,
  formatX = (x) => String(x),
  color = "#365fd9",
  testId,
}: {
  points: ChartPoint[];
  xLabel: string;
  yLabel: string;
  formatY: (y: number) => string;
  formatX?: (x: number) => string;
  color?: string;
  testId?: string | undefined;
}) {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.1, y1 + Math.abs(y1 || 1) * 0.1];
  const pad = (y1 - y0) * 0.08;
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x: number) => PAD.left + (x1 === x0 ? (W - PAD.left - PAD.right) / 2 : ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right));
  const sy = (y: number) => PAD.top + (1 - (y - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  const path = points.map((p, i) => `${i === 0 ? "M" : "L"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
  const xTicks = x1 - x0 <= 10 ? xs : ticks(x0, x1, 5);
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`${yLabel} by ${xLabel}`}
      data-testid={testId}
      data-points={points.length}
    >
      {ticks(y0, y1).map((t) => (
        <g key={`y${t}`}>
          <line x1={PAD.left} x2={W - PAD.right} y1={sy(t)} y2={sy(t)} class="grid" />
          <text x={PAD.left - 6} y={sy(t) + 4} class="tick" text-anchor="end">
            {formatY(t)}
          </text>
        </g>
      ))}
      {[...new Set(xTicks)].map((t) => (
        <text key={`x${t}`} x={sx(t)} y={H - PAD.bottom + 16} class="tick" text-anchor="middle">
          {formatX(t)}
        </text>
      ))}
      <text x={(PAD.left + W - PAD.right) / 2} y={H - 4} class="axis-label" text-anchor="middle">
        {xLabel}
      </text>
      <text
        x={12}
        y={(PAD.top + H - PAD.bottom) / 2}
        class="axis-label"
        text-anchor="middle"
        transform={`rotate(-90 12 ${(PAD.top + H - PAD.bottom) / 2})`}
      >
        {yLabel}
      </text>
      {points.length > 1 ? <path d={path} fill="none" stroke={color} stroke-width="2" /> : null}
      {points.map((p) => (
        <circle key={p.x} class="point" cx={sx(p.x)} cy={sy(p.y)} r="4" fill={color} data-x={p.x} data-y={p.y}>
          <title>{p.label}</title>
        </circle>
      ))}
    </svg>
  );
}
