// The bench database: an embedded PostgreSQL that can be restarted mid-run, seeded the app's
// own way (migrations, demo seeder, volume seeder through sequelize-cli), and the SQL that
// finds what to load and checks the invariants.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { clientConfig, parseDatabaseUrl } from '../src/db/connection.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate, runSeeders } from '../src/db/migrator.js';
import { createSequelize } from '../src/db/sequelize.js';
import { freePort } from '../test/support/ports.js';
import { now, ROOT } from './support.js';

const DEMO_SEEDER = '20261121000100-demo-data.ts';
const VOLUME_SEEDER = '20261121000200-volume-data.ts';
// "Deep in the list": this share of the published posts lies before the deep page.
const DEEP_SHARE = 0.9;

/** An embedded PostgreSQL in a temporary directory, removed by `dispose`. */
export class EmbeddedServer {
  private current: EmbeddedDatabase | undefined;

  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<EmbeddedServer> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-bench-'));
    // PostgreSQL runs as its own user when we are root: it must reach the directory.
    fs.chmodSync(dataDir, 0o755);
    const server = new EmbeddedServer(dataDir, await freePort());
    await server.startPostgres();
    return server;
  }

  get url(): string {
    if (!this.current) throw new Error('PostgreSQL is not running');
    return this.current.url;
  }

  async startPostgres(): Promise<void> {
    this.current = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port });
  }

  /** Fast shutdown (SIGINT to the postmaster): open sessions are ended at once. */
  async stopPostgres(): Promise<void> {
    const running = this.current;
    this.current = undefined;
    await running?.stop();
  }

  async dispose(): Promise<void> {
    await this.stopPostgres();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** One short-lived connection for the script's own queries. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(await clientConfig(parseDatabaseUrl(url), { application_name: 'bench' }));
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The app's migrations, and its demo seeder unless `demo` is false, as the app runs them. */
export async function migrated(url: string, demo = true): Promise<void> {
  const timeouts = { dbAcquireTimeoutMs: 30_000, dbConnectTimeoutMs: 30_000, dbStatementTimeoutMs: 0 };
  const sequelize = createSequelize(url, { dbPoolMax: 1, dbPoolMin: 0, dbSlowQueryMs: 300_000, ...timeouts });
  try {
    await migrate(sequelize);
    if (demo) await runSeeders(sequelize, [DEMO_SEEDER]);
  } finally {
    await sequelize.close();
  }
}

/** The migrations and the demo data; scripts/replicas.ts seeds its database this way. */
export const migrateAndSeedDemo = (url: string): Promise<void> => migrated(url);

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

/** The volume seeder through the real sequelize-cli, timed from process start to exit. */
export function seedVolume(url: string, users: number, posts: number): Promise<number> {
  const cli = path.join(ROOT, 'node_modules/sequelize-cli/lib/sequelize');
  const env = { DATABASE_URL: url, SEED_USERS: String(users), SEED_POSTS: String(posts) };
  return timed(process.execPath, [cli, 'db:seed', '--seed', VOLUME_SEEDER], env);
}

/** Migrations, the demo data (logins with a known password), then the volume rows; their seconds. */
export async function seedDatabase(url: string, users: number, posts: number): Promise<number> {
  await migrated(url);
  return seedVolume(url, users, posts);
}

/** The sizes, and the pages to load: the deep page's cursor (at `deepOffset` published posts) and its first post. */
export interface PageTargets {
  users: number;
  posts: number;
  published: number;
  deepOffset: number;
  deepCursor: string;
  deepFirstId: number | undefined;
  newestId: number;
  postId: number;
  heavyUser: { username: string; postsCount: number };
  postgresVersion: string;
}

export async function readPageTargets(url: string): Promise<PageTargets> {
  return withClient(url, async (client) => {
    const one = async <R>(sql: string, values: unknown[] = []): Promise<R> =>
      (await client.query<R & pg.QueryResultRow>(sql, values)).rows[0]!;
    const { users, posts, published, version } = await one<{
      users: number;
      posts: number;
      published: number;
      version: string;
    }>(
      `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM posts) AS posts,
              (SELECT count(*)::int FROM posts WHERE published) AS published, version() AS version`,
    );
    if (published === 0) throw new Error('the database holds no published post: nothing to load');
    const deepOffset = Math.floor(published * DEEP_SHARE);
    // The same cursor as the posts list's: published_at in microseconds, then the id.
    const deep = await client.query<{ id: number; cursor: string }>(
      `SELECT id, (extract(epoch FROM published_at) * 1000000)::bigint || '-' || id AS cursor
         FROM posts WHERE published ORDER BY published_at DESC, id DESC OFFSET $1 LIMIT 2`,
      [Math.min(deepOffset, published - 1)],
    );
    const newest = await one<{ id: number }>(
      'SELECT id FROM posts WHERE published ORDER BY published_at DESC, id DESC LIMIT 1',
    );
    const middle = await one<{ id: number }>('SELECT id FROM posts WHERE published ORDER BY id OFFSET $1 LIMIT 1', [
      Math.floor(published / 2),
    ]);
    const heavy = await one<{ username: string; posts_count: number }>(
      'SELECT username, posts_count FROM users ORDER BY posts_count DESC, id LIMIT 1',
    );
    return {
      users,
      posts,
      published,
      deepOffset,
      deepCursor: deep.rows[0]!.cursor,
      deepFirstId: deep.rows[1]?.id,
      newestId: newest.id,
      postId: middle.id,
      heavyUser: { username: heavy.username, postsCount: heavy.posts_count },
      postgresVersion: version,
    };
  });
}

export async function countPosts(url: string): Promise<number> {
  return withClient(
    url,
    async (client) => (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM posts')).rows[0]!.n,
  );
}

/** The invariants: users whose posts_count differs from their posts (up to 5 named), orphan posts. */
export interface Consistency {
  totalPosts: number;
  countMismatches: string[];
  countMismatchTotal: number;
  orphanPosts: number;
}

export async function checkConsistency(url: string): Promise<Consistency> {
  return withClient(url, async (client) => {
    const mismatches = await client.query<{ username: string; posts_count: number; actual: number; total: number }>(
      `SELECT u.username, u.posts_count, coalesce(c.n, 0)::int AS actual, count(*) OVER ()::int AS total
         FROM users u LEFT JOIN (SELECT author_id, count(*) AS n FROM posts GROUP BY author_id) c ON c.author_id = u.id
        WHERE u.posts_count <> coalesce(c.n, 0) ORDER BY u.id LIMIT 5`,
    );
    const orphans = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.author_id)`,
    );
    return {
      totalPosts: await countPosts(url),
      countMismatches: mismatches.rows.map((m) => `${m.username}: posts_count ${m.posts_count}, posts ${m.actual}`),
      countMismatchTotal: mismatches.rows[0]?.total ?? 0,
      orphanPosts: orphans.rows[0]!.n,
    };
  });
}
