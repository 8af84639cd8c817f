import { promisify } from 'node:util';
import type { Request, RequestHandler } from 'express';
import type { SessionUser } from '../services/users.service.js';
import { paths } from '../paths.js';
import { userReadWithSession } from './session.js';

/** req.user: the session's user, which the session store read with the session. */
export function loadCurrentUser(options: { absoluteTimeoutMin: number }): RequestHandler {
  const absoluteTimeoutMs = options.absoluteTimeoutMin * 60_000;
  return async (req, res, next) => {
    const { userId, authenticatedAt } = req.session;
    if (userId !== undefined) {
      if (authenticatedAt === undefined || Date.now() - authenticatedAt > absoluteTimeoutMs) {
        // However active, a login lasts only so long: then the person proves it is them again.
        await startAnonymousSession(req);
        req.flash('info', 'Your session has expired. Please log in again.');
      } else {
        const user = userReadWithSession(req.session);
        // The account was deleted while this session lived on: treat it as logged out.
        if (user) {
          req.user = user;
          // Whatever this request logs says whose it was.
          req.log = req.log.child({ userId: user.id });
        } else delete req.session.userId;
      }
    }
    res.locals.currentUser = req.user;
    next();
  };
}

/** Sends anonymous visitors to the login page, and back here afterwards. */
export const requireLogin: RequestHandler = (req, res, next) => {
  if (req.user) {
    next();
    return;
  }
  req.flash('info', 'Please log in to continue.');
  res.redirect(303, paths.login(req.method === 'GET' ? req.originalUrl : undefined));
};

/** The logged-in user of a request that passed requireLogin. */
export function currentUser(req: Request): SessionUser {
  if (!req.user) throw new Error('currentUser() used on a route without requireLogin');
  return req.user;
}

/** Starts this browser over as a new anonymous session, under a fresh id: whatever it was logged in as is gone. */
export async function startAnonymousSession(req: Request): Promise<void> {
  await promisify(req.session.regenerate.bind(req.session))();
}

/** Starts an authenticated session under a fresh id (no session fixation). */
export async function logIn(req: Request, userId: number): Promise<void> {
  await startAnonymousSession(req);
  req.session.userId = userId;
  req.session.authenticatedAt = Date.now();
  // A new session after a write (a login, a signup): its reads start on the primary too.
  req.session.lastWriteAt = req.session.authenticatedAt;
  await promisify(req.session.save.bind(req.session))();
}

/** Ends the session server-side; the cookie goes with it. */
export async function logOut(req: Request): Promise<void> {
  await promisify(req.session.destroy.bind(req.session))();
}

/** A path on this site to return to after logging in; anything else becomes home. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) {
    return paths.home;
  }
  return value;
}
