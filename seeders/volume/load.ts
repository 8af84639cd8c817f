// The bulk load, on the seeder transaction's own connection.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Transaction } from 'sequelize';
import { BinaryCopyWriter } from './binary-copy';
import {
  POST_COLUMNS,
  POST_COLUMNS_WITH_VECTOR,
  postChunks,
  postRows,
  USER_COLUMNS,
  userLine,
  VOLUME_EMAIL_DOMAIN,
  VOLUME_USERNAME_PREFIX,
  type VolumePlan,
  type VolumePost,
} from './generate';
import type { Progress } from './progress';
import { SearchVectors } from './search-vectors';

const CHUNK_ROWS = 2000;
// Chunks being prepared at once for each helper: one running, one queued behind it, one
// done and waiting for the COPY.
const IN_FLIGHT_PER_HELPER = 3;
// Above this many new posts (or 10× the posts already there) the load is a bulk load: the
// posts keys and indexes are dropped and built again after the COPY (one sorted build
// beats a million inserts), and the table is emptied first so that the COPY can freeze.
const BULK_MIN_POSTS = 100_000;
const BULK_FACTOR = 10;
// Computes posts.search_vector on every insert (migrations/20261201000100-add-posts-search.ts).
const SEARCH_TRIGGER = 'posts_search_vector';

/** Both marks of a volume user: $1 the username prefix (a LIKE pattern), $2 '@' + the domain. */
export const IS_VOLUME_USER = `username LIKE $1 AND right(lower(email), char_length($2::text)) = $2::text`;
export const IS_VOLUME_USER_BIND = [`${VOLUME_USERNAME_PREFIX.replace(/_/g, '\\_')}%`, `@${VOLUME_EMAIL_DOMAIN}`];

/** The node-postgres client under a Sequelize transaction: COPY needs the very same connection. */
export function clientOf(transaction: Transaction): pg.Client {
  const connection = (transaction as unknown as { connection?: Partial<pg.Client> }).connection;
  if (typeof connection?.query !== 'function') {
    throw new Error('The Sequelize transaction has no node-postgres connection (is the dialect postgres?)');
  }
  return connection as pg.Client;
}

async function value<T>(client: pg.Client, sql: string, params: unknown[] = []): Promise<T> {
  const result = await client.query({ text: sql, values: params, rowMode: 'array' });
  return (result.rows[0] as unknown[])[0] as T;
}

export async function countVolumeUsers(client: pg.Client): Promise<number> {
  return value<number>(client, `SELECT count(*)::int FROM users WHERE ${IS_VOLUME_USER}`, IS_VOLUME_USER_BIND);
}

/**
 * Takes `count` ids of `table` for this transaction: its lock keeps every other writer out
 * until commit, so setting the sequence past the block once replaces a nextval() per row.
 */
