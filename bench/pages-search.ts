// The searches `npm run bench` loads and `bench:explain` explains: what each one asks, how
// many posts it matches on the run's data, what its first page shows, and its report section.
import { INDEX_CANDIDATES, RECENT_WINDOW } from '../src/services/post-search.js';
import { FORWARDED_HEADERS } from './app.js';
import { type PageTargets, withClient } from './database.js';
import type { Figures } from './driver.js';
import { int, ms, percent, table } from './report.js';

/** Searches are loaded at this many connections: a few people searching at once, not a crowd. */
export const SEARCH_CONNECTIONS = 10;
/** Each search's 99th percentile latency should stay under this at SEARCH_CONNECTIONS. */
export const SEARCH_P99_TARGET_MS = 100;

/** `share`: of the published posts the query was chosen to match; `extra`: not one of the seven the target is for. */
export interface Search {
  label: string;
  q: string;
  order?: 'newest';
  share?: readonly [number, number];
  extra?: boolean;
}

// The words were chosen by their document frequency on the volume seeder's data (ts_stat
// over all published posts at 200,000 posts; the proportions hold at any size): its body
// words are drawn uniformly from a small vocabulary and each is in 43–50 % of the posts;
// title endings such as " on a budget" are in about 9 %; the code blocks' words in 1–2 %.
// "onion" is a word of a few of the demo posts only. Each run measures the shares again.
export const SEARCHES: readonly Search[] = [
  { label: 'a word in no post', q: 'xylophonic', share: [0, 0] },
  { label: 'a rare word', q: 'onion', share: [1e-6, 0.001] },
  { label: 'a word in ~10 % of posts', q: 'budget', share: [0.05, 0.2] },
  { label: 'a word in ~50 % of posts', q: 'week', share: [0.3, 0.7] },
  // Both words are in ~44 % of the posts, side by side in ~1 %: the app searches the newest posts only.
  { label: 'a phrase of two common words', q: '"quiet morning"' },
  { label: 'a word, excluding a common one', q: 'budget -week' },
  { label: 'stop words only', q: 'the and of' },
  { label: 'a phrase whose words occur only together', q: '"getting started"', extra: true },
  { label: 'a word in ~1 % of posts', q: 'python', share: [0.005, 0.03], extra: true },
  { label: 'the ~10 % word, newest first', q: 'budget', order: 'newest', extra: true },
];

export function searchPath(search: Search): string {
  const query = new URLSearchParams({ q: search.q });
  if (search.order) query.set('order', search.order);
  return `/posts?${query.toString().replace(/\+/g, '%20')}`;
}

/** The published posts a query matches: all, among the newest RECENT_WINDOW, and for each of its words. */
export interface SearchMeasure {
  stopWordsOnly: boolean;
  matches: number;
  windowMatches?: number;
  words: { word: string; matches: number }[];
}

