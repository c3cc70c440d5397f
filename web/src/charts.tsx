/**
 * Plots drawn as plain SVG: bars per time bucket, stacked by series. Two small charts do not justify a chart
 * library's weight in the bundle; this draws exactly what the overview needs, with a title and a text
 * alternative (each bar has a <title>, the figure a caption).
 */

export interface Series {
  name: string;
  color: string;
  values: number[];
}

export function BarChart({
  title,
  labels,
  series,
  height = 160,
}: {
  title: string;
  labels: string[];
  series: Series[];
  height?: number;
}) {
  const width = 560;
  const pad = { left: 40, right: 8, top: 8, bottom: 22 };
  const n = labels.length;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const bw = n > 0 ? plotW / n : plotW;
  const y = (v: number) => pad.top + plotH - (v / max) * plotH;
  const every = Math.max(1, Math.ceil(n / 8));
  return (
    <figure className="chart">
      <figcaption>
        {title}{" "}
        {series.map((s) => (
          <span key={s.name} className="legend">
            <i style={{ background: s.color }} /> {s.name} ({s.values.reduce((a, b) => a + b, 0)})
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        <line x1={pad.left} x2={width - pad.right} y1={y(0)} y2={y(0)} className="axis" />
        <text x={pad.left - 4} y={y(max) + 4} className="tick" textAnchor="end">
          {max}
        </text>
        <text x={pad.left - 4} y={y(0)} className="tick" textAnchor="end">
          0
        </text>
        {labels.map((label, i) => {
          let base = 0;
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: buckets are positional
            <g key={i}>
              {series.map((s) => {
                const v = s.values[i] ?? 0;
                const top = y(base + v);
                const h = y(base) - top;
                base += v;
                return v > 0 ? (
                  <rect
                    key={s.name}
                    x={pad.left + i * bw + 1}
                    y={top}
                    width={Math.max(1, bw - 2)}
                    height={h}
                    fill={s.color}
                  >
                    <title>{`${label}: ${v} ${s.name}`}</title>
                  </rect>
                ) : null;
              })}
              {i % every === 0 ? (
                <text x={pad.left + i * bw + bw / 2} y={height - 6} className="tick" textAnchor="middle">
                  {label}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

/** A bar against its budget: `used` of `total`, the bar turning amber past 80 % and red past 100 %. */
export function Meter({ used, total, label }: { used: number; total: number; label: string }) {
  const ratio = total > 0 ? used / total : 0;
  const cls = ratio > 1 ? "over" : ratio > 0.8 ? "near" : "ok";
  return (
    <div className="meter-wrap">
      <div className="meter" aria-hidden="true">
        <div className={`meter-fill meter-${cls}`} style={{ width: `${Math.min(100, ratio * 100)}%` }} />
      </div>
      <span>{label}</span>
    </div>
  );
}
