import fs from 'node:fs';
import path from 'node:path';
import ejs from 'ejs';
import { MAX_LENGTH, MAX_TAGS } from '../models/fields.js';
import { paths } from '../paths.js';

export const VIEWS_DIR = path.resolve(__dirname, '../../views');
const LAYOUT = path.join(VIEWS_DIR, 'layout.ejs');
const POST_SUMMARY = path.join(VIEWS_DIR, 'partials/post-summary.ejs');
const COMMENT = path.join(VIEWS_DIR, 'partials/comment.ejs');
const PAGINATION = path.join(VIEWS_DIR, 'partials/pagination.ejs');

type RenderCallback = (error: Error | null, html?: string) => void;

const HTML_SPECIAL = /[&<>'"]/;

/**
 * EJS's escaping, skipped for text that has nothing to escape (most of a page: names,
 * links, plain sentences): EJS's own replaces with a callback whatever the text.
 */
export function escapeHtml(value: string | number | boolean | null | undefined): string {
  const text = value == null ? '' : String(value);
  return HTML_SPECIAL.test(text) ? ejs.escapeXML(text) : text;
}

/**
 * EJS with one shared layout: each page renders first, then the layout around it as
 * `body`. A page opts out with `layout: false`.
 */
export function renderWithLayout(file: string, options: object, callback: RenderCallback): void {
  ejs.renderFile(file, options, (error, body) => {
    if (error) return callback(error);
    if ((options as { layout?: boolean }).layout === false) return callback(null, body);
    ejs.renderFile(LAYOUT, { ...options, body }, callback);
  });
}

const dateFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});

const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Intl's formatting is the costliest part of a list row, and its answers depend only on
// the day or on (number, unit): kept, bounded, for the next rows and requests.
const MS_PER_DAY = 86_400_000;
const KEPT = 10_000;
const byDay = new Map<number, string>();
const byDistance = new Map<string, string>();

function remembered<K>(cache: Map<K, string>, key: K, make: () => string): string {
  let value = cache.get(key);
  if (value === undefined) {
    if (cache.size >= KEPT) cache.clear();
    value = make();
    cache.set(key, value);
  }
  return value;
}

const timeOf = (date: Date | string | number): number =>
  typeof date === 'number' ? date : typeof date === 'string' ? Date.parse(date) : date.getTime();

function formatDate(date: Date | string | number): string {
  const time = timeOf(date);
  return remembered(byDay, Math.floor(time / MS_PER_DAY), () => dateFormat.format(time));
}

function relative(value: number, unit: Intl.RelativeTimeFormatUnit): string {
  return remembered(byDistance, `${value} ${unit}`, () => relativeFormat.format(value, unit));
}

/** "just now", "5 minutes ago", "yesterday", "3 weeks ago"; the date itself past two months. */
export function timeAgo(date: Date | string | number, now: number = Date.now()): string {
  const seconds = (timeOf(date) - now) / 1000;
  const distance = Math.abs(seconds);
  if (distance < MINUTE) return 'just now';
  if (distance < HOUR) return relative(Math.round(seconds / MINUTE), 'minute');
  if (distance < DAY) return relative(Math.round(seconds / HOUR), 'hour');
  if (distance < 14 * DAY) return relative(Math.round(seconds / DAY), 'day');
  if (distance < 60 * DAY) return relative(Math.round(seconds / (7 * DAY)), 'week');
  return formatDate(date);
}

// The part of a <time> that depends on the instant alone, by instant: a list shows the same
// posts to request after request.
const openings = new Map<number, string>();

/**
 * A date as people read it ("3 days ago"), with the exact date on hover and the machine
 * form in datetime: markup for `<%-`, every part escaped (an ISO date needs none). A helper
 * rather than a partial: lists show one per row, and an EJS include costs far more than a
 * function call.
 */
function timeTag(date: Date | string): string {
  const time = timeOf(date);
  const opening = remembered(
    openings,
    time,
    () => `<time datetime="${new Date(time).toISOString()}" title="${ejs.escapeXML(formatDate(date))}">`,
  );
  return `${opening}${escapeHtml(timeAgo(time))}</time>`;
}

/**
 * Text with its matched words marked (a search result's title or snippet: pieces of
 * { text, mark }) as markup for `<%-`: each text escaped, the marks the only elements. A
 * helper for the same reason as timeTag: two a result, twenty results a page.
 */
