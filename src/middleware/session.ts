import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { failedAfterResponseStarted } from './errors.js';

const PgStore = connectPgSimple(session);

export const SESSION_COOKIE = 'sid';

/** Server-side sessions in the `sessions` table; the browser holds only a signed id. */
export function sessionMiddleware(options: {
  db: Database;
  secret: string;
  secureCookie: boolean;
  idleTimeoutMin: number;
  logger: Logger;
}): RequestHandler {
  const sessions = session({
    name: SESSION_COOKIE,
    secret: options.secret,
    store: new PgStore({
      pool: options.db.sessionPool,
      tableName: 'sessions',
      // The table is created by a migration, never on the fly.
      createTableIfMissing: false,
      pruneSessionInterval: 15 * 60,
      // Its default is console.error: keep its complaints in the structured log.
      errorLog: (...args: unknown[]) => {
        const err = args.find((arg) => arg instanceof Error);
        const what = args.find((arg) => typeof arg === 'string') ?? 'session store error';
        options.logger.warn({ err }, what);
      },
    }),
    resave: false,
    // Every response pushes the expiry back by the idle timeout, in the cookie and in the
    // store, whose `expire` column is what ends an idle session server-side.
    rolling: true,
    // No row for a visitor until there is something to keep (a CSRF token, a login).
    saveUninitialized: false,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookie,
      maxAge: options.idleTimeoutMin * 60_000,
    },
  });
  // express-session saves the session as the response ends and hands a failure to the
  // `next` it was given. Passed through, that call would resume the router where its walk
  // ended: after the error handler when the page was an error page, so Express's last
  // resort would take it and reset the connection. A failure after the response started
  // is reported here instead.
  return (req, res, next) =>
    sessions(req, res, (error?: unknown) => {
      if (error !== undefined && res.headersSent) failedAfterResponseStarted(req, res, error);
      else next(error);
    });
}
