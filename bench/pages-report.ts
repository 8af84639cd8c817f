// The pages benchmark's report: one Markdown document, printed and saved as docs/benchmarks.md.
import os from 'node:os';
import type { PageTargets } from './pages-database.js';
import type { KindFigures } from './pages-load.js';
import type { Comparison } from './pages-reference.js';

// The issue's targets.
export const REFERENCE_TARGET = 0.7;
export const DEEP_TARGET = 1.5;

export interface ScenarioResult {
  label: string;
  method: 'GET' | 'POST';
  path: string;
  connections: number;
  /** The figures of the measured request (for the write, the POST). */
  figures: KindFigures | undefined;
  /** Errors, timeouts and unexpected statuses of every request of the scenario. */
  bad: number;
  /** What the bad answers were, e.g. "404 ×1200, 1 timeout". */
  problems: string;
  rssMiB: number | undefined;
}

export interface ReportInput {
  startedAt: Date;
  durationS: number;
  warmUpS: number;
  rounds: number;
  compareConnections: number;
  seedSeconds: number;
  targets: PageTargets;
  scenarios: ScenarioResult[];
  /** The deep page's first answer, checked before the load: what it showed. */
  deepCheck: { ok: boolean; text: string };
  /** Notes below the table, one sentence each. */
  notes: string[];
  /** GET /posts of the app as deployed (its page cache on) against the reference. */
  comparison: Comparison | { skipped: string };
  /** The same with PAGE_CACHE_MS=0: every request rendered. */
  uncachedComparison: Comparison | { skipped: string };
  /** The app's log lines by level during the whole run, e.g. "warn 3". */
  appLog: string;
}

