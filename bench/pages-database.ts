// The pages benchmark's data: the demo data (for a login with a known password), then the
// volume seeder through the real sequelize-cli; and the pages to load, found with SQL.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { migrateAndSeedDemo, withClient } from './database.js';

const ROOT = path.resolve(__dirname, '..');
const VOLUME_SEEDER = '20261121000200-volume-data.ts';
// "Deep in the list": this share of the published posts lies before the deep page.
const DEEP_SHARE = 0.9;

/** Migrations, the demo seeder, then SEED_USERS/SEED_POSTS volume rows; seconds taken by the latter. */
export async function seedDatabase(url: string, users: number, posts: number): Promise<number> {
  await migrateAndSeedDemo(url);
  const cli = path.join(ROOT, 'node_modules/sequelize-cli/lib/sequelize');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url,
    SEED_USERS: String(users),
    SEED_POSTS: String(posts),
  };
  const started = performance.now();
  // Its output goes to our stderr: stdout carries only the report.
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'db:seed', '--seed', VOLUME_SEEDER], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 2, 2],
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`the volume seeder ended with ${signal ?? `exit code ${code}`}`));
    });
  });
  return (performance.now() - started) / 1000;
}

export interface PageTargets {
  users: number;
  posts: number;
  published: number;
  /** Published posts newer than the deep page's cursor. */
  deepOffset: number;
  /** `after` of the deep page: the cursor of the post at `deepOffset`. */
  deepCursor: string;
  /** The post right after the cursor, the first the deep page should list. */
  deepFirstId: number | undefined;
  /** The newest published post, the first on the first page. */
  newestId: number;
  /** A published post in the middle. */
  postId: number;
  heavyUser: { username: string; postsCount: number };
  postgresVersion: string;
}

export async function readPageTargets(url: string): Promise<PageTargets> {
  return withClient(url, async (client) => {
    const sizes = await client.query<{ users: number; posts: number; published: number; version: string }>(
      `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM posts) AS posts,
              (SELECT count(*)::int FROM posts WHERE published) AS published, version() AS version`,
    );
    const { users, posts, published, version } = sizes.rows[0]!;
    if (published === 0) throw new Error('the database holds no published post: nothing to load');

    const deepOffset = Math.floor(published * DEEP_SHARE);
    // The same cursor as the posts list's: published_at in microseconds, then the id.
    const deep = await client.query<{ id: number; cursor: string }>(
      `SELECT id, (extract(epoch FROM published_at) * 1000000)::bigint || '-' || id AS cursor
         FROM posts WHERE published ORDER BY published_at DESC, id DESC OFFSET $1 LIMIT 2`,
      [Math.min(deepOffset, published - 1)],
    );
    const newest = await client.query<{ id: number }>(
      'SELECT id FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 1',
    );
    const middle = await client.query<{ id: number }>(
      'SELECT id FROM posts WHERE published ORDER BY id OFFSET $1 LIMIT 1',
      [Math.floor(published / 2)],
    );
    const heavy = await client.query<{ username: string; posts_count: number }>(
      'SELECT username, posts_count FROM users ORDER BY posts_count DESC, id LIMIT 1',
    );
    return {
      users,
      posts,
      published,
      deepOffset,
      deepCursor: deep.rows[0]!.cursor,
      deepFirstId: deep.rows[1]?.id,
      newestId: newest.rows[0]!.id,
      postId: middle.rows[0]!.id,
      heavyUser: { username: heavy.rows[0]!.username, postsCount: heavy.rows[0]!.posts_count },
      postgresVersion: version,
    };
  });
}