/** How many published posts each search, and each word of a search of several, matches. */
export async function measureSearches(url: string): Promise<SearchMeasure[]> {
  return withClient(url, async (client) => {
    const count = async (sql: string, values: unknown[]): Promise<number> =>
      (await client.query<{ n: number }>(sql, values)).rows[0]!.n;
    const counted = new Map<string, number>();
    const matches = async (q: string): Promise<number> => {
      const n =
        counted.get(q) ??
        (await count(
          `SELECT count(*)::int AS n FROM posts WHERE published AND search_vector @@ websearch_to_tsquery('english', $1)`,
          [q],
        ));
      counted.set(q, n);
      return n;
    };
    const measures: SearchMeasure[] = [];
    for (const search of SEARCHES) {
      const parsed = await client.query<{ query: string }>(
        `SELECT websearch_to_tsquery('english', $1)::text AS query`,
        [search.q],
      );
      const words = search.q
        .replace(/"/g, ' ')
        .split(/\s+/)
        .filter(Boolean)
        .map((word) => word.replace(/^-/, ''));
      const measure: SearchMeasure = {
        stopWordsOnly: parsed.rows[0]!.query === '',
        matches: await matches(search.q),
        words: [],
      };
      if (words.length > 1) for (const word of words) measure.words.push({ word, matches: await matches(word) });
      if (!measure.stopWordsOnly) {
        measure.windowMatches = await count(
          `SELECT count(*)::int AS n
             FROM (SELECT search_vector FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT $2) p
            WHERE search_vector @@ websearch_to_tsquery('english', $1)`,
          [search.q, RECENT_WINDOW],
        );
      }
      measures.push(measure);
    }
    return measures;
  });
}

/** A search's first page: its results, whether it said only the newest posts were searched, what was wrong. */
export interface SearchPageCheck {
  ok: boolean;
  hits: number;
  recentOnly: boolean;
  text: string;
}

/** One look at a search's first page before the load: does it show what the data says it should? */
export async function checkSearchPage(
  origin: string,
  search: Search,
  measure: SearchMeasure,
): Promise<SearchPageCheck> {
  const res = await fetch(origin + searchPath(search), { redirect: 'manual', headers: FORWARDED_HEADERS });
  const html = await res.text();
  const hits = html.split('class="post-summary search-hit"').length - 1;
  const recentOnly = html.includes('newest were searched');
  if (res.status !== 200) return { ok: false, hits, recentOnly, text: `answered ${res.status}` };
  if (measure.stopWordsOnly) {
    const said = html.includes('only very common words');
    return { ok: said && hits === 0, hits, recentOnly, text: said ? '' : 'did not say the search had only stop words' };
  }
  const findable = recentOnly ? (measure.windowMatches ?? 0) : measure.matches;
  if (findable > 0 !== hits > 0)
    return { ok: false, hits, recentOnly, text: `showed ${hits} results where ${findable} posts match` };
  return { ok: true, hits, recentOnly, text: '' };
}

/** One round's load of a page: its figures, and what was wrong ("404 ×1200, 1 timeout"). */
export interface Scenario {
  label: string;
  request: string;
  connections: number;
  figures: Figures;
  problems: string;
  rssMiB: number | undefined;
}

export interface SearchRow {
  search: Search;
  measure: SearchMeasure;
  check: SearchPageCheck;
  rounds: Scenario[];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** A search's figures over its rounds: the medians, each round's p99, and every bad answer. */
function searchFigures(row: SearchRow) {
  const figures = row.rounds.map((round) => round.figures);
  if (figures.length === 0) return undefined;
  return {
    perSecond: median(figures.map((f) => f.perSecond)),
    p50Ms: median(figures.map((f) => f.p50Ms)),
    p99Ms: median(figures.map((f) => f.p99Ms)),
    p99sMs: figures.map((f) => f.p99Ms),
    bad: figures.reduce((n, f) => n + f.bad, 0),
    problems: row.rounds
      .map((round) => round.problems)
      .filter(Boolean)
      .join('; '),
  };
}

/** Each search's p99 against the target: for the seven the target is set for, or for the extra rows. */
export function searchVerdict(rows: SearchRow[], extra: boolean): string {
  const chosen = rows
    .filter((row) => Boolean(row.search.extra) === extra)
    .map((row) => ({ label: row.search.label, f: searchFigures(row) }));
  if (chosen.length === 0 || chosen.some((row) => !row.f)) return 'not measured';
  const measured = chosen.map((row) => ({ label: row.label, f: row.f! }));
  const bad = measured.filter((row) => row.f.bad > 0);
  if (bad.length > 0) return `not measured: bad answers to ${bad.map((row) => row.label).join(', ')}`;
  const slow = measured.filter((row) => !(row.f.p99Ms < SEARCH_P99_TARGET_MS));
  if (slow.length === 0)
    return `MET (the slowest median p99: ${ms(Math.max(...measured.map((row) => row.f.p99Ms)))} ms)`;
  return `MISSED: ${slow.map((row) => `${row.label} (median p99 ${ms(row.f.p99Ms)} ms)`).join(', ')}`;
}

/** The searches of one run; `command` is how it was started, `appLog` what the app logged (searches alone). */
export interface SearchSection {
  startedAt: Date;
  command: string;
  durationS: number;
  warmUpS: number;
  rounds: number;
  targets: PageTargets;
  rows: SearchRow[];
  appLog?: string;
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

/** The searches of one run, between markers that let runs at other sizes sit beside it in one file. */
export function renderSearchSection(section: SearchSection): string {
  const { targets, rows } = section;
  const when = section.startedAt.toISOString().replace('T', ' ').slice(0, 16);
  const cells = rows.map((row) => {
    const { check } = row;
    const f = searchFigures(row);
    return [
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
  });
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
          `- **“${row.search.q}” matched ${percent(row.measure.matches, targets.published)} of the published posts, outside the ${percent(low, 1)}–${percent(high, 1)} it was chosen for**.`,
        ]
      : [];
  });
  return [
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
    ...table(
      [
        'search',
        'request',
        'matching published posts',
        'results on page 1',
        'req/s',
        'p50 ms',
        'p99 ms',
        'p99 ms by round',
        'errors',
        `p99 < ${SEARCH_P99_TARGET_MS} ms`,
      ],
      'llrrrrrrrl',
      cells,
    ),
    '',
    '- matching published posts: what the query matches among all published posts (and the share of them); when ' +
      `more than ${int(INDEX_CANDIDATES)} posts may hold its words, the app searches the newest ${int(RECENT_WINDOW)} only ` +
      '(the page says so), where it matches the second figure. ' +
      'results on page 1: counted in the page fetched once before the load. req/s, p50 and p99: the medians ' +
      'of the rounds; errors: over all rounds.',
    ...(words.length > 0 ? [`- each word alone, share of the published posts: ${words.join('; ')}.`] : []),
    ...offBand,
    `- p99 under ${SEARCH_P99_TARGET_MS} ms at ${SEARCH_CONNECTIONS} connections, the seven searches: ${searchVerdict(rows, false)}; ` +
      `the extra rows: ${searchVerdict(rows, true)}.`,
    ...(section.appLog === undefined ? [] : [`- the app logged: ${section.appLog}.`]),
    '',
    '<!-- /search -->',
    '',
  ].join('\n');
}

const SEARCH_SECTION = /<!-- search posts=(\d+) -->[\s\S]*?<!-- \/search -->\n*/g;

/** The search sections of a report, by the number of posts they were measured on. */
export function searchSectionsOf(markdown: string): Map<number, string> {
  return new Map([...markdown.matchAll(SEARCH_SECTION)].map((match) => [Number(match[1]), match[0].trimEnd()]));
}

/** The report with these search sections, in ascending size, where its first one was (else before the targets). */
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