export async function reserveIds(client: pg.Client, table: 'users' | 'posts', count: number): Promise<number> {
  const first = await value<string>(
    client,
    `SELECT GREATEST(nextval(pg_get_serial_sequence($1, 'id')),
                     (SELECT COALESCE(max(id), 0) + 1 FROM ${table}))::text`,
    [table],
  );
  const start = Number(first);
  if (count > 0) await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), $2)`, [table, start + count - 1]);
  return start;
}

async function copyIn(
  client: pg.Client,
  sql: string,
  source: Iterable<string | Buffer> | AsyncIterable<Buffer>,
): Promise<void> {
  await pipeline(Readable.from(source, { objectMode: false, highWaterMark: 4 }), client.query(copyFrom(sql)));
}

export async function copyUsers(
  client: pg.Client,
  plan: VolumePlan,
  firstUserId: number,
  passwordHash: string,
  progress: Progress,
): Promise<void> {
  function* lines(): Generator<string> {
    for (let start = 0; start < plan.users.length; start += CHUNK_ROWS) {
      const chunk = plan.users.slice(start, start + CHUNK_ROWS);
      yield chunk.map((user, i) => userLine(user, firstUserId + start + i, passwordHash)).join('');
      progress.advance(chunk.length);
    }
  }
  await copyIn(client, `COPY users (${USER_COLUMNS}) FROM STDIN`, lines());
}

/**
 * Copies the posts in. A bulk load brings their search vectors too, computed by helper
 * connections while the COPY runs (call it with the search trigger dropped), and freezes them;
 * a smaller one leaves the vectors to the trigger. `commentCounts`: each post's number of
 * comments to come (countComments), written with it so that adding them rewrites no post.
 */
export async function copyPosts(
  client: pg.Client,
  seed: string,
  plan: VolumePlan,
  ids: { firstUserId: number; firstPostId: number },
  progress: Progress,
  options: { bulk: boolean; commentCounts?: Int32Array },
): Promise<void> {
  const { bulk, commentCounts } = options;
  const chunks = postChunks(seed, plan, ids.firstUserId, ids.firstPostId, CHUNK_ROWS, commentCounts);
  if (!bulk) {
    const rows = postsCopyData(chunks, (posts) => Promise.resolve(postRows(posts)), 1, progress);
    await copyIn(client, `COPY posts (${POST_COLUMNS}) FROM STDIN (FORMAT binary)`, rows);
    return;
  }
  const vectors = new SearchVectors(client);
  try {
    const rows = postsCopyData(
      chunks,
      async (posts) => postRows(posts, await vectors.of(posts)),
      IN_FLIGHT_PER_HELPER * vectors.helpers,
      progress,
    );
    await copyIn(client, `COPY posts (${POST_COLUMNS_WITH_VECTOR}) FROM STDIN (FORMAT binary, FREEZE)`, rows);
  } finally {
    await vectors.close();
  }
}

/**
 * Binary COPY data: the header, each chunk's rows in order, the trailer. Up to `inFlight`
 * chunks are being prepared at once (their vectors computed) while the COPY takes the oldest:
 * the helpers and the COPY overlap, with a bounded number of chunks in memory.
 */
async function* postsCopyData(
  chunks: Iterable<VolumePost[]>,
  prepare: (posts: VolumePost[]) => Promise<Buffer>,
  inFlight: number,
  progress: Progress,
): AsyncGenerator<Buffer> {
  const framing = new BinaryCopyWriter(32);
  framing.header();
  yield framing.take();
  const window: { rows: number; data: Promise<Buffer> }[] = [];
  const oldest = async (): Promise<Buffer> => {
    const { rows, data } = window.shift()!;
    const ready = await data;
    progress.advance(rows);
    return ready;
  };
  for (const posts of chunks) {
    const data = prepare(posts);
    // Awaited in turn below. Should the COPY fail first, the chunks behind it must not turn
    // into unhandled rejections, which would end the process before the rollback is reported.
    void data.catch(() => undefined);
    window.push({ rows: posts.length, data });
    if (window.length >= inFlight) yield await oldest();
  }
  while (window.length > 0) yield await oldest();
  framing.trailer();
  yield framing.take();
}

interface Rebuild {
  indexes: string[];
  /**
   * The primary key and foreign keys (the CHECKs stay: checked during the COPY they cost
   * less than a rescan).
   */
  constraints: { name: string; definition: string }[];
  /** The foreign keys of other tables (comments) that reference posts' primary key. */
  references: { table: string; name: string; definition: string }[];
}

export async function isBigLoad(client: pg.Client, newPosts: number): Promise<boolean> {
  if (newPosts > BULK_MIN_POSTS) return true;
  const existing = await value<number>(client, 'SELECT count(*)::int FROM posts');
  return newPosts > BULK_FACTOR * Math.max(existing, 1);
}

/**
 * Drops the indexes, primary key and foreign keys of posts, returning what builds them
 * again. DDL is transactional in PostgreSQL: a rollback brings them back untouched. It
 * takes an ACCESS EXCLUSIVE lock on posts until commit: fine for an admin's bulk load, not
 * for a live site's busy hour.
 */
export async function dropPostsIndexes(client: pg.Client): Promise<Rebuild> {
  const indexes = await client.query<{ name: string; definition: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
      WHERE i.indrelid = 'posts'::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      ORDER BY 1`,
  );
  // The primary key goes too, for one sorted build after the COPY instead of a million
  // insertions into it; the foreign keys that reference it (comments) first, put back
  // after it, each checked once then.
  const references = await client.query<{ table: string; name: string; definition: string }>(
    `SELECT conrelid::regclass::text AS table, quote_ident(conname) AS name, pg_get_constraintdef(oid) AS definition
       FROM pg_constraint WHERE confrelid = 'posts'::regclass AND contype = 'f'
      ORDER BY 1, 2`,
  );
  for (const reference of references.rows) {
    await client.query(`ALTER TABLE ${reference.table} DROP CONSTRAINT ${reference.name}`);
  }
  const constraints = await client.query<{ name: string; definition: string }>(
    `SELECT quote_ident(conname) AS name, pg_get_constraintdef(oid) AS definition
       FROM pg_constraint WHERE conrelid = 'posts'::regclass AND contype IN ('p', 'f')
      ORDER BY conname`,
  );
  if (constraints.rows.length > 0) {
    await client.query(`ALTER TABLE posts ${constraints.rows.map((c) => `DROP CONSTRAINT ${c.name}`).join(', ')}`);
  }
  for (const index of indexes.rows) await client.query(`DROP INDEX ${index.name}`);
  return {
    indexes: indexes.rows.map((row) => row.definition),
    constraints: constraints.rows,
    references: references.rows,
  };
}

