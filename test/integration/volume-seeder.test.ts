// The volume seeder (issue #6), at a small size, through the real sequelize-cli as an admin
// runs it, each case on a fresh migrated database of its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { planVolume } from '../../seeders/volume/generate.js';
import { createTestDatabase } from '../helpers/app.js';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'node_modules/sequelize-cli/lib/sequelize');
const SEEDER = '20261121000200-volume-data.ts';
const USERS = 50;
const POSTS = 500;
const IS_VOLUME = `username LIKE 'v\\_%' AND email LIKE '%@volume.example.com'`;

interface CliResult {
  code: number;
  output: string;
}

/** `sequelize-cli <args>` on `url`, sized small; never throws. */
function cli(url: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url,
    NODE_ENV: 'test',
    SEED_USERS: String(USERS),
    SEED_POSTS: String(POSTS),
    SEED: '7',
    ...env,
  };
  delete childEnv.NODE_TEST_CONTEXT;
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name];
  delete childEnv.SEED_FORCE;
  if (env.SEED_FORCE) childEnv.SEED_FORCE = env.SEED_FORCE;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env: childEnv, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

const seed = (url: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
  cli(url, env, 'db:seed', '--seed', SEEDER);
const undo = (url: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
  cli(url, env, 'db:seed:undo', '--seed', SEEDER);

function assertOk(result: CliResult): void {
  assert.equal(result.code, 0, result.output);
  assert.doesNotMatch(result.output, /ERROR:/, result.output);
}

interface Db {
  readonly url: string;
  value<T>(sql: string, params?: unknown[]): Promise<T>;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.allSettled(cleanups.map((cleanup) => cleanup()));
});

async function freshDatabase(): Promise<Db> {
  const database = await createTestDatabase({ migrated: true });
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  cleanups.push(async () => {
    await pool.end();
    await database.drop();
  });
  return {
    url: database.url,
    async value<T>(sql: string, params: unknown[] = []) {
      const result = await pool.query({ text: sql, values: params, rowMode: 'array' });
      return (result.rows[0] as unknown[] | undefined)?.[0] as T;
    },
  };
}

const count = (db: Db, sql: string): Promise<number> => db.value<number>(`SELECT count(*)::int FROM ${sql}`);
const volumeUsers = (db: Db): Promise<number> => count(db, `users WHERE ${IS_VOLUME}`);
const counterMismatches = (db: Db): Promise<number> =>
  count(db, `users u WHERE u.posts_count <> (SELECT count(*) FROM posts p WHERE p.author_id = u.id)`);

/** Everything seeded but the ids and the password hash (random on purpose), as one md5. */
async function contentDigest(db: Db): Promise<string> {
  const users = await db.value<string>(
    `SELECT md5(string_agg(concat_ws('|', username, email, display_name, bio, role, posts_count,
                                     profile::text, created_at, updated_at), E'\\n' ORDER BY username))
       FROM users WHERE ${IS_VOLUME}`,
  );
  const posts = await db.value<string>(
    `SELECT md5(string_agg(concat_ws('|', u.username, p.title, p.body, p.published, p.published_at,
                                     p.created_at, p.updated_at), E'\\n' ORDER BY p.id))
       FROM posts p JOIN users u ON u.id = p.author_id WHERE u.${IS_VOLUME.replace(' AND ', ' AND u.')}`,
  );
  return `${users}:${posts}`;
}

/** A real account with one post and one session, made before any seeding. */
async function realUser(db: Db): Promise<number> {
  const id = await db.value<number>(
    `INSERT INTO users (username, email, password_hash, display_name, posts_count)
     VALUES ('v_real_person', 'real@example.org', 'x', 'Real Person', 1) RETURNING id`,
  );
  await db.value(
    `INSERT INTO posts (author_id, title, body, published, published_at) VALUES ($1, 'Mine', 'mine', true, now())`,
    [id],
  );
  await db.value(`INSERT INTO sessions (sid, sess, expire) VALUES ('s1', $1, now() + interval '1 day')`, [
    JSON.stringify({ userId: id }),
  ]);
  return id;
}

describe('volume seeder', () => {
  let a: Db;
  let b: Db;
  let c: Db;
  let first: CliResult;
  before(async () => {
    [a, b, c] = await Promise.all([freshDatabase(), freshDatabase(), freshDatabase()]);
    [first] = await Promise.all([seed(a.url), seed(b.url), seed(c.url, { SEED: '8' })]);
  });

  test('seeds SEED_USERS users and SEED_POSTS posts, with a summary line', async () => {
    assertOk(first);
    assert.match(
      first.output,
      new RegExp(`seeded ${USERS} users and ${POSTS} posts in [\\d.]+ s \\([\\d,]+ rows/s\\)`),
    );
    assert.equal(await volumeUsers(a), USERS);
    assert.equal(await count(a, 'users'), USERS);
    assert.equal(await count(a, 'posts'), POSTS);
  });

  test('posts_count is exact, drafts and published posts both present, dates valid', async () => {
    assert.equal(await counterMismatches(a), 0);
    const drafts = await count(a, 'posts WHERE NOT published AND published_at IS NULL');
    assert.ok(drafts > POSTS * 0.05 && drafts < POSTS * 0.3, `${drafts} drafts`);
    assert.equal(await count(a, 'posts p JOIN users u ON u.id = p.author_id WHERE p.created_at < u.created_at'), 0);
    assert.equal(await count(a, 'posts WHERE published_at < created_at'), 0);
    assert.ok((await count(a, `posts WHERE body LIKE '%' || E'\\n\\n' || '%'`)) > 0, 'no multi-paragraph bodies');
  });

  test('the posts primary key, indexes and foreign key are all there after the bulk load', async () => {
    assert.equal(await count(a, `pg_indexes WHERE tablename = 'posts'`), 4);
    assert.equal(
      await count(a, `pg_constraint WHERE conrelid = 'posts'::regclass AND contype IN ('p', 'f') AND convalidated`),
      2,
    );
  });

  test('the bulk-loaded posts are already all-visible: no VACUUM needed for index-only scans', async () => {
    const pages = await a.value<{ relpages: number; relallvisible: number }>(
      `SELECT json_build_object('relpages', relpages, 'relallvisible', relallvisible) FROM pg_class
        WHERE oid = 'posts'::regclass`,
    );
    assert.ok(pages.relpages > 0, JSON.stringify(pages));
    assert.equal(pages.relallvisible, pages.relpages);
  });

  test('is deterministic: the same SEED gives the same rows, another SEED others', async () => {
    const [digestA, digestB, digestC] = await Promise.all([contentDigest(a), contentDigest(b), contentDigest(c)]);
    assert.equal(digestA, digestB);
    assert.notEqual(digestA, digestC);
  });

  test('a second run adds nothing and says so', async () => {
    const again = await seed(a.url);
    assertOk(again);
    assert.match(again.output, /already there; nothing added/);
    assert.equal(await count(a, 'users'), USERS);
    assert.equal(await count(a, 'posts'), POSTS);
  });
});

describe('volume seeder undo and safety', () => {
  test('undo removes exactly the volume rows; a real user, post and session survive', async () => {
    const db = await freshDatabase();
    const id = await realUser(db);
    const post = await db.value<string>(`SELECT row_to_json(p)::text FROM posts p`);
    assertOk(await seed(db.url));
    assert.equal(await count(db, 'users'), USERS + 1);
    // The bulk load sets the existing posts aside and puts them back, unchanged.
    assert.equal(await db.value<string>(`SELECT row_to_json(p)::text FROM posts p WHERE author_id = $1`, [id]), post);
    assertOk(await undo(db.url));
    assert.equal(await count(db, 'users'), 1);
    assert.equal(await db.value<number>(`SELECT id FROM users`), id);
    assert.equal(await count(db, 'posts'), 1);
    assert.equal(await count(db, 'sessions'), 1);
    assert.equal(await counterMismatches(db), 0);
  });

  test('NODE_ENV=production is refused before anything is written; SEED_FORCE=1 allows it', async () => {
    const db = await freshDatabase();
    const refused = await seed(db.url, { NODE_ENV: 'production' });
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /Refusing to run the volume seeder with NODE_ENV=production/);
    assert.equal(await count(db, 'users'), 0);
    assertOk(await seed(db.url, { NODE_ENV: 'production', SEED_FORCE: '1' }));
    assert.equal(await volumeUsers(db), USERS);
  });

  test('a failure mid-way rolls everything back', async () => {
    const db = await freshDatabase();
    // A real account already holds a username the seeder generates: the COPY hits the index.
    const taken = planVolume('7', USERS, POSTS).users[USERS - 1]!.username;
    await db.value(
      `INSERT INTO users (username, email, password_hash, display_name) VALUES ($1, 'someone@example.org', 'x', 'Someone')`,
      [taken],
    );
    const failed = await seed(db.url);
    assert.notEqual(failed.code, 0);
    assert.match(failed.output, /users_username_lower_key/);
    assert.equal(await count(db, 'users'), 1);
    assert.equal(await count(db, 'posts'), 0);
    assert.equal(await count(db, `pg_indexes WHERE tablename = 'posts'`), 4);
  });

  test('a failure after posts was emptied for the bulk load rolls back, existing posts intact', async () => {
    const db = await freshDatabase();
    await realUser(db);
    const post = await db.value<string>(`SELECT row_to_json(p)::text FROM posts p`);
    // Every generated body is longer than this: the posts COPY fails after the TRUNCATE.
    await db.value(`ALTER TABLE posts ADD CONSTRAINT short_bodies_only CHECK (char_length(body) < 10)`);
    const failed = await seed(db.url);
    assert.notEqual(failed.code, 0);
    assert.match(failed.output, /short_bodies_only/);
    assert.equal(await count(db, 'users'), 1);
    assert.equal(await db.value<string>(`SELECT row_to_json(p)::text FROM posts p`), post);
    assert.equal(await count(db, `pg_indexes WHERE tablename = 'posts'`), 4);
    assert.equal(await count(db, `pg_constraint WHERE conrelid = 'posts'::regclass AND contype IN ('p', 'f')`), 2);
  });

  test('db:seed:all without a size leaves the volume seeder out', async () => {
    const db = await freshDatabase();
    const result = await cli(db.url, { SEED_USERS: undefined, SEED_POSTS: undefined }, 'db:seed:all');
    assertOk(result);
    assert.match(result.output, /volume seed: skipped/);
    assert.equal(await volumeUsers(db), 0);
  });

  test('invalid sizes are refused with a clear message', async () => {
    const db = await freshDatabase();
    const result = await seed(db.url, { SEED_USERS: 'many' });
    assert.notEqual(result.code, 0);
    assert.match(result.output, /SEED_USERS must be a whole number/);
    assert.equal(await count(db, 'users'), 0);
  });
});