export interface Verdict {
  text: string;
  /** Targets met; undefined when they could not be measured. */
  met: boolean | undefined;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (Number.isNaN(n) ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const mib = (n: number | undefined): string => (n === undefined ? '–' : n.toFixed(0));

export function referenceVerdict(comparison: ReportInput['comparison']): Verdict {
  if ('skipped' in comparison) return { met: undefined, text: `not measured: ${comparison.skipped}` };
  if (comparison.median === undefined) {
    return { met: undefined, text: `not measured: compare.mjs printed no ratio (exit code ${comparison.exitCode})` };
  }
  const ratio = `${comparison.median.toFixed(2)}× the reference's requests/s (target ≥ ${REFERENCE_TARGET}×)`;
  if (comparison.warning) return { met: false, text: `MISSED (void): ${ratio}, but ${comparison.warning}` };
  return comparison.median >= REFERENCE_TARGET
    ? { met: true, text: `MET: ${ratio}, with zero errors` }
    : { met: false, text: `MISSED: ${ratio}` };
}

export function deepVerdict(input: ReportInput): Verdict {
  const [first, deep] = [input.scenarios[0], input.scenarios[1]];
  if (!first?.figures || !deep?.figures) return { met: undefined, text: 'not measured' };
  if (!input.deepCheck.ok) return { met: undefined, text: `not measured: ${input.deepCheck.text}` };
  if (first.bad + deep.bad > 0) {
    return { met: undefined, text: 'not measured: the first or the deep page had bad answers' };
  }
  const ratio =
    Math.max(first.figures.perSecond, deep.figures.perSecond) /
    Math.max(1e-9, Math.min(first.figures.perSecond, deep.figures.perSecond));
  const text = `first page ${int(first.figures.perSecond)} req/s, deep page ${int(deep.figures.perSecond)} req/s: ${ratio.toFixed(2)}× apart (target ≤ ${DEEP_TARGET}×)`;
  return ratio <= DEEP_TARGET ? { met: true, text: `MET: ${text}` } : { met: false, text: `MISSED: ${text}` };
}

function scenarioTable(scenarios: ScenarioResult[]): string[] {
  const lines = [
    '| scenario | request | connections | requests | req/s | p50 ms | p99 ms | errors | app RSS MiB |',
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const s of scenarios) {
    const f = s.figures;
    const cells = [
      s.label,
      `\`${s.method} ${s.path}\``,
      String(s.connections),
      f ? int(f.responses) : '–',
      f ? int(f.perSecond) : '–',
      f ? ms(f.p50Ms) : '–',
      f ? ms(f.p99Ms) : '–',
      s.bad === 0 ? '0' : `**${int(s.bad)}** (${s.problems})`,
      mib(s.rssMiB),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

function comparisonSection(
  input: ReportInput,
  comparison: ReportInput['comparison'],
  title: string,
  app: string,
): string[] {
  const lines = [`## ${title}`, ''];
  if ('skipped' in comparison) return [...lines, `Not run: ${comparison.skipped}.`, ''];
  lines.push(
    `\`../shared/bench/compare.mjs\`, A = ${app}, B = \`../shared/bench/reference-server.mjs\` ` +
      `(the latest 20 published posts by one raw query and one cached template, the same pool size) on the same ` +
      `database: ${input.rounds} alternating round${input.rounds === 1 ? '' : 's'} of ${input.durationS} s at ${input.compareConnections} ` +
      `connections after one warm-up each.`,
    '',
  );
  if (comparison.table) lines.push('```text', comparison.table, '```', '');
  else lines.push('compare.mjs printed no table; its last output:', '', '```text', comparison.output.trim(), '```', '');
  if (comparison.median !== undefined) {
    lines.push(
      `Median A/B requests per second: **${comparison.median.toFixed(2)}** (rounds: ${comparison.rounds.map((r) => r.toFixed(2)).join(', ')}).`,
      '',
    );
  }
  if (comparison.warning) lines.push(`compare.mjs: ${comparison.warning}`, '');
  return lines;
}

export function renderReport(input: ReportInput): string {
  const { targets } = input;
  const cpus = os.cpus();
  const when = input.startedAt.toISOString().replace('T', ' ').slice(0, 16);
  const reference = referenceVerdict(input.comparison);
  const deep = deepVerdict(input);
  const bad = input.scenarios.reduce((n, s) => n + s.bad, 0);
  return [
    '# Benchmarks',
    '',
    `Page speed of the app under a bounded load on loopback, measured by \`npm run bench\` on ${when} UTC. ` +
      'Generated file: run the benchmark again rather than edit it.',
    '',
    `- machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB of memory, ${os.type()} ${os.release()}`,
    `- Node.js ${process.version}; ${targets.postgresVersion} (embedded, in a temporary directory)`,
    `- data: ${int(targets.users)} users, ${int(targets.posts)} posts (${int(targets.published)} published): ` +
      `the demo data and the volume seeder (${int(input.seedSeconds)} s through sequelize-cli)`,
    '- the app: `src/server.ts` with `NODE_ENV=production`, a pool of 10 connections, behind one trusted proxy ' +
      '(`X-Forwarded-Proto: https`), logging warnings and errors only',
    `- load: autocannon on 127.0.0.1, a ${input.warmUpS} s warm-up not counted, then ${input.durationS} s per scenario`,
    '',
    'The machine is shared and noisy (±40 % between identical runs): the absolute figures below move from run ' +
      'to run; the ratios measured side by side in one run are what to compare.',
    '',
    '## Pages',
    '',
    'Every request rendered (`PAGE_CACHE_MS=0`): what each page costs, not how often a cache spares it.',
    '',
    ...scenarioTable(input.scenarios),
    '',
    '- req/s: responses per second over the scenario; p50 and p99: latency of every response, whatever its status; ' +
      'errors: connection errors, timeouts (10 s) and answers other than 2xx (for `POST /posts`, other than 303); ' +
      'app RSS: the resident memory of the app process after the scenario.',
    ...input.notes.map((note) => `- ${note}`),
    `- the app logged: ${input.appLog}.`,
    '',
    ...comparisonSection(
      input,
      input.comparison,
      '`GET /posts` against the reference, as deployed',
      "the app's `GET /posts` with its production settings (anonymous pages reused for `PAGE_CACHE_MS`, 1 s)",
    ),
    ...comparisonSection(
      input,
      input.uncachedComparison,
      '`GET /posts` against the reference, every request rendered',
      "the app's `GET /posts` with `PAGE_CACHE_MS=0`: one query and one render per request",
    ),
    '## Targets',
    '',
    `- app's \`GET /posts\` ≥ ${REFERENCE_TARGET}× the reference's requests/s, side by side: ${reference.text}`,
    `- the same, every request rendered (\`PAGE_CACHE_MS=0\`): ${referenceVerdict(input.uncachedComparison).text}`,
    `- deep page and first page within ${DEEP_TARGET}× of each other: ${deep.text}`,
    `- no errors in any scenario: ${bad === 0 ? 'MET' : `MISSED: ${int(bad)} bad answers`}`,
    '',
    '## Reproduce',
    '',
    '`npm run bench` (a few minutes). Sizes and load by environment variables: `SEED_USERS` (10000), ' +
      '`SEED_POSTS` (200000), `BENCH_DURATION` seconds per scenario (10), `BENCH_CONNECTIONS` (50), ' +
      '`BENCH_ROUNDS` of the comparison (5).',
    '',
  ].join('\n');
}
