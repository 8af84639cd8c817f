import { csrfSync } from 'csrf-sync';
import type { RequestHandler } from 'express';

/**
 * Synchronizer tokens kept in the session: every POST, PUT and DELETE must carry the
 * session's token in its `_csrf` field. Pages get `csrfToken()`, which makes one on first
 * use, so pages without a form don't start a session.
 */
export function csrfProtection(): { protect: RequestHandler; provideToken: RequestHandler } {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (req.body as { _csrf?: string } | undefined)?._csrf,
    size: 32,
  });
  return {
    protect: csrfSynchronisedProtection,
    provideToken: (req, res, next) => {
      res.locals.csrfToken = () => generateToken(req);
      next();
    },
  };
}
