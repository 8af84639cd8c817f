import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import type { RequestHandler } from 'express';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { queryPrepared } from '../db/prepared.js';
import type { SessionUser } from '../services/users.service.js';
import { failedAfterResponseStarted } from './errors.js';

const PgStore = connectPgSimple(session);

export const SESSION_COOKIE = 'sid';

/**
 * What the store read along with the session, kept on its cookie object in memory (a
 * cookie's JSON holds only its own fields, so neither is ever saved): the stored expiry,
 * and the session's user (null: the account is gone).
 */
type ReadAlong = session.Cookie & { storedExpireMs?: number; user?: SessionUser | null };

/** The session's user, as the store read it with the session; null when there is none (the account is gone). */
export function userReadWithSession(data: session.Session): SessionUser | null {
  return (data.cookie as ReadAlong).user ?? null;
}

type SessionRow = { sess: unknown; expire_ms: number } & (SessionUser | { id: null });

function userOf(row: SessionUser): SessionUser {
  const { id, username, displayName, role, email, emailConfirmedAt } = row;
  return { id, username, displayName, role, email, emailConfirmedAt };
}

/**
 * connect-pg-simple's store, but a request that changed nothing writes nothing: the expiry
 * (the `expire` column, which ends an idle session) moves only once it lags the cookie's by
 * a minute or a tenth of the idle timeout, whichever is less. Reading the session also reads
 * its stored expiry and its user, in the same prepared statement: one round trip where a
 * logged-in page needed two.
 */
class SessionStore extends PgStore {
  private readonly sessionPool: pg.Pool;
  private readonly read: string;

  constructor(
    options: ConstructorParameters<typeof PgStore>[0] & { pool: pg.Pool; userColumns: string },
    private readonly touchLagMs: number,
  ) {
    super(options);
    this.sessionPool = options.pool;
    this.read = `SELECT s.sess, (extract(epoch FROM s.expire) * 1000)::float8 AS expire_ms, ${options.userColumns}
                   FROM sessions s LEFT JOIN users u ON u.id = s.user_id
                  WHERE s.sid = $1 AND s.expire >= now()`;
  }

  override get(sid: string, callback: (err: unknown, data?: session.SessionData | null) => void): void {
    queryPrepared<SessionRow>(this.sessionPool, this.read, [sid]).then(([row]) => {
      if (!row) return callback(null, null);
      let data: session.SessionData;
      try {
        data = (typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess) as session.SessionData;
      } catch {
        this.destroy(sid, () => callback(null, null));
        return;
      }
      const cookie = data.cookie as ReadAlong;
      cookie.storedExpireMs = row.expire_ms;
      cookie.user = row.id === null ? null : userOf(row);
      callback(null, data);
    }, callback);
  }

  override touch(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    const cookie = data.cookie as ReadAlong;
    const next = cookie.expires ? new Date(cookie.expires).getTime() : undefined;
    if (cookie.storedExpireMs !== undefined && next !== undefined && next - cookie.storedExpireMs < this.touchLagMs) {
      callback?.();
      return;
    }
    super.touch(sid, data, callback);
  }
}

/** Server-side sessions in the `sessions` table; the browser holds only a signed id. */
export function sessionMiddleware(options: {
  db: Database;
  /** The session's user, read with it: columns over users aliased u. */
  userColumns: string;
  secret: string;
  secureCookie: boolean;
  idleTimeoutMin: number;
  logger: Logger;
}): RequestHandler {
  const sessions = session({
    name: SESSION_COOKIE,
    secret: options.secret,
    store: new SessionStore(
      {
        pool: options.db.sessionPool,
        userColumns: options.userColumns,
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
      },
      Math.min(60_000, (options.idleTimeoutMin * 60_000) / 10),
    ),
    resave: false,
    // Every response pushes the expiry back by the idle timeout, in the cookie and (once it
    // lags by a minute, see SessionStore) in the store, whose `expire` column is what ends
    // an idle session server-side.
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
