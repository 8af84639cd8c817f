import { NotFoundError } from '../errors.js';
import { USERNAME_PATTERN } from '../models/fields.js';

export const PAGE_SIZE = 20;
/**
 * Page numbers stop here. Lists page by cursor (a page deep in the list costs what the
 * first does); numbers remain for search results and old bookmarks, and an OFFSET
 * of at most (MAX_PAGE - 1) × PAGE_SIZE rows stays cheap.
 */
export const MAX_PAGE = 50;

/**
 * Where a page of a list starts: the first page, page `page` (by number), or just after or
 * just before the item whose cursor is given. At most one is set (the validator sees to it).
 */
export interface Position {
  page?: number;
  after?: string;
  before?: string;
}

/**
 * A post's cursor as URLs carry it: its sort column (published_at, or created_at for a
 * profile's owner) in microseconds since 1970, a dash, its id. Exact where a Date would
 * round to milliseconds, and still valid after the post itself is gone.
 */
export const POST_CURSOR = /^(0|[1-9][0-9]{0,15})-([1-9][0-9]{0,9})$/;
/** A user's cursor: the username (the users list is ordered by it). */
export const USERNAME_CURSOR = USERNAME_PATTERN;

/** The query string (as an object) that opens a neighbouring page; {} is the first page. */
export type PageQuery = { page?: number; after?: string; before?: string };

export interface Page<T> {
  readonly items: T[];
  /** The page before this one (newer posts, earlier names), if there is one. */
  readonly previous?: PageQuery;
  readonly next?: PageQuery;
  /** "Page 3", for lists paged by number. */
  readonly label?: string;
}

/** How many rows to fetch for a page: one more than it shows tells whether more follow. */
export const PAGE_FETCH = PAGE_SIZE + 1;

export function offsetFor(position: Position): number {
  return ((position.page ?? 1) - 1) * PAGE_SIZE;
}

function pastTheEnd(items: unknown[], position: Position): void {
  if (items.length === 0 && (position.after ?? position.before ?? (position.page ?? 1) > 1)) {
    throw new NotFoundError('There is no such page.');
  }
}

/**
 * A page of a list read by cursor. `rows` are up to `size` + 1 rows in the direction of
 * travel (reversed order when paging `before`); `cursorOf` gives an item's cursor. An empty
 * page anywhere but at the start is a 404, as a page past the end always was.
 */
export function keysetPage<T>(
  rows: T[],
  position: Position,
  cursorOf: (item: T) => string,
  size: number = PAGE_SIZE,
): Page<T> {
  const more = rows.length > size;
  const items = rows.slice(0, size);
  pastTheEnd(items, position);
  const backwards = position.before !== undefined;
  if (backwards) items.reverse();
  const first = items[0];
  const last = items.at(-1);
  // Going back, the cursor's own item (or where it was) still follows this page.
  const hasPrevious = backwards ? more : position.after !== undefined || (position.page ?? 1) > 1;
  const hasNext = backwards || more;
  return {
    items,
    previous: hasPrevious && first ? { before: cursorOf(first) } : undefined,
    next: hasNext && last ? { after: cursorOf(last) } : undefined,
  };
}

/** A page of a list read by page number (search results), capped at MAX_PAGE. */
export function numberedPage<T>(rows: T[], page: number): Page<T> {
  const items = rows.slice(0, PAGE_SIZE);
  pastTheEnd(items, { page });
  return {
    items,
    previous: page > 2 ? { page: page - 1 } : page === 2 ? {} : undefined,
    next: rows.length > PAGE_SIZE && page < MAX_PAGE ? { page: page + 1 } : undefined,
    label: page > 1 || rows.length > PAGE_SIZE ? `Page ${page}` : undefined,
  };
}

/** A LIKE pattern matching `text` literally anywhere. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
