// The bench database: a PostgreSQL cluster of the run's own (the test kit's, which the load
// check stops and starts mid-run), migrated and seeded the app's own way (the demo seeder, then
// the volume seeder through sequelize-cli), and the pages worth loading on it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { runSeeders } from '../src/db/migrator.js';
import { createSequelize } from '../src/db/sequelize.js';
import { TEST_POOL } from '../test/support/app.js';
import { type OwnPostgres, startOwnPostgres } from '../test/support/postgres.js';
import { counterMismatches, scalar, sqlPool } from '../test/support/sql.js';
import { now } from '../test/support/wait.js';
import { type Cleanup, ROOT, withClient } from './support.js';

const DEMO_SEEDER = '20261121000100-demo-data.ts';
const VOLUME_SEEDER = '20261121000200-volume-data.ts';
// "Deep in the list": this share of the published posts lies before the deep page.
const DEEP_SHARE = 0.9;

/** The demo data (logins with a known password) on a migrated database. */
export async function seedDemo(url: string): Promise<void> {
  const sequelize = createSequelize(url, { ...TEST_POOL, dbPoolMax: 1, dbStatementTimeoutMs: 0 });
  try {
    await runSeeders(sequelize, [DEMO_SEEDER]);
  } finally {
    await sequelize.close();
  }
}

/** A migrated PostgreSQL of the run's own, with the demo data unless `demo` is false; removed by `cleanup`. */
export async function startDatabase(cleanup: Cleanup, demo = true): Promise<OwnPostgres> {
  const server = await startOwnPostgres();
  cleanup.add('stop PostgreSQL and remove its directory', () => server.close());
  if (demo) await seedDemo(server.url);
  return server;
}

/** `command` to its end, its output on our stderr; the wall time in seconds. */
export function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 2, 2] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve((now() - started) / 1000);
      else reject(new Error(`${command} ${args.join(' ')} ended with ${signal ?? `exit code ${code}`}`));
    });
  });
}

/**
 * The volume seeder through the real sequelize-cli, timed from process start to exit; with
 * `render`, then `npm run posts:render` (as after a deployment), so that pages read stored HTML.
 */
export async function seedVolume(
  url: string,
  users: number,
  posts: number,
  options: { render?: boolean; tags?: number } = {},
): Promise<number> {
  const { render = false, tags = 0 } = options;
  const cli = path.join(ROOT, 'node_modules/sequelize-cli/lib/sequelize');
  const env = { DATABASE_URL: url, SEED_USERS: String(users), SEED_POSTS: String(posts), SEED_TAGS: String(tags) };
  const seconds = await timed(process.execPath, [cli, 'db:seed', '--seed', VOLUME_SEEDER], env);
  return render
    ? seconds + (await timed(process.execPath, ['--import', 'tsx', 'src/cli/render-posts.ts'], env))
    : seconds;
}

/** The sizes, and the pages to load: a post, the busiest profile and its middle, the deep page's cursor. */
export interface PageTargets {
  users: number;
  posts: number;
  published: number;
  deepOffset: number;
  deepCursor: string;
  postId: number;
  heavyUser: { id: number; username: string; postsCount: number; middleCursor: string };
  /** The published post after postId: the one a long thread is added under. */
  threadPostId: number;
  /** The tag the most published posts carry, if any post has a tag. */
  topTag?: { name: string; postsCount: number };
  postgresVersion: string;
}

// The lists' cursor: published_at in microseconds, then the id.
const CURSOR = `(extract(epoch FROM published_at) * 1000000)::bigint || '-' || id`;

export function readPageTargets(url: string): Promise<PageTargets> {
  return withClient(url, async (client) => {
    const one = async <R>(sql: string, values: unknown[] = []): Promise<R> =>
      (await client.query(sql, values)).rows[0] as R;
    const sizes = await one<{ users: number; posts: number; published: number; version: string }>(
      `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM posts) AS posts,
              (SELECT count(*)::int FROM posts WHERE published) AS published, version() AS version`,
    );
    if (sizes.published === 0) throw new Error('the database holds no published post: nothing to load');
    const deepOffset = Math.floor(sizes.published * DEEP_SHARE);
    const deep = await one<{ cursor: string }>(
      `SELECT ${CURSOR} AS cursor FROM posts WHERE published ORDER BY published_at DESC, id DESC OFFSET $1 LIMIT 1`,
      [deepOffset],
    );
    const post = await one<{ id: number }>('SELECT id FROM posts WHERE published ORDER BY id OFFSET $1 LIMIT 1', [
      Math.floor(sizes.published / 2),
    ]);
    const heavy = await one<{ id: number; username: string; posts_count: number; cursor: string }>(
      `SELECT u.id, u.username, u.posts_count,
              (SELECT ${CURSOR} FROM posts WHERE author_id = u.id AND published
                ORDER BY published_at DESC, id DESC OFFSET (u.posts_count / 2) LIMIT 1) AS cursor
         FROM users u ORDER BY posts_count DESC, id LIMIT 1`,
    );
    const thread = await one<{ id: number }>('SELECT id FROM posts WHERE published AND id > $1 ORDER BY id LIMIT 1', [
      post.id,
    ]);
    const topTag = await one<{ name: string; postsCount: number } | undefined>(
      `SELECT name, posts_count AS "postsCount" FROM tags ORDER BY posts_count DESC, name LIMIT 1`,
    );
    return {
      threadPostId: thread.id,
      topTag,
      users: sizes.users,
      posts: sizes.posts,
      published: sizes.published,
      deepOffset,
      deepCursor: deep.cursor,
      postId: post.id,
      heavyUser: { id: heavy.id, username: heavy.username, postsCount: heavy.posts_count, middleCursor: heavy.cursor },
      postgresVersion: sizes.version.split(' on ')[0]!,
    };
  });
}

/** Adds `count` comments by the first users under post `postId`, a minute apart, counted: a long thread. */
export function addThread(url: string, postId: number, count: number): Promise<void> {
  return withClient(url, async (client) => {
    await client.query(
      `WITH added AS (
         INSERT INTO comments (post_id, author_id, body, created_at, updated_at)
         SELECT $1, u.id, 'Comment ' || n || ': a reply of a sentence or two, as people write them.',
                p.published_at + n * interval '1 minute', p.published_at + n * interval '1 minute'
           FROM generate_series(1, $2::int) AS g(n)
           JOIN posts p ON p.id = $1
           JOIN LATERAL (SELECT id FROM users ORDER BY id OFFSET n % 100 LIMIT 1) u ON true
         RETURNING 1)
       UPDATE posts SET comments_count = comments_count + (SELECT count(*) FROM added) WHERE id = $1`,
      [postId, count],
    );
  });
}

/** Posts in all, and the users whose posts_count differs from their posts. */
export async function countAndCheck(url: string): Promise<{ posts: number; countMismatches: number }> {
  const pool = sqlPool(url);
  try {
    return {
      posts: await scalar<number>(pool, 'SELECT count(*)::int FROM posts'),
      countMismatches: await counterMismatches(pool),
    };
  } finally {
    await pool.end();
  }
}
