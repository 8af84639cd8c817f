import type { Request, RequestHandler } from 'express';
import {
  body,
  matchedData,
  param,
  query,
  type ValidationChain,
  type ValidationError,
  validationResult,
} from 'express-validator';
import { NotFoundError } from '../errors.js';
import { MAX_PAGE, type Position, POST_CURSOR, USERNAME_CURSOR } from '../services/pagination.js';
import { TAG_PATTERN, USERNAME_PATTERN } from '../models/fields.js';
import { SITEMAP_KINDS } from '../services/sitemaps.service.js';
import { TAG_CURSOR } from '../services/tags.service.js';

export type FieldErrors = Record<string, string>;

/** A field sent more than once (or not as text) by something other than our forms. */
export const NOT_TEXT = 'Send this field once, as text.';

/** Unicode NFC, so that the same text typed on two systems is stored the same. */
export const nfc = (value: unknown): unknown => (typeof value === 'string' ? value.normalize('NFC') : value);

// Control characters have no place in text people type: NUL is refused by PostgreSQL
// itself, and the others can hide or spoof text. Multi-line fields keep tab and newlines.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_CHARACTERS_BUT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/**
 * One piece of text from a form: a single string, Unicode NFC, trimmed (only at the end
 * when `multiline`), without control characters (and on one line unless `multiline`);
 * absent is empty.
 */
export const textField = (field: string, options: { multiline?: boolean } = {}): ValidationChain =>
  body(field)
    .default('')
    .isString()
    .withMessage(NOT_TEXT)
    .bail()
    .customSanitizer(nfc)
    // Leading spaces can be Markdown (an indented code block): multi-line text keeps them.
    .customSanitizer((value: string) => (options.multiline ? value.trimEnd() : value.trim()))
    .not()
    .matches(options.multiline ? CONTROL_CHARACTERS_BUT_WHITESPACE : CONTROL_CHARACTERS)
    .withMessage(options.multiline ? 'Remove the control characters.' : 'Use a single line of text.')
    .bail();