function highlighted(pieces: readonly { text: string; mark: boolean }[]): string {
  return pieces.map(({ text, mark }) => (mark ? `<mark>${escapeHtml(text)}</mark>` : escapeHtml(text))).join('');
}

/** A post as a list shows it (the services' PostSummary adds where it stands in its list). */
export interface ListedPost {
  id: number;
  title: string;
  excerpt: string;
  published: boolean;
  publishedAt: Date | null;
  createdAt: Date;
  author: { username: string; displayName: string };
}

type Template<Locals> = (locals: Locals) => string;

/**
 * A partial compiled once into a plain function of the locals it names, for what pages
 * repeat (twenty posts, fifty comments, the page links of every list): an EJS include would
 * copy every local of the page for each call and run the partial inside `with`, where each
 * name is looked up the slow way; together three times the cost of the markup itself.
 * `npm run dev` restarts when a view changes.
 */
function compiledPartial<Locals extends object>(file: string, names: (keyof Locals & string)[]): Template<Locals> {
  let template: Template<Locals> | undefined;
  return (locals) => {
    template ??= ejs.compile(fs.readFileSync(file, 'utf8'), {
      filename: file,
      _with: false,
      destructuredLocals: names,
      escape: escapeHtml,
    } as ejs.Options) as Template<Locals>;
    return template(locals);
  };
}

const postSummaryTemplate = compiledPartial<{
  post: ListedPost;
  showAuthor: boolean;
  heading: 2 | 3;
  paths: typeof paths;
  timeTag: typeof timeTag;
}>(POST_SUMMARY, ['post', 'showAuthor', 'heading', 'paths', 'timeTag']);

/**
 * One row of a list of posts (views/partials/post-summary.ejs). Its title is a heading one
 * level under the list's own: an h3 under a section's h2 by default, an h2 where the list
 * is the page (under its h1).
 */
function postSummary(post: ListedPost, options: { showAuthor?: boolean; heading?: 2 | 3 } = {}): string {
  return postSummaryTemplate({
    post,
    showAuthor: options.showAuthor ?? true,
    heading: options.heading ?? 3,
    paths,
    timeTag,
  });
}

/** What the pagination links need of a page: the queries of the pages before and after, and its label. */
export interface PageLinks {
  previous?: object;
  next?: object;
  label?: string;
}

const paginationTemplate = compiledPartial<{
  result: PageLinks;
  href: (query: object) => string;
  previousLabel: string;
  nextLabel: string;
}>(PAGINATION, ['result', 'href', 'previousLabel', 'nextLabel']);

/**
 * The links to a list's pages before and after this one (views/partials/pagination.ejs):
 * `href(query)` is the URL of the page a query opens; `labels` name them, by default
 * newer and older.
 */
function pagination(result: PageLinks, href: (query: object) => string, labels = ['Newer', 'Older']): string {
  const [previousLabel = 'Newer', nextLabel = 'Older'] = labels;
  return paginationTemplate({ result, href, previousLabel, nextLabel });
}

/** A comment as its thread shows it, with what the viewer may do to it. */
export interface ShownComment {
  id: number;
  body: string;
  createdAt: Date;
  edited: boolean;
  author: { username: string; displayName: string };
  canEdit: boolean;
  canDelete: boolean;
}

const commentTemplate = compiledPartial<{
  comment: ShownComment;
  postId: number;
  csrfToken: () => string;
  paths: typeof paths;
  timeTag: typeof timeTag;
}>(COMMENT, ['comment', 'postId', 'csrfToken', 'paths', 'timeTag']);

/**
 * A page of a post's thread, each comment by views/partials/comment.ejs; `csrfToken` is the
 * page's own. The loop is here rather than in the page: inside EJS's `with`, every name a
 * line uses is looked up the slow way, fifty times over.
 */
function commentList(comments: readonly ShownComment[], postId: number, csrfToken: () => string): string {
  let html = '';
  for (const comment of comments) html += commentTemplate({ comment, postId, csrfToken, paths, timeTag });
  return html;
}

/** Helpers every view can call. */
export const viewHelpers = {
  // Forms' maxlength attributes: the same limits the validators and columns hold.
  maxLength: MAX_LENGTH,
  maxTags: MAX_TAGS,
  timeTag,
  highlighted,
  postSummary,
  commentList,
  pagination,
  plural: (count: number, one: string, many = `${one}s`): string =>
    `${count.toLocaleString('en')} ${count === 1 ? one : many}`,
};
