// Figures from a mixed load: the Markdown table, and what happened around a database restart.
import { KIND_LABELS, KINDS, type KindStats, type MixResult } from './mix.js';
import { percentile } from './support.js';

export interface PartFigures {
  label: string;
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses by class: [2xx, 3xx, 4xx, 5xx]. */
  classes: [number, number, number, number];
  errors: number;
  timeouts: number;
}

function figures(label: string, parts: KindStats[], windowMs: number): PartFigures {
  const latencies = parts.flatMap((part) => part.latenciesMs).sort((a, b) => a - b);
  const classes: [number, number, number, number] = [0, 0, 0, 0];
  for (const part of parts) {
    for (const [status, count] of part.statuses) {
      const index = Math.floor(status / 100) - 2;
      if (index >= 0 && index < 4) classes[index as 0 | 1 | 2 | 3] += count;
    }
  }
  return {
    label,
    requests: latencies.length,
    perSecond: latencies.length / (windowMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    classes,
    errors: parts.reduce((n, part) => n + part.errors, 0),
    timeouts: parts.reduce((n, part) => n + part.timeouts, 0),
  };
}

/** One row per kind of request, and the total. */
export function partFigures(result: MixResult): PartFigures[] {
  const rows = KINDS.map((kind) => figures(KIND_LABELS[kind], [result.byKind[kind]], result.windowMs));
  rows.push(figures('**total**', Object.values(result.byKind), result.windowMs));
  return rows;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (Number.isNaN(n) ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1));

export function markdownTable(rows: PartFigures[]): string {
  const lines = [
    '| part | requests | req/s | p50 ms | p99 ms | 2xx | 3xx | 4xx | 5xx | errors | timeouts |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of rows) {
    const cells = [
      row.label,
      int(row.requests),
      int(row.perSecond),
      ms(row.p50Ms),
      ms(row.p99Ms),
      ...row.classes.map(int),
      int(row.errors),
      int(row.timeouts),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Status codes other than the expected ones, e.g. "403 ×2, 500 ×1". */
export function unusualStatuses(result: MixResult): string {
  const counts = new Map<number, number>();
  for (const kind of KINDS) {
    for (const [status, count] of result.byKind[kind].statuses) {
      if (status !== 200 && status !== 303) counts.set(status, (counts.get(status) ?? 0) + count);
    }
  }
  return [...counts]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status} ×${count}`)
    .join(', ');
}

export interface RestartMarks {
  /** Ms from the start of the load: shutdown requested, shutdown done, start done. */
  downAtMs: number;
  stoppedAtMs: number;
  backAtMs: number;
}

export interface RestartFigures {
  count503: number;
  /** 503s before the shutdown began, or more than `graceMs` after the database was back. */
  outside503: number;
  /** 5xx other than 503, at any time. */
  other5xx: number;
  /** From the database being back to the first 2xx/3xx completed after it; undefined: none. */
  recoveryMs: number | undefined;
  /** From the database being back to the last 503 (negative: none after it). */
  last503AfterBackMs: number | undefined;
}

export function restartFigures(result: MixResult, marks: RestartMarks, graceMs: number): RestartFigures {
  const { atMs, status } = result.timeline;
  let count503 = 0;
  let outside503 = 0;
  let other5xx = 0;
  let firstSuccess: number | undefined;
  let last503: number | undefined;
  for (let i = 0; i < atMs.length; i++) {
    const at = atMs[i]!;
    const code = status[i]!;
    if (code === 503) {
      count503++;
      last503 = at;
      if (at < marks.downAtMs || at > marks.backAtMs + graceMs) outside503++;
    } else if (code >= 500) {
      other5xx++;
    } else if (code < 400 && at >= marks.backAtMs && firstSuccess === undefined) {
      firstSuccess = at;
    }
  }
  return {
    count503,
    outside503,
    other5xx,
    recoveryMs: firstSuccess === undefined ? undefined : firstSuccess - marks.backAtMs,
    last503AfterBackMs: last503 === undefined ? undefined : last503 - marks.backAtMs,
  };
}
