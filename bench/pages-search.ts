// The searches the pages benchmark loads and `bench:explain` explains: what each one asks,
// how many posts it matches on the benchmark's own data, and what its first page shows.
import { RECENT_WINDOW } from '../src/services/post-search.js';
import { FORWARDED_HEADERS } from './app.js';
import { withClient } from './database.js';

/** Searches are loaded at this many connections: a few people searching at once, not a crowd. */
export const SEARCH_CONNECTIONS = 10;
/** Each search's 99th percentile latency should stay under this at SEARCH_CONNECTIONS. */
export const SEARCH_P99_TARGET_MS = 100;

export interface Search {
  label: string;
  q: string;
  order?: 'newest';
  /** The share of published posts (0–1) the query was chosen to match; checked on the run's data. */
  share?: readonly [number, number];
  /** Not one of the seven the target is set for. */
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
  // Both words are in ~44 % of the posts, side by side in ~1 %: so many posts hold both
  // that the app searches the newest posts only, as for the common words.
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

/** The words of a query, as typed: `"quiet morning"` → quiet, morning; `budget -week` → budget, week. */
const wordsOf = (q: string): string[] =>
  q
    .replace(/"/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => word.replace(/^-/, ''));

export interface SearchMeasure {
  /** The query has no word search can use: only stop words. */
  stopWordsOnly: boolean;
  /** Published posts the query matches. */
  matches: number;
  /** The matches among the newest RECENT_WINDOW published posts, all the app searches when many posts hold the words. */
  windowMatches?: number;
  /** Each word of a query of several: the published posts it is in. */
  words: { word: string; matches: number }[];
}

/** How many published posts each search, and each word of a search of several, matches. */
export async function measureSearches(url: string, searches: readonly Search[]): Promise<SearchMeasure[]> {
  return withClient(url, async (client) => {
    const counted = new Map<string, number>();
    const matches = async (q: string): Promise<number> => {
      let n = counted.get(q);
      if (n === undefined) {
        const result = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM posts WHERE published AND search_vector @@ websearch_to_tsquery('english', $1)`,
          [q],
        );
        n = result.rows[0]!.n;
        counted.set(q, n);
      }
      return n;
    };
    const measures: SearchMeasure[] = [];
    for (const search of searches) {
      const parsed = await client.query<{ query: string }>(
        `SELECT websearch_to_tsquery('english', $1)::text AS query`,
        [search.q],
      );
      const words = wordsOf(search.q);
      const measure: SearchMeasure = {
        stopWordsOnly: parsed.rows[0]!.query === '',
        matches: await matches(search.q),
        words: [],
      };
      if (words.length > 1) {
        for (const word of words) measure.words.push({ word, matches: await matches(word) });
      }
      if (!measure.stopWordsOnly) {
        const windowed = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n
             FROM (SELECT search_vector FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT $2) p
            WHERE search_vector @@ websearch_to_tsquery('english', $1)`,
          [search.q, RECENT_WINDOW],
        );
        measure.windowMatches = windowed.rows[0]!.n;
      }
      measures.push(measure);
    }
    return measures;
  });
}

export interface SearchPageCheck {
  ok: boolean;
  /** Results on the first page. */
  hits: number;
  /** The page said only the newest posts were searched. */
  recentOnly: boolean;
  /** What was wrong, when not ok. */
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
  if (findable > 0 !== hits > 0) {
    return { ok: false, hits, recentOnly, text: `showed ${hits} results where ${findable} posts match` };
  }
  return { ok: true, hits, recentOnly, text: '' };
}
