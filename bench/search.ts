// The searches `npm run bench` loads and `bench:explain` explains: what each asks, how many
// posts it matches on the run's data, what its first page shows, and its report section (one
// per data size, kept side by side in docs/benchmarks.md).
import { INDEX_CANDIDATES, RECENT_WINDOW } from '../src/services/post-search.js';
import type { PageTargets } from './database.js';
import type { Figures } from './driver.js';
import { FORWARDED_HEADERS } from './processes.js';
import { int, ms, percent, table } from './report.js';
import { median, withClient } from './support.js';

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

/** The published posts a search matches, in all and among the newest RECENT_WINDOW; what its first page showed. */
export interface SearchRow {
  search: Search;
  stopWordsOnly: boolean;
  matches: number;
  windowMatches: number;
  hits: number;
  recentOnly: boolean;
  problem: string;
  rounds: Figures[];
}

/** Each search counted in SQL, then its first page fetched once: does it show what the data says it should? */
export async function searchRows(url: string, origin: string): Promise<SearchRow[]> {
  const counts = await withClient(url, async (client) => {
    const rows = [];
    for (const search of SEARCHES) {
      const result = await client.query<{ stop: boolean; matches: number; window: number }>(
        `SELECT websearch_to_tsquery('english', $1)::text = '' AS stop,
                (SELECT count(*)::int FROM posts WHERE published AND search_vector @@ websearch_to_tsquery('english', $1)) AS matches,
                (SELECT count(*)::int FROM (SELECT search_vector FROM posts WHERE published
                                             ORDER BY published_at DESC, id DESC LIMIT $2) p
                  WHERE search_vector @@ websearch_to_tsquery('english', $1)) AS window`,
        [search.q, RECENT_WINDOW],
      );
      rows.push(result.rows[0]!);
    }
    return rows;
  });
  const rows: SearchRow[] = [];
  for (const [i, search] of SEARCHES.entries()) {
    const { stop, matches, window } = counts[i]!;
    const res = await fetch(origin + searchPath(search), { headers: FORWARDED_HEADERS });
    const html = await res.text();
    const hits = html.split('class="post-summary search-hit"').length - 1;
    const recentOnly = html.includes('newest were searched');
    const findable = recentOnly ? window : matches;
    let problem = '';
    if (res.status !== 200) problem = `answered ${res.status}`;
    else if (stop && !html.includes('only very common words')) problem = 'did not say it had only stop words';
    else if (!stop && findable > 0 !== hits > 0) problem = `showed ${hits} results where ${findable} posts match`;
    rows.push({ search, stopWordsOnly: stop, matches, windowMatches: window, hits, recentOnly, problem, rounds: [] });
  }
  return rows;
}

/** A search's figures over its rounds: the medians, and every bad answer. */
function overRounds(row: SearchRow) {
  const { rounds } = row;
  if (rounds.length === 0) return undefined;
  return {
    perSecond: median(rounds.map((f) => f.perSecond)),
    p50Ms: median(rounds.map((f) => f.p50Ms)),
    p99Ms: median(rounds.map((f) => f.p99Ms)),
    bad: rounds.reduce((n, f) => n + f.bad, 0),
  };
}

/** Each search's median p99 against the target: for the seven the target is set for, or for the extra rows. */
export function searchVerdict(rows: SearchRow[], extra: boolean): string {
  const chosen = rows
    .filter((row) => Boolean(row.search.extra) === extra)
    .map((row) => [row, overRounds(row)] as const);
  if (chosen.length === 0 || chosen.some(([, f]) => !f)) return 'not measured';
  const bad = chosen.filter(([row, f]) => f!.bad > 0 || row.problem);
  if (bad.length > 0) return `not measured: bad answers to ${bad.map(([row]) => row.search.label).join(', ')}`;
  const slow = chosen.filter(([, f]) => !(f!.p99Ms < SEARCH_P99_TARGET_MS));
  if (slow.length === 0) return `MET (the slowest median p99: ${ms(Math.max(...chosen.map(([, f]) => f!.p99Ms)))} ms)`;
  return `MISSED: ${slow.map(([row, f]) => `${row.search.label} (median p99 ${ms(f!.p99Ms)} ms)`).join(', ')}`;
}

export const searchesOk = (rows: SearchRow[]): boolean =>
  rows.every((row) => !row.problem && row.rounds.every((f) => f.bad === 0));