/** The first error message of each field, or undefined when the input is valid. */
export function fieldErrors(req: Request): FieldErrors | undefined {
  const errors: FieldErrors = {};
  for (const error of validationResult(req).array()) {
    if (error.type === 'field' && error.location === 'body') errors[error.path] ??= String(error.msg);
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}

/** Valid input of a chain set, typed; anything the chains don't name is dropped. */
export function formData<T>(req: Request): T {
  return matchedData(req, { locations: ['body'], includeOptionals: true }) as T;
}

// A repeated parameter (?page=1&page=2) arrives as an array: refused like any garbage.
export const pageQuery: ValidationChain = query('page')
  .optional()
  .isString()
  .bail()
  .matches(/^[1-9][0-9]{0,6}$/)
  .bail()
  .isInt({ max: MAX_PAGE })
  .toInt();
// The largest id an integer column holds: ids beyond it name nothing, and PostgreSQL would
// refuse to compare them.
const MAX_ID = 2_147_483_647;
const cursorQuery = (name: 'after' | 'before', pattern: RegExp): ValidationChain =>
  query(name).optional().isString().bail().matches(pattern);
const postCursorQuery = (name: 'after' | 'before'): ValidationChain =>
  cursorQuery(name, POST_CURSOR)
    .bail()
    .custom((value: string) => Number(POST_CURSOR.exec(value)?.[2]) <= MAX_ID);
/** A search narrowed to a tag: ?tag=<name>, any case. */
const tagQuery: ValidationChain = query('tag')
  .optional({ values: 'falsy' })
  .isString()
  .bail()
  .matches(new RegExp(TAG_PATTERN.source, 'i'))
  .bail()
  .toLowerCase();
/** Where a list of posts starts: ?page=N, ?after=<cursor> or ?before=<cursor>. */
const postListChains: ValidationChain[] = [pageQuery, postCursorQuery('after'), postCursorQuery('before')];
const userListChains: ValidationChain[] = [
  pageQuery,
  cursorQuery('after', USERNAME_CURSOR),
  cursorQuery('before', USERNAME_CURSOR),
];
/** A search is at most this long and holds at most this many words: a longer one is refused (422). */
export const SEARCH_MAX_LENGTH = 200;
export const SEARCH_MAX_WORDS = 12;
const searchQuery: ValidationChain = query('q')
  .optional()
  .isString()
  .bail()
  .customSanitizer(nfc)
  // Control characters cannot match anything people wrote; NUL would break the query.
  .customSanitizer((value: string) => value.replace(new RegExp(CONTROL_CHARACTERS, 'g'), ' '))
  .trim()
  .isLength({ max: SEARCH_MAX_LENGTH })
  .withMessage(`Keep your search to ${SEARCH_MAX_LENGTH} characters.`)
  .bail()
  .custom((value: string) => value.split(/\s+/).filter((word) => word !== '').length <= SEARCH_MAX_WORDS)
  .withMessage(`Search for at most ${SEARCH_MAX_WORDS} words.`);
/** How search results are ordered: best match first (the default) or newest first. */
// The form's "Best match" sends an empty order. isIn alone would accept
// ?order=newest&order=newest: it checks each item of an array.
const searchOrderQuery: ValidationChain = query('order')
  .optional({ values: 'falsy' })
  .isString()
  .bail()
  .isIn(['newest']);
/**
 * Checks of the query string, skipped when there is none: a list asked for bare (/posts,
 * most visits) has nothing to check, and running the chains over nothing cost a tenth of
 * such a page's time.
 */
function queryString(chains: ValidationChain[]): RequestHandler {
  return async (req, _res, next) => {
    if (req.url.includes('?')) for (const chain of chains) await chain.run(req);
    next();
  };
}

/** A profile's list of posts. */
export const postListQuery = queryString(postListChains);
/** The posts: where the list starts, or a search and its order. */
export const postsIndexQuery = queryString([...postListChains, searchQuery, searchOrderQuery, tagQuery]);
/** The tags: where the list starts. */
export const tagsIndexQuery = queryString([cursorQuery('after', TAG_CURSOR), cursorQuery('before', TAG_CURSOR)]);
/** A post's page: where its comments start. */
export const commentsQuery = queryString([postCursorQuery('after'), postCursorQuery('before')]);
/** The people: where the list starts, or a search. */
export const usersIndexQuery = queryString([...userListChains, searchQuery]);

// Digits only, no sign or leading zero: one URL per post (or comment).
const idOf = (name: string): ValidationChain =>
  param(name)
    .matches(/^[1-9][0-9]{0,9}$/)
    .bail()
    .isInt({ max: MAX_ID })
    .toInt();
export const idParam: ValidationChain = idOf('id');
export const commentIdParam: ValidationChain = idOf('commentId');
/** A sitemap file's kind and number: /sitemaps/posts-3.xml. */
export const sitemapFileParams: ValidationChain[] = [
  param('kind').isIn(SITEMAP_KINDS),
  param('file').isInt({ min: 1, max: 1_000_000, allow_leading_zeroes: false }).toInt(),
];
// Any case in a URL: /users/Maya reaches maya.
export const usernameParam: ValidationChain = param('username').matches(new RegExp(USERNAME_PATTERN.source, 'i'));
// Any case in a URL: /tags/Baking reaches baking.
export const tagParam: ValidationChain = param('name')
  .matches(new RegExp(TAG_PATTERN.source, 'i'))
  .bail()
  .toLowerCase();
// A mailed link's token: its form is checked where it is looked up, for the one page a bad link gets.
export const tokenParam: ValidationChain = param('token').isString();

export interface ListQuery {
  position: Position;
  q?: string;
  /** Why the search cannot run (too long, too many words); `q` is then the text as typed. */
  searchError?: string;
}

/** A search the limits refuse: a text, but too long or too wordy (an array is malformed). */
const isRefusedSearch = (error: ValidationError): boolean =>
  error.type === 'field' && error.location === 'query' && error.path === 'q' && typeof error.value === 'string';

/** Reads validated URL parts; a malformed id, username or page is a 404, not a 500. */
export function urlData<T>(req: Request): T {
  const malformed = validationResult(req)
    .array()
    .some(
      (error) =>
        error.type === 'field' &&
        (error.location === 'params' || error.location === 'query') &&
        !isRefusedSearch(error),
    );
  if (malformed) throw new NotFoundError();
  const data = matchedData<{ q?: string }>(req, { locations: ['params', 'query'] });
  return { ...data, q: data.q || undefined } as T;
}

/** Where a list starts and what it searches; two starting points at once is a 404. */
/**
 * urlData for a list: where it starts (?page=N, ?after=<cursor> or ?before=<cursor>) is
 * one of them at most, else there is no such page (404).
 */
export function listData<T extends Position>(req: Request): T {
  const data = urlData<T>(req);
  if ([data.page, data.after, data.before].filter((start) => start !== undefined).length > 1) throw new NotFoundError();
  return data;
}

export function listQuery(req: Request): ListQuery {
  const { page, after, before, q } = listData<Position & { q?: string }>(req);
  const refused = validationResult(req).array().find(isRefusedSearch);
  if (refused) {
    const typed = matchedData<{ q: string }>(req, { locations: ['query'], onlyValidData: false }).q;
    return { position: { page, after, before }, q: typed, searchError: String(refused.msg) };
  }
  return { position: { page, after, before }, q };
}
