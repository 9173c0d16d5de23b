// One line of a benchmark report, as reports/bench/*.json hold them: ours beside a baseline
// measured in the same run, the ratio, and whether it meets its target.

export interface Figure {
  name: string;
  ours: number | null;
  baseline: number | null;
  baselineName: string | null;
  unit: string;
  ratio: number | null;
  target: string;
  met: boolean | null;
  note?: string;
}

/** Rounds for a report: `digits` decimals. */
export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A throughput figure (MiB/s unless `unit` says otherwise) whose ratio ours / baseline must reach `target`. */
export function ratioFigure(options: {
  name: string;
  ours: number;
  baseline: number;
  baselineName: string;
  target: number;
  /** How the target reads in the report; `ratio ≥ <target>` by default. */
  targetLabel?: string;
  /** The unit of ours and baseline; MiB/s by default. */
  unit?: string;
  note?: string;
}): Figure {
  const { name, ours, baseline, baselineName, target, note } = options;
  const ratio = ours / baseline;
  return {
    name,
    ours: round(ours),
    baseline: round(baseline),
    baselineName,
    unit: options.unit ?? 'MiB/s',
    ratio: round(ratio, 3),
    target: options.targetLabel ?? `ratio ≥ ${target}`,
    met: ratio >= target,
    ...(note ? { note } : {}),
  };
}

/**
 * A figure whose target is an absolute bound on ours (`≥ 20000 msg/s`, `≤ 25 ms`); the baseline,
 * when there is one, is shown beside it with the ratio ours / baseline for reference only.
 */
export function boundFigure(options: {
  name: string;
  ours: number;
  unit: string;
  /** `at-least`: ours must reach `bound`; `at-most`: ours must not exceed it. */
  direction: 'at-least' | 'at-most';
  bound: number;
  baseline?: number;
  baselineName?: string;
  /** Decimals in the report (default 1). */
  digits?: number;
  note?: string;
}): Figure {
  const { name, ours, unit, direction, bound, baseline, note } = options;
  const digits = options.digits ?? 1;
  return {
    name,
    ours: round(ours, digits),
    baseline: baseline === undefined ? null : round(baseline, digits),
    baselineName: baseline === undefined ? null : (options.baselineName ?? null),
    unit,
    ratio: baseline === undefined || baseline === 0 ? null : round(ours / baseline, 3),
    target: `${direction === 'at-least' ? '≥' : '≤'} ${bound} ${unit}`,
    met: direction === 'at-least' ? ours >= bound : ours <= bound,
    ...(note ? { note } : {}),
  };
}

/** Prints figures as a table, then each figure's note on a line of its own. */
export function printFigures(figures: readonly Figure[]): void {
  console.table(
    figures.map((f) => ({
      figure: f.name,
      ours: f.ours ?? '—',
      baseline: f.baseline ?? '—',
      unit: f.unit,
      ratio: f.ratio ?? '—',
      target: f.target,
      met: f.met === null ? '—' : f.met ? 'yes' : 'NO',
    })),
  );
  for (const f of figures) console.log(`${f.name}: ${f.note ?? ''}`);
}
