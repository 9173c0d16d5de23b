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

/** A throughput figure (MiB/s) whose ratio ours / baseline must reach `target`. */
export function ratioFigure(options: {
  name: string;
  ours: number;
  baseline: number;
  baselineName: string;
  target: number;
  /** How the target reads in the report; `ratio ≥ <target>` by default. */
  targetLabel?: string;
  note?: string;
}): Figure {
  const { name, ours, baseline, baselineName, target, note } = options;
  const ratio = ours / baseline;
  return {
    name,
    ours: round(ours),
    baseline: round(baseline),
    baselineName,
    unit: 'MiB/s',
    ratio: round(ratio, 3),
    target: options.targetLabel ?? `ratio ≥ ${target}`,
    met: ratio >= target,
    ...(note ? { note } : {}),
  };
}
