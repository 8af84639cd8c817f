// Full-text search of published posts: PostgreSQL's websearch_to_tsquery over the stored
// posts.search_vector (title words weighted A, body words B) and its GIN index.
//
// Every search does bounded work, whatever it asks for. It first bounds how many posts the
// GIN index could hand over for the query (the posts holding its words, phrases loosened to
// "all these words", negations left out: see search-candidates.ts), from the planner's
// estimate for each word, which reads no row. Then, explicitly rather than by the
// planner's choice under a LIMIT (which walks the date index when it guesses the words
// common, and reads every post when the guess is wrong):
// - up to INDEX_CANDIDATES of them: every published post is searched, through the GIN
//   index, and the matches are sorted by date;
// - more: the newest RECENT_WINDOW published posts are searched, read through the date
//   index, and the page says so. Common words fill a page long before that; a rare phrase
//   of common words, or a word excluded from nearly every post holding another, costs at
//   most that many rows instead of all of them.
// Best match then ranks the newest RELEVANCE_POOL matches; newest first pages by cursor.
// And the statements run under their own short statement timeout.
import { DatabaseError, QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { SearchTimeoutError } from '../errors.js';
import { keysetPage, numberedPage, offsetFor, type Page, PAGE_FETCH, type Position } from './pagination.js';
import { type PostSummary, type PostsService, summaryColumns, type SummaryRow, toSummary } from './posts.service.js';
import { type Candidates, lexemesOf, parseCandidates, upperBound } from './search-candidates.js';

export type SearchOrder = 'relevance' | 'newest';

/** How many of the newest matches best match ranks: 10 pages. */
export const RELEVANCE_POOL = 200;
/** Up to this many posts holding a query's words (as estimated), every post is searched. */
export const INDEX_CANDIDATES = 5000;
/** Past INDEX_CANDIDATES, how many of the newest published posts are searched. */
export const RECENT_WINDOW = 5000;

/** Text in which the matched words are marked: the only markup a snippet can carry. */
export type Highlighted = { text: string; mark: boolean }[];

export interface SearchHit extends PostSummary {
  titleHighlighted: Highlighted;
  /** The passages of the body that matched, or its start when only the title did. */
  snippet: Highlighted;
}

export interface SearchResult extends Page<SearchHit> {
  /** The query has no word that search can use: only stop words ("the", "of") or punctuation. */
  readonly stopWordsOnly: boolean;
  /** Only the newest RECENT_WINDOW posts were searched: so many hold the query's words. */
  readonly recentOnly: boolean;
}

// ts_headline puts these around each match. They are private-use characters, removed from
// the text first, so that the marks are the only thing in a snippet that is not the
// author's text; the view escapes that text and writes the marks as <mark> elements.
const MARK_START = '\uE000';
const MARK_END = '\uE001';
const HEADLINE_OPTIONS = `StartSel=${MARK_START}, StopSel=${MARK_END}`;
// One passage: two cost ten times as much to choose (about 0.1 ms a result against 0.01).
const SNIPPET_OPTIONS = `${HEADLINE_OPTIONS}, MaxFragments=1, MinWords=15, MaxWords=35`;
// ts_headline parses the text it is given: a 100,000-character body would cost
// milliseconds per result. Matches past this point show the body's start instead.
const SNIPPET_SOURCE_CHARS = 20_000;
const QUERY_CANCELED = '57014';

/**
 * The Markdown syntax a passage of source shows (links, emphasis, headings, code marks),
 * read as the words it decorates. A link whose address holds a match stays as it is.
 */
export function plainPassage(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)\s\uE000\uE001]*\)/g, '$1')
    .replace(/(^|\s)#{1,6}\s/g, '$1')
    .replace(/\*+|`+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Text with marks, as ts_headline wrote it, into plain pieces. */
export function parseHighlighted(headline: string): Highlighted {
  const pieces: Highlighted = [];
  let mark = false;
  for (const part of headline
    .replace(/\s+/g, ' ')
    .trim()
    .split(/([\uE000\uE001])/)) {
    if (part === MARK_START) mark = true;
    else if (part === MARK_END) mark = false;
    else if (part !== '') pieces.push({ text: part, mark });
  }
  return pieces;
}

interface EstimatedPlan {
  'Plan Rows': number;
  Plans?: EstimatedPlan[];
}

interface HitRow extends SummaryRow {
  titleHeadline: string;
  snippet: string;
}

/** The columns of a hit, over posts p and users u, with the tsquery bound as $1. */
function hitColumns(): string {
  const clean = (column: string): string => `translate(${column}, '${MARK_START}${MARK_END}', '')`;
  return `${summaryColumns('published_at')},
          ts_headline('english', ${clean('p.title')}, $1::tsquery, 'HighlightAll=true, ${HEADLINE_OPTIONS}')
            AS "titleHeadline",
          ts_headline('english', ${clean(`left(p.body, ${SNIPPET_SOURCE_CHARS})`)}, $1::tsquery, '${SNIPPET_OPTIONS}')
            AS snippet`;
}

function toHit(row: HitRow): SearchHit {
  return {
    ...toSummary(row),
    titleHighlighted: parseHighlighted(row.titleHeadline),
    snippet: parseHighlighted(plainPassage(row.snippet)),
  };
}

/**
 * The posts searched, as p: the published ones matching $1 found through the GIN index (the
 * subquery fences the planner off from walking the date index instead), or the newest
 * RECENT_WINDOW published posts, read through the date index. Narrowed to a tag: those of
 * the matches that carry it, or the tag's newest RECENT_WINDOW, read through its own date
 * index. (The tag's id is the database's own integer, written into the text.)
 */
function searchedPosts(recentOnly: boolean, tagId: number | undefined): string {
  const tag = tagId === undefined ? undefined : Math.trunc(tagId);
  if (recentOnly) {
    return tag === undefined
      ? `(SELECT * FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT ${RECENT_WINDOW}) p`
      : `(SELECT posts.* FROM post_tags pt JOIN posts ON posts.id = pt.post_id
           WHERE pt.tag_id = ${tag} AND pt.published_at IS NOT NULL
           ORDER BY pt.published_at DESC, pt.post_id DESC LIMIT ${RECENT_WINDOW}) p`;
  }
  const tagged =
    tag === undefined
      ? ''
      : ` AND EXISTS (SELECT 1 FROM post_tags pt WHERE pt.post_id = posts.id AND pt.tag_id = ${tag})`;
  return `(SELECT * FROM posts WHERE published AND search_vector @@ $1::tsquery${tagged} OFFSET 0) p`;
}

function isTimeout(error: unknown): boolean {
  return error instanceof DatabaseError && (error.parent as { code?: string } | undefined)?.code === QUERY_CANCELED;
}

/** No result: a first page with nothing on it, and no later page (a 404 past the first). */
function emptyPage(order: SearchOrder, position: Position): Page<SearchHit> {
  return order === 'relevance'
    ? numberedPage<SearchHit>([], position.page ?? 1)
    : keysetPage<SearchHit>([], position, (hit) => hit.cursor);
}

export function createPostSearch(sequelize: Sequelize, posts: PostsService, options: { timeoutMs: number }) {
  /** One page by relevance: the newest RELEVANCE_POOL matches ranked, title matches first. */
  async function byRelevance(
    query: string,
    searched: string,
    page: number,
    transaction: Transaction,
  ): Promise<Page<SearchHit>> {
    const rows = await sequelize.query<HitRow>(
      `WITH pool AS MATERIALIZED (
         SELECT p.id, p.published_at
           FROM ${searched}
          WHERE p.published AND p.search_vector @@ $1::tsquery
          ORDER BY p.published_at DESC, p.id DESC
          LIMIT ${RELEVANCE_POOL}
       ), ranked AS (
         SELECT pool.id, pool.published_at,
                ts_filter(p.search_vector, '{a}') @@ $1::tsquery AS in_title,
                ts_rank(p.search_vector, $1::tsquery) AS rank
           FROM pool JOIN posts p ON p.id = pool.id
          ORDER BY in_title DESC, rank DESC, pool.published_at DESC, pool.id DESC
          LIMIT $2 OFFSET $3
       )
       SELECT ${hitColumns()}
         FROM ranked r JOIN posts p ON p.id = r.id JOIN users u ON u.id = p.author_id
        ORDER BY r.in_title DESC, r.rank DESC, r.published_at DESC, r.id DESC`,
      { bind: [query, PAGE_FETCH, offsetFor({ page })], type: QueryTypes.SELECT, transaction },
    );
    return numberedPage(rows.map(toHit), page);
  }

  /**
   * Whether more than INDEX_CANDIDATES published posts may match `candidates`: an upper
   * bound from the planner's estimate for each lexeme alone, which comes from the
   * column's statistics. One plan of one query per lexeme, reading no row.
   */
  async function holdMany(candidates: Candidates, transaction: Transaction): Promise<boolean> {
    const lexemes = lexemesOf(candidates);
    const selects = lexemes.map(
      (_, i) => `SELECT 1 FROM posts WHERE published AND search_vector @@ $${i + 1}::tsquery`,
    );
    const [explained] = await sequelize.query<{ 'QUERY PLAN': [{ Plan: EstimatedPlan }] }>(
      `EXPLAIN (FORMAT JSON) ${selects.join(' UNION ALL ')}`,
      { bind: lexemes, type: QueryTypes.SELECT, transaction },
    );
    const plan = explained?.['QUERY PLAN'][0].Plan;
    if (!plan) return true;
    // One lexeme: the scan itself; several: one scan a lexeme under an Append, in order.
    const scans = lexemes.length === 1 ? [plan] : (plan.Plans ?? []);
    if (scans.length !== lexemes.length) return true;
    const estimates = new Map(lexemes.map((lexeme, i) => [lexeme, scans[i]!['Plan Rows']]));
    return upperBound(candidates, (lexeme) => estimates.get(lexeme) ?? Number.POSITIVE_INFINITY) > INDEX_CANDIDATES;
  }

  /** The id of the tag named `name`, or null when there is none. */
  async function tagIdOf(name: string, transaction: Transaction): Promise<number | null> {
    const [found] = await sequelize.query<{ id: number }>('SELECT id FROM tags WHERE name = $1', {
      bind: [name],
      type: QueryTypes.SELECT,
      transaction,
    });
    return found?.id ?? null;
  }

  return {
    /**
     * Published posts matching `q` (words, "phrases", or, -word), a page of them with
     * their snippets; only those tagged `tag` when given (none when no post ever had it).
     * Throws SearchTimeoutError when the search outlasts its timeout.
     */
    async search(q: string, order: SearchOrder, position: Position, tag?: string): Promise<SearchResult> {
      try {
        // Read-only: with replicas configured, a search may run on a standby.
        return await sequelize.transaction({ readOnly: true }, async (transaction) => {
          const [parsed] = await sequelize.query<{ query: string; indexed: string }>(
            `SELECT set_config('statement_timeout', $1, true), q::text AS query, querytree(q) AS indexed
               FROM websearch_to_tsquery('english', $2) AS q`,
            { bind: [String(options.timeoutMs), q], type: QueryTypes.SELECT, transaction },
          );
          const query = parsed?.query ?? '';
          const tagId = tag === undefined ? undefined : await tagIdOf(tag, transaction);
          if (tagId === null) return { ...emptyPage(order, position), stopWordsOnly: false, recentOnly: false };
          if (query === '') {
            // Nothing to look for: the first page says so, and no later page exists.
            return { ...emptyPage(order, position), stopWordsOnly: true, recentOnly: false };
          }
          const candidates = parseCandidates(parsed?.indexed ?? '');
          // The estimate is over every published post: narrowed to a tag, it bounds from above.
          const recentOnly = candidates === undefined || (await holdMany(candidates, transaction));
          const searched = searchedPosts(recentOnly, tagId);
          const page =
            order === 'relevance'
              ? await byRelevance(query, searched, position.page ?? 1, transaction)
              : await posts.summaryPage<HitRow, SearchHit>({
                  from: searched,
                  filter: 'p.published AND p.search_vector @@ $1::tsquery',
                  bind: [query],
                  columns: hitColumns(),
                  position,
                  transaction,
                  map: toHit,
                });
          return { ...page, stopWordsOnly: false, recentOnly };
        });
      } catch (error) {
        if (isTimeout(error)) throw new SearchTimeoutError();
        throw error;
      }
    },
  };
}

export type PostSearch = ReturnType<typeof createPostSearch>;
