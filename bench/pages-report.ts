// The pages benchmark's report: one Markdown document, printed and saved as docs/benchmarks.md.
import os from 'node:os';
import type { PageTargets } from './pages-database.js';
import type { KindFigures } from './pages-load.js';
import type { Comparison } from './pages-reference.js';
import {
  type Search,
  SEARCH_CONNECTIONS,
  SEARCH_P99_TARGET_MS,
  type SearchMeasure,
  type SearchPageCheck,
  searchPath,
} from './pages-search.js';
import { INDEX_CANDIDATES, RECENT_WINDOW } from '../src/services/post-search.js';

// The targets the pages are held to.
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
  /** The searches of this run. */
  search: SearchSection;
}

export interface SearchRow {
  search: Search;
  measure: SearchMeasure;
  check: SearchPageCheck;
  /** The search's load, once a round. */
  rounds: ScenarioResult[];
}

/** A search's figures over its rounds: the medians, each round's p99, and every bad answer. */
export interface SearchFigures {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  p99sMs: number[];
  bad: number;
  problems: string;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The figures of a search; undefined when a round has none. */
export function searchFigures(row: SearchRow): SearchFigures | undefined {
  const all = row.rounds.map((round) => round.figures);
  if (all.length === 0 || all.some((f) => f === undefined)) return undefined;
  const figures = all as KindFigures[];
  return {
    perSecond: median(figures.map((f) => f.perSecond)),
    p50Ms: median(figures.map((f) => f.p50Ms)),
    p99Ms: median(figures.map((f) => f.p99Ms)),
    p99sMs: figures.map((f) => f.p99Ms),
    bad: row.rounds.reduce((n, round) => n + round.bad, 0),
    problems: row.rounds
      .map((round) => round.problems)
      .filter(Boolean)
      .join('; '),
  };
}

export interface SearchSection {
  startedAt: Date;
  /** How the run was started, e.g. `npm run bench`. */
  command: string;
  durationS: number;
  warmUpS: number;
  rounds: number;
  targets: PageTargets;
  rows: SearchRow[];
  /** What the app logged, when the run was of the searches alone. */
  appLog?: string;
}

export interface Verdict {
  text: string;
  /** Targets met; undefined when they could not be measured. */
  met: boolean | undefined;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const percent = (n: number, of: number): string => {
  const share = (100 * n) / Math.max(1, of);
  return `${share > 0 && share < 0.1 ? share.toPrecision(1) : share.toFixed(1)} %`;
};
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

/** Each search's p99 against the target: for the seven the target is set for, or for the extra rows. */
export function searchVerdict(rows: SearchRow[], extra: boolean): Verdict {
  const chosen = rows
    .filter((row) => Boolean(row.search.extra) === extra)
    .map((row) => ({ label: row.search.label, figures: searchFigures(row) }));
  if (chosen.length === 0 || chosen.some((row) => !row.figures)) return { met: undefined, text: 'not measured' };
  const measured = chosen as { label: string; figures: SearchFigures }[];
  const bad = measured.filter((row) => row.figures.bad > 0);
  if (bad.length > 0) {
    return { met: undefined, text: `not measured: bad answers to ${bad.map((row) => row.label).join(', ')}` };
  }
  const slow = measured.filter((row) => !(row.figures.p99Ms < SEARCH_P99_TARGET_MS));
  const worst = Math.max(...measured.map((row) => row.figures.p99Ms));
  if (slow.length === 0) return { met: true, text: `MET (the slowest median p99: ${ms(worst)} ms)` };
  const described = slow.map((row) => `${row.label} (median p99 ${ms(row.figures.p99Ms)} ms)`);
  return { met: false, text: `MISSED: ${described.join(', ')}` };
}

function matchesCell(row: SearchRow, published: number): string {
  const { measure } = row;
  if (measure.stopWordsOnly) return 'none: stop words only';
  const all = `${int(measure.matches)} (${percent(measure.matches, published)})`;
  if (measure.windowMatches === undefined) return all;
  return row.check.recentOnly
    ? `${all}; ${int(measure.windowMatches)} in the newest ${int(RECENT_WINDOW)}, the posts searched`
    : `${all}, all posts searched`;
}

/**
 * The searches of one run, between markers that let a run of the searches alone at
 * another size sit beside it in the same file (see withSearchSections).
 */
export function renderSearchSection(section: SearchSection): string {
  const { targets, rows } = section;
  const when = section.startedAt.toISOString().replace('T', ' ').slice(0, 16);
  const lines = [
    `<!-- search posts=${targets.posts} -->`,
    '',
    `## Search at ${int(targets.posts)} posts`,
    '',
    `Measured by \`${section.command}\` on ${when} UTC, on ${int(targets.users)} users and ${int(targets.posts)} posts ` +
      `(${int(targets.published)} published): \`GET /posts?q=…\` on the app with every request rendered ` +
      `(\`PAGE_CACHE_MS=0\`), ${SEARCH_CONNECTIONS} connections; ${section.rounds} round${section.rounds === 1 ? '' : 's'}, ` +
      `each loading every search in turn for a ${section.warmUpS} s warm-up not counted, then ${section.durationS} s. ` +
      'Best match first (relevance), unless the row says newest first. ' +
      `Target: p99 under ${SEARCH_P99_TARGET_MS} ms for each of the seven searches; the rows marked extra are more of the same.`,
    '',
    `| search | request | matching published posts | results on page 1 | req/s | p50 ms | p99 ms | p99 ms by round | errors | p99 < ${SEARCH_P99_TARGET_MS} ms |`,
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --- |',
  ];
  for (const row of rows) {
    const { check } = row;
    const f = searchFigures(row);
    const cells = [
      row.search.extra ? `${row.search.label} (extra)` : row.search.label,
      `\`${searchPath(row.search)}\``,
      matchesCell(row, targets.published),
      check.ok ? String(check.hits) : `**${check.hits}** (${check.text})`,
      f ? int(f.perSecond) : '–',
      f ? ms(f.p50Ms) : '–',
      f ? ms(f.p99Ms) : '–',
      f ? f.p99sMs.map((p99) => Math.round(p99)).join(', ') : '–',
      !f ? '–' : f.bad === 0 ? '0' : `**${int(f.bad)}** (${f.problems})`,
      !f ? '–' : f.p99Ms < SEARCH_P99_TARGET_MS ? 'yes' : '**no**',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const words = rows
    .filter((row) => row.measure.words.length > 0 && !row.measure.stopWordsOnly)
    .map(
      (row) =>
        `“${row.search.q}”: ${row.measure.words.map((w) => `${w.word} ${percent(w.matches, targets.published)}`).join(', ')}`,
    );
  const offBand = rows.flatMap((row) => {
    const [low, high] = row.search.share ?? [0, 1];
    const share = row.measure.matches / Math.max(1, targets.published);
    return share < low || share > high
      ? [
          `“${row.search.q}” matched ${percent(row.measure.matches, targets.published)} of the published posts, outside the ${percent(low, 1)}–${percent(high, 1)} it was chosen for`,
        ]
      : [];
  });
  lines.push(
    '',
    '- matching published posts: what the query matches among all published posts (and the share of them); when ' +
      `more than ${int(INDEX_CANDIDATES)} posts may hold its words, the app searches the newest ${int(RECENT_WINDOW)} only ` +
      '(the page says so), where it matches the second figure. ' +
      'results on page 1: counted in the page fetched once before the load. req/s, p50 and p99: the medians ' +
      'of the rounds; errors: over all rounds.',
    ...(words.length > 0 ? [`- each word alone, share of the published posts: ${words.join('; ')}.`] : []),
    ...offBand.map((text) => `- **${text}**.`),
    `- p99 under ${SEARCH_P99_TARGET_MS} ms at ${SEARCH_CONNECTIONS} connections, the seven searches: ${searchVerdict(rows, false).text}; ` +
      `the extra rows: ${searchVerdict(rows, true).text}.`,
    ...(section.appLog === undefined ? [] : [`- the app logged: ${section.appLog}.`]),
    '',
    '<!-- /search -->',
    '',
  );
  return lines.join('\n');
}

const SEARCH_SECTION = /<!-- search posts=(\d+) -->[\s\S]*?<!-- \/search -->\n*/g;

/** The search sections of a report, by the number of posts they were measured on. */
export function searchSectionsOf(markdown: string): Map<number, string> {
  return new Map([...markdown.matchAll(SEARCH_SECTION)].map((match) => [Number(match[1]), match[0].trimEnd()]));
}

/**
 * The report with these search sections, one per size in ascending order, where its first
 * one was (else before the targets, else at the end), in place of those it had.
 */
export function withSearchSections(markdown: string, sections: Map<number, string>): string {
  const first = markdown.search(SEARCH_SECTION);
  const rest = markdown.replace(SEARCH_SECTION, '');
  const targets = rest.indexOf('## Targets');
  const at = first >= 0 ? first : targets >= 0 ? targets : rest.length;
  const block = [...sections]
    .sort(([a], [b]) => a - b)
    .map(([, section]) => `${section.trimEnd()}\n\n`)
    .join('');
  return rest.slice(0, at) + block + rest.slice(at);
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
  const bad = [...input.scenarios, ...input.search.rows.flatMap((row) => row.rounds)].reduce((n, s) => n + s.bad, 0);
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
    renderSearchSection(input.search),
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
    `- each search's p99 under ${SEARCH_P99_TARGET_MS} ms at ${SEARCH_CONNECTIONS} connections (${int(targets.posts)} posts): ` +
      searchVerdict(input.search.rows, false).text,
    `- no errors in any scenario: ${bad === 0 ? 'MET' : `MISSED: ${int(bad)} bad answers`}`,
    '',
    '## Reproduce',
    '',
    '`npm run bench` (about a quarter of an hour at the default sizes). Sizes and load by environment variables: `SEED_USERS` (10000), ' +
      '`SEED_POSTS` (200000), `BENCH_DURATION` seconds per scenario (10), `BENCH_CONNECTIONS` (50), ' +
      '`BENCH_ROUNDS` of the comparison (5), `BENCH_SEARCH_ROUNDS` of the searches (3). `BENCH_ONLY=search` runs the searches alone (no other page, no ' +
      'comparison, no writes) and puts their section into this file beside those of other sizes, e.g. ' +
      '`BENCH_ONLY=search SEED_POSTS=1000000 npm run bench`; a whole run keeps the search sections of other sizes.',
    '',
  ].join('\n');
}