function matchesCell(row: SearchRow, published: number): string {
  if (row.stopWordsOnly) return 'none: stop words only';
  const [low, high] = row.search.share ?? [0, 1];
  const share = row.matches / Math.max(1, published);
  const all = `${int(row.matches)} (${percent(row.matches, published)}${share < low || share > high ? ', **not the share it was chosen for**' : ''})`;
  return row.recentOnly
    ? `${all}; ${int(row.windowMatches)} in the newest ${int(RECENT_WINDOW)}, the posts searched`
    : `${all}, all posts searched`;
}

/** The searches of one run, between markers that let runs at other sizes sit beside it in one file. */
export function renderSearchSection(
  rows: SearchRow[],
  run: { targets: PageTargets; command: string; when: string; durationS: number; warmUpS: number; appLog: string },
): string {
  const { targets } = run;
  const cells = rows.map((row) => {
    const f = overRounds(row);
    return [
      row.search.extra ? `${row.search.label} (extra)` : row.search.label,
      `\`${searchPath(row.search)}\``,
      matchesCell(row, targets.published),
      row.problem ? `**${row.hits}** (${row.problem})` : String(row.hits),
      f ? int(f.perSecond) : '–',
      f ? ms(f.p50Ms) : '–',
      f ? ms(f.p99Ms) : '–',
      row.rounds.map((round) => Math.round(round.p99Ms)).join(', ') || '–',
      f ? int(f.bad) : '–',
      !f ? '–' : f.p99Ms < SEARCH_P99_TARGET_MS ? 'yes' : '**no**',
    ];
  });
  return [
    `<!-- search posts=${targets.posts} -->`,
    '',
    `## Search at ${int(targets.posts)} posts`,
    '',
    `Measured by \`${run.command}\` on ${run.when} UTC, on ${int(targets.users)} users and ${int(targets.posts)} posts ` +
      `(${int(targets.published)} published): \`GET /posts?q=…\`, every request rendered, ${SEARCH_CONNECTIONS} ` +
      `connections; ${rows[0]?.rounds.length ?? 0} rounds, each loading every search in turn for a ${run.warmUpS} s ` +
      `warm-up not counted, then ${run.durationS} s. Best match first, unless the row says newest first. Target: ` +
      `p99 under ${SEARCH_P99_TARGET_MS} ms for each of the seven searches; the rows marked extra are more of the same.`,
    '',
    ...table(
      ['search', 'request', 'matching published posts', 'results on page 1', 'req/s', 'p50 ms', 'p99 ms'].concat([
        'p99 ms by round',
        'errors',
        `p99 < ${SEARCH_P99_TARGET_MS} ms`,
      ]),
      'llrrrrrrrl',
      cells,
    ),
    '',
    `- matching published posts: in all (and their share); when more than ${int(INDEX_CANDIDATES)} posts may hold ` +
      `its words, the app searches the newest ${int(RECENT_WINDOW)} only (the page says so), where it matches the ` +
      'second figure. req/s, p50 and p99: the medians of the rounds; errors: over all rounds.',
    `- p99 under ${SEARCH_P99_TARGET_MS} ms, the seven searches: ${searchVerdict(rows, false)}; the extra rows: ${searchVerdict(rows, true)}.`,
    `- the app logged: ${run.appLog}.`,
    '',
    '<!-- /search -->',
    '',
  ].join('\n');
}

const SEARCH_SECTION = /<!-- search posts=(\d+) -->[\s\S]*?<!-- \/search -->\n*/g;

/** `report` with `section` in place of the one of the same size, beside the sections of other sizes in `previous`. */
export function withSearchSection(report: string, previous: string, section: string): string {
  const sizeOf = (text: string): number => Number(/<!-- search posts=(\d+) -->/.exec(text)?.[1]);
  const sections = new Map([...previous.matchAll(SEARCH_SECTION)].map((m) => [Number(m[1]), m[0].trimEnd()]));
  sections.set(sizeOf(section), section.trimEnd());
  const first = report.search(SEARCH_SECTION);
  const rest = report.replace(SEARCH_SECTION, '');
  const targets = rest.indexOf('## Targets');
  const at = first >= 0 ? first : targets >= 0 ? targets : rest.length;
  const block = [...sections]
    .sort(([a], [b]) => a - b)
    .map(([, text]) => `${text}\n\n`)
    .join('');
  return rest.slice(0, at) + block + rest.slice(at);
}
