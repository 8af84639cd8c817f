import type { RequestHandler } from 'express';
import { withReadsOnPrimary } from '../db/replicas.js';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A logged-in session notes when its last write was answered with a redirect (every form
 * that changes something ends so, after its transaction committed), so that its own reads
 * skip, for a while, the lists shared between requests (src/services/shared-reads.ts).
 * Installed after the flash messages, it notes it before they save the session.
 */
export const rememberWrites: RequestHandler = (req, res, next) => {
  if (!READ_METHODS.has(req.method) && req.session.userId !== undefined) {
    const redirect = res.redirect.bind(res) as (status: number, url: string) => void;
    res.redirect = (status: number | string, url?: string) => {
      if (req.session) req.session.lastWriteAt = Date.now();
      if (typeof status === 'number') redirect(status, url!);
      else redirect(302, status);
    };
  }
  next();
};

/**
 * With read replicas: a request that writes, and the requests of its session for a while
 * after, read from the primary; everything else may read from a standby.
 */
export function readYourWrites(options: { afterWriteMs: number }): RequestHandler {
  return (req, _res, next) => {
    const now = Date.now();
    const writes = !READ_METHODS.has(req.method);
    if (writes) req.session.lastWriteAt = now;
    const last = req.session.lastWriteAt;
    withReadsOnPrimary(writes || (last !== undefined && now - last < options.afterWriteMs), next);
  };
}
