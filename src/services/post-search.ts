// Full-text search of published posts: PostgreSQL's websearch_to_tsquery over the stored
// posts.search_vector (title words weighted A, body words B) and its GIN index. Every
// search does bounded work, whatever it asks for:
// - best match ranks only the newest RELEVANCE_POOL matches. The planner finds them through
//   the GIN index when the words are rare, or by walking the date index and stopping once
//   the pool is full when they are common;
// - newest first pages by cursor, as /posts does, a page reading until it has 20 matches;
// - a phrase ("quiet morning") is checked against the stored word positions of each post
//   that holds all its words, which the index finds but cannot check. When the planner
//   expects more than PHRASE_CANDIDATES posts to hold them, the phrase is looked for among
//   the newest PHRASE_WINDOW published posts only: a rare phrase of common words could
//   otherwise mean reading every post;
// - and the statements run under their own short statement timeout.
import { DatabaseError, QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { SearchTimeoutError } from '../errors.js';
import { keysetPage, numberedPage, offsetFor, type Page, PAGE_FETCH, type Position } from './pagination.js';
import { type PostSummary, type PostsService, summaryColumns, type SummaryRow, toSummary } from './posts.service.js';

export type SearchOrder = 'relevance' | 'newest';

/** How many of the newest matches a relevance search ranks: 25 pages. */
export const RELEVANCE_POOL = 500;
/** Up to this many posts holding a phrase's words, the phrase is looked for in all posts. */
export const PHRASE_CANDIDATES = 2000;
/** Past PHRASE_CANDIDATES, how many of the newest published posts a phrase is looked for in. */
export const PHRASE_WINDOW = 10_000;

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
  /** The query holds a phrase of common words, looked for among the newest PHRASE_WINDOW posts only. */
  readonly recentOnly: boolean;
}

// ts_headline puts these around each match. They are private-use characters, removed from
// the text first, so that the marks are the only thing in a snippet that is not the
// author's text; the view escapes that text and writes the marks as <mark> elements.
const MARK_START = '\uE000';
const MARK_END = '\uE001';
const HEADLINE_OPTIONS = `StartSel=${MARK_START}, StopSel=${MARK_END}`;
const SNIPPET_OPTIONS = `${HEADLINE_OPTIONS}, MaxFragments=2, MinWords=12, MaxWords=30, FragmentDelimiter=" … "`;
// ts_headline parses the text it is given: a 100,000-character body would cost
// milliseconds per result. Matches past this point show the body's start instead.
const SNIPPET_SOURCE_CHARS = 20_000;
// A phrase operator of a tsquery's text form, <-> or <N>, and its quoted lexemes.
const PHRASE_OPERATOR = /<(?:-|\d+)>/g;
const QUOTED_LEXEME = /('(?:[^']|'')*')/;

/**
 * The part of a query the GIN index serves (querytree: its negations left out), with each
 * phrase loosened to "all these words": the posts the index hands over for checking.
 * Undefined when the query holds no phrase there.
 */
export function phraseCandidates(indexed: string): string | undefined {
  const parts = indexed.split(QUOTED_LEXEME);
  // split() with a capturing group: the lexemes are the odd parts.
  const operators = parts.filter((_, i) => i % 2 === 0);
  if (!operators.some((part) => part.match(PHRASE_OPERATOR))) return undefined;
  return parts.map((part, i) => (i % 2 === 0 ? part.replace(PHRASE_OPERATOR, '&') : part)).join('');
}

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

/** The posts searched: all published ones, or the newest PHRASE_WINDOW of them. */
function searchedPosts(recentOnly: boolean): string {
  return recentOnly
    ? `(SELECT * FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT ${PHRASE_WINDOW}) p`
    : 'posts p';
}

function isTimeout(error: unknown): boolean {
  return error instanceof DatabaseError && (error.parent as { code?: string } | undefined)?.code === QUERY_CANCELED;
}

export function createPostSearch(sequelize: Sequelize, posts: PostsService, options: { timeoutMs: number }) {
  /** One page by relevance: the newest RELEVANCE_POOL matches ranked, title matches first. */
  async function byRelevance(
    query: string,
    recentOnly: boolean,
    page: number,
    transaction: Transaction,
  ): Promise<Page<SearchHit>> {
    const rows = await sequelize.query<HitRow>(
      `WITH pool AS MATERIALIZED (
         SELECT p.id, p.published_at
           FROM ${searchedPosts(recentOnly)}
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
   * Whether more than PHRASE_CANDIDATES published posts hold all the words of the query's
   * phrases, as the planner estimates it from the column's statistics: planning reads no
   * row, where counting them could read thousands.
   */
  async function holdMany(candidates: string, transaction: Transaction): Promise<boolean> {
    const [explained] = await sequelize.query<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }>(
      'EXPLAIN (FORMAT JSON) SELECT 1 FROM posts WHERE published AND search_vector @@ $1::tsquery',
      { bind: [candidates], type: QueryTypes.SELECT, transaction },
    );
    const estimate = explained?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? Number.POSITIVE_INFINITY;
    return estimate > PHRASE_CANDIDATES;
  }

  return {
    /**
     * Published posts matching `q` (words, "phrases", or, -word), a page of them with
     * their snippets. Throws SearchTimeoutError when the search outlasts its timeout.
     */
    async search(q: string, order: SearchOrder, position: Position): Promise<SearchResult> {
      try {
        // Read-only: with replicas configured, a search may run on a standby.
        return await sequelize.transaction({ readOnly: true }, async (transaction) => {
          const [parsed] = await sequelize.query<{ query: string; indexed: string }>(
            `SELECT set_config('statement_timeout', $1, true), q::text AS query, querytree(q) AS indexed
               FROM websearch_to_tsquery('english', $2) AS q`,
            { bind: [String(options.timeoutMs), q], type: QueryTypes.SELECT, transaction },
          );
          const query = parsed?.query ?? '';
          if (query === '') {
            // Nothing to look for: the first page says so, and no later page exists.
            const empty =
              order === 'relevance'
                ? numberedPage<SearchHit>([], position.page ?? 1)
                : keysetPage<SearchHit>([], position, (hit) => hit.cursor);
            return { ...empty, stopWordsOnly: true, recentOnly: false };
          }
          const candidates = phraseCandidates(parsed?.indexed ?? '');
          const recentOnly = candidates !== undefined && (await holdMany(candidates, transaction));
          const page =
            order === 'relevance'
              ? await byRelevance(query, recentOnly, position.page ?? 1, transaction)
              : await posts.summaryPage<HitRow, SearchHit>({
                  from: searchedPosts(recentOnly),
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
