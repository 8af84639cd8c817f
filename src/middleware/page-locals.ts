import type { Request, RequestHandler } from 'express';
import { matchedData } from 'express-validator';
import { originOf } from '../rendering/feeds.js';

// What of a URL's query chooses a page's content, in the one order a canonical URL gives it.
const CONTENT_QUERY = ['q', 'tag', 'order', 'page', 'after', 'before'];

/**
 * The path a page is best known by: the request's own, with only the query that chooses
 * what it shows (validated, as the page read it), in one order. A page whose path holds a
 * name in any case (/users/Maya) gives its own, in the name's case.
 */
function canonicalPathOf(req: Request): string {
  const query = matchedData<Record<string, string | number | undefined>>(req, { locations: ['query'] });
  const params = new URLSearchParams();
  for (const key of CONTENT_QUERY) {
    const value = query[key];
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return `${req.baseUrl}${req.path}${search ? `?${search}` : ''}`;
}

/** What every page reads about its request, and how a personal page may be kept. */
export function pageLocals(options: { publicUrl: string | undefined }): RequestHandler {
  return (req, res, next) => {
    res.locals.currentPath = req.originalUrl;
    /** `path` as an absolute URL: PUBLIC_URL's origin, else the request's (as the feeds do). */
    res.locals.absoluteUrl = (path: string): string => originOf(req, options.publicUrl) + path;
    res.locals.canonicalPathOf = (): string => canonicalPathOf(req);
    // Pages for a logged-in person stay out of shared caches and the back-forward cache.
    if (req.user) res.setHeader('Cache-Control', 'no-store');
    next();
  };
}
