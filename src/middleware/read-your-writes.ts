import type { RequestHandler } from 'express';
import { withReadsOnPrimary } from '../db/replicas.js';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

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
