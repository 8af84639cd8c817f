import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';

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
  return session({
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
}
