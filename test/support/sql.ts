// Direct SQL behind the app's back: a small pool, scalars, the counters' invariants, users, comments, locks, connections.
import pg from 'pg';
import { hashPassword } from '../../src/services/passwords.js';
import { PASSWORD } from './factories.js';
import type { ServerProcess } from './server.js';
import { waitFor } from './wait.js';

/** application_name of the app's connections (src/db/): users-and-posts, maybe with a suffix. */
export const APP_CONNECTIONS = 'users-and-posts%';

/** A small pool for the test's own queries, outside the app (connects only when first used). */
export function sqlPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 3, application_name: 'fault-test' });
  // The test stops the server under idle clients on purpose.
  pool.on('error', () => undefined);
  return pool;
}

export async function scalar<T>(db: pg.Pool | pg.PoolClient, sql: string, params: unknown[] = []): Promise<T> {
  const result = await db.query({ text: sql, values: params, rowMode: 'array' });
  return (result.rows[0] as unknown[] | undefined)?.[0] as T;
}

/** How many sessions of `userId` the session store holds. */
export function sessionsOf(db: pg.Pool, userId: number): Promise<number> {
  return scalar<number>(db, 'SELECT count(*)::int FROM sessions WHERE user_id = $1', [userId]);
}

/**
 * Counters and copies that differ from what they count or copy (the invariants say none):
 * users whose posts_count is not their number of posts, posts whose comments_count is not
 * theirs, tags whose posts_count is not their number of published posts, and post_tags rows
 * whose published_at is not their post's (while published; else NULL).
 */
export function counterMismatches(db: pg.Pool): Promise<number> {
  return scalar<number>(
    db,
    `SELECT (SELECT count(*) FROM users u
              WHERE u.posts_count <> (SELECT count(*) FROM posts p WHERE p.author_id = u.id))::int
          + (SELECT count(*) FROM posts p
              WHERE p.comments_count <> (SELECT count(*) FROM comments c WHERE c.post_id = p.id))::int
          + (SELECT count(*) FROM tags t
              WHERE t.posts_count <> (SELECT count(*) FROM post_tags pt JOIN posts p ON p.id = pt.post_id
                                       WHERE pt.tag_id = t.id AND p.published))::int
          + (SELECT count(*) FROM post_tags pt JOIN posts p ON p.id = pt.post_id
              WHERE pt.published_at IS DISTINCT FROM CASE WHEN p.published THEN p.published_at END)::int`,
  );
}

/** `count` comments by `authorId` under `postId`, a second apart from `from`, counted: one statement. */
export async function addComments(
  db: pg.Pool,
  postId: number,
  authorId: number,
  count: number,
  from = new Date(Date.UTC(2026, 0, 1)),
): Promise<void> {
  await db.query(
    `WITH added AS (
       INSERT INTO comments (post_id, author_id, body, created_at, updated_at)
       SELECT $1, $2, 'Comment number ' || n, $4::timestamptz + n * interval '1 second', $4::timestamptz + n * interval '1 second'
         FROM generate_series(1, $3) AS n
       RETURNING 1)
     UPDATE posts SET comments_count = comments_count + (SELECT count(*) FROM added) WHERE id = $1`,
    [postId, authorId, count, from],
  );
}

export interface TestUser {
  id: number;
  username: string;
}

/** `count` members who can log in with PASSWORD, inserted directly. */
export async function createUsers(db: pg.Pool, count: number, prefix: string): Promise<TestUser[]> {
  const hash = await hashPassword(PASSWORD);
  const users: TestUser[] = [];
  for (let i = 0; i < count; i++) {
    const username = `${prefix}_${i}_${Math.random().toString(36).slice(2, 8)}`;
    const id = await scalar<number>(
      db,
      `INSERT INTO users (username, email, password_hash, display_name) VALUES ($1, $2, $3, $4) RETURNING id`,
      [username, `${username}@example.com`, hash, `User ${username}`],
    );
    users.push({ id, username });
  }
  return users;
}

/** Holds a row lock on a user, as another writer would: POST /posts by them waits behind it. */
export async function lockUser(db: pg.Pool, userId: number): Promise<{ release(): Promise<void> }> {
  const client = await db.connect();
  // The outage tests stop the server under this connection: that must not crash the test.
  let broken: Error | undefined;
  client.on('error', (error) => (broken = error));
  await client.query('BEGIN');
  await client.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [userId]);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      if (!broken) await client.query('ROLLBACK').catch((error: Error) => (broken = error));
      client.release(broken);
    },
  };
}

/** How many of the app's connections on this database wait on a lock right now. */
export function appConnectionsWaitingOnLocks(db: pg.Pool): Promise<number> {
  return scalar<number>(
    db,
    `SELECT count(*)::int FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE $1 AND wait_event_type = 'Lock'`,
    [APP_CONNECTIONS],
  );
}

/** What every other connection to this database is doing, for assertion messages. */
export async function activity(db: pg.Pool): Promise<string> {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT application_name, state, wait_event_type, wait_event, left(query, 80) AS query
       FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  return `\n--- pg_stat_activity ---\n${rows.map((row) => Object.values(row).join(' | ')).join('\n')}`;
}

/** Waits until `count` of the app's connections wait on a lock; explains what they do otherwise. */
export async function waitForLockWaiters(db: pg.Pool, count: number, server: ServerProcess): Promise<void> {
  try {
    await waitFor(
      `${count} of the app's connections waiting on a lock`,
      async () => ((await appConnectionsWaitingOnLocks(db)) === count ? true : undefined),
      { withinMs: 5000 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}${await activity(db)}${server.tail()}`, { cause: error });
  }
}

/** How many of the app's connections on this database are open right now. */
export function appConnections(db: pg.Pool): Promise<number> {
  return scalar<number>(
    db,
    `SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1`,
    [APP_CONNECTIONS],
  );
}