/**
 * Empties posts in this transaction and puts its rows back, so that the COPY may use FREEZE:
 * the new rows go in frozen, their pages marked all-visible, with no VACUUM pass over the
 * table afterwards (until VACUUM, counting published posts could not use an index-only
 * scan). Call it with the indexes dropped: putting the rows back is then a plain append.
 * TRUNCATE is transactional too, but not MVCC-safe: a transaction whose snapshot predates
 * the commit would see posts empty. Our ACCESS EXCLUSIVE lock makes every reader wait
 * instead, so only a REPEATABLE READ transaction that already read other tables could.
 * With the search trigger dropped, the rows keep their search vectors as they are instead of
 * having them computed again. Returns how many rows were put back.
 */
export async function truncateKeepingRows(client: pg.Client): Promise<number> {
  // Every stored column but generated ones, which PostgreSQL computes again.
  const columns = await value<string>(
    client,
    `SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
      WHERE attrelid = 'posts'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''`,
  );
  await client.query(`CREATE TEMPORARY TABLE kept_posts ON COMMIT DROP AS SELECT ${columns} FROM posts`);
  await client.query('TRUNCATE posts');
  const kept = await client.query(`INSERT INTO posts (${columns}) SELECT ${columns} FROM kept_posts`);
  await client.query('DROP TABLE kept_posts');
  return kept.rowCount ?? 0;
}

// pg_trigger.tgenabled → the ALTER TABLE that sets it ('O', the default, needs none).
const TRIGGER_STATES: Partial<Record<string, string>> = { D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

/**
 * Takes the search trigger off posts for this transaction, returning the statements that put
 * it back as it was, to run before the commit (none when there is no such trigger). Dropped,
 * not disabled: COPY inserts rows one at a time into a table with any BEFORE ROW trigger,
 * even a disabled one, which is slower and leaves FREEZE's pages not all-visible. DROP
 * TRIGGER is transactional: a rollback brings the trigger back.
 */
export async function dropSearchTrigger(client: pg.Client): Promise<string[]> {
  const found = await client.query<{ definition: string; enabled: string }>(
    `SELECT pg_get_triggerdef(oid) AS definition, tgenabled AS enabled FROM pg_trigger
      WHERE tgrelid = 'posts'::regclass AND tgname = $1`,
    [SEARCH_TRIGGER],
  );
  const trigger = found.rows[0];
  if (!trigger) return [];
  await client.query(`DROP TRIGGER ${SEARCH_TRIGGER} ON posts`);
  // CREATE TRIGGER makes it fire on every write again; one switched off or set to fire
  // only on replicas (pg_trigger.tgenabled) is put back so.
  const state = TRIGGER_STATES[trigger.enabled];
  return state ? [trigger.definition, `ALTER TABLE posts ${state} TRIGGER ${SEARCH_TRIGGER}`] : [trigger.definition];
}

export async function rebuildPostsIndexes(client: pg.Client, rebuild: Rebuild): Promise<void> {
  if (rebuild.constraints.length > 0) {
    const added = rebuild.constraints.map((c) => `ADD CONSTRAINT ${c.name} ${c.definition}`);
    await client.query(`ALTER TABLE posts ${added.join(', ')}`);
  }
  for (const definition of rebuild.indexes) await client.query(definition);
  for (const reference of rebuild.references) {
    await client.query(`ALTER TABLE ${reference.table} ADD CONSTRAINT ${reference.name} ${reference.definition}`);
  }
}
