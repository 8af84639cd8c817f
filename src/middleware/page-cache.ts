import type { RequestHandler } from 'express';
import { LRUCache } from 'lru-cache';
import { labelRoute, routeOf } from '../observability/metrics.js';

/** Bytes of HTML kept per process, at most. */
const MAX_BYTES = 16 * 1024 * 1024;

interface CachedPage {
  contentType: string;
  html: string;
  /** The route that rendered it, so that a hit is counted under the same label. */
  route: string;
}

/**
 * Micro-caching of anonymous pages: a page rendered for a visitor without any cookie (no
 * session, so nothing personal on it: no name, no flash message, no CSRF token) is sent
 * again to the next such visitors of the same URL for `ttlMs`, without touching the
 * database. When a list is read far more often than it changes, this takes its cost from
 * one render per request to one per `ttlMs` per process, at the price of anonymous visitors
 * seeing a change up to `ttlMs` late. Whoever has a session (anyone logged in, so every
 * author) is never served from here and sees their own writes at once.
 *
 * Only complete 200 HTML answers to GET are kept, never one that sets a cookie or says
 * private/no-store; the cache is bounded (MAX_BYTES, least recently used out first). The
 * key is the URL, and the origin the request came by when `publicUrl` is unset: a page's
 * canonical and share links are absolute, on PUBLIC_URL or else on the request's origin;
 * nothing else of an anonymous request changes an HTML page.
 * Concurrent misses of one URL each render: at most a few per `ttlMs`, not worth a lock.
 */
export function pageCache(options: { ttlMs: number; publicUrl: string | undefined }): RequestHandler {
  if (options.ttlMs <= 0) return (_req, _res, next) => next();
  const pages = new LRUCache<string, CachedPage>({
    maxSize: MAX_BYTES,
    sizeCalculation: (page) => Math.max(1, page.html.length),
    ttl: options.ttlMs,
    // An expired page is never served, even if still in memory.
    allowStale: false,
  });
  return (req, res, next) => {
    if (req.method !== 'GET' || req.headers.cookie !== undefined) {
      next();
      return;
    }
    const key = options.publicUrl ? req.originalUrl : `${req.protocol}://${req.get('host') ?? ''}${req.originalUrl}`;
    const cached = pages.get(key);
    if (cached) {
      labelRoute(req, cached.route);
      // res.send still answers a conditional request with 304 from the ETag of these bytes.
      res.type(cached.contentType).send(cached.html);
      return;
    }
    const send = res.send.bind(res);
    res.send = (body?: unknown) => {
      const sent = send(body);
      // Judged once the headers are final: the session's cookie is set as they go out.
      const contentType = String(res.getHeader('Content-Type') ?? '');
      if (
        res.statusCode === 200 &&
        typeof body === 'string' &&
        contentType.startsWith('text/html') &&
        res.getHeader('Set-Cookie') === undefined &&
        !/no-store|private/.test(String(res.getHeader('Cache-Control') ?? ''))
      ) {
        pages.set(key, { contentType, html: body, route: routeOf(req) });
      }
      return sent;
    };
    next();
  };
}
