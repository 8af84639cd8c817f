// The volume seeder, at a small size, through the real sequelize-cli as an admin
// runs it, each case on a fresh migrated database of its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { planVolume } from '../../seeders/volume/generate.js';
import { settingsOf } from '../../seeders/volume/search-vectors.js';
import { createTestDatabase } from '../support/app.js';
import { counterMismatches, scalar } from '../support/sql.js';
import { ROOT } from '../support/server.js';

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
  readonly pool: pg.Pool;
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
    pool,
    value: <T>(sql: string, params: unknown[] = []) => scalar<T>(pool, sql, params),
  };
}

const count = (db: Db, sql: string): Promise<number> => db.value<number>(`SELECT count(*)::int FROM ${sql}`);
const volumeUsers = (db: Db): Promise<number> => count(db, `users WHERE ${IS_VOLUME}`);
/** Posts whose stored search vector is not what the search trigger's function computes. */
const vectorMismatches = (db: Db): Promise<number> =>
  count(db, `posts WHERE search_vector IS DISTINCT FROM post_search_vector(title, body)`);
/** The search trigger's pg_trigger.tgenabled ('O': fires), undefined when it is missing. */
const searchTrigger = (db: Db): Promise<string | undefined> =>
  db.value<string>(
    `SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = 'posts'::regclass AND tgname = 'posts_search_vector'`,
  );

/** The indexes, keys and triggers of posts, as definitions: what a bulk load must put back. */
function postsSchema(db: Db): Promise<string> {
  return db.value<string>(
    `SELECT concat_ws(E'\\n',
       (SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'posts'),
       (SELECT string_agg(concat_ws(' ', conname, pg_get_constraintdef(oid), convalidated), E'\\n' ORDER BY conname)
          FROM pg_constraint WHERE conrelid = 'posts'::regclass),
       (SELECT string_agg(concat_ws(' ', pg_get_triggerdef(oid), tgenabled), E'\\n' ORDER BY tgname)
          FROM pg_trigger WHERE tgrelid = 'posts'::regclass AND NOT tgisinternal))`,
  );
}

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
  let migratedSchema: string;
  let first: CliResult;
  before(async () => {
    [a, b, c] = await Promise.all([freshDatabase(), freshDatabase(), freshDatabase()]);
    migratedSchema = await postsSchema(a);
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
    // Confirmed, as if each had followed its link when it joined.
    const unconfirmed = await a.pool.query('SELECT 1 FROM users WHERE email_confirmed_at IS DISTINCT FROM created_at');
    assert.equal(unconfirmed.rowCount, 0);
  });

  test('posts_count is exact, drafts and published posts both present, dates valid', async () => {
    assert.equal(await counterMismatches(a.pool), 0);
    const drafts = await count(a, 'posts WHERE NOT published AND published_at IS NULL');
    assert.ok(drafts > POSTS * 0.05 && drafts < POSTS * 0.3, `${drafts} drafts`);
    assert.equal(await count(a, 'posts p JOIN users u ON u.id = p.author_id WHERE p.created_at < u.created_at'), 0);
    assert.equal(await count(a, 'posts WHERE published_at < created_at'), 0);
    assert.ok((await count(a, `posts WHERE body LIKE '%' || E'\\n\\n' || '%'`)) > 0, 'no multi-paragraph bodies');
  });

  test('the posts primary key, indexes, foreign key and search trigger are all there after the bulk load', async () => {
    assert.equal(await postsSchema(a), migratedSchema);
    assert.match(migratedSchema, /posts_search_idx ON public\.posts USING gin \(search_vector\) WHERE published/);
    assert.equal(await count(a, `pg_constraint WHERE conrelid = 'posts'::regclass AND contype IN ('p', 'f')`), 2);
    assert.equal(await searchTrigger(a), 'O');
  });

  test('every bulk-loaded post has the search vector the trigger would have computed', async () => {
    assert.equal(await vectorMismatches(a), 0);
    assert.equal(await count(a, `posts WHERE search_vector = ''::tsvector`), 0);
  });

  test('the bulk-loaded posts are already all-visible: no VACUUM needed for index-only scans', async () => {
    // Counted over the pages that hold posts: the COPY extends the table several pages at a
    // time, and the last few it added may stay empty.
    const pages = await a.value<{ used: number; relallvisible: number }>(
      `SELECT json_build_object('used', (SELECT count(DISTINCT (ctid::text::point)[0]) FROM posts),
                                'relallvisible', relallvisible)
         FROM pg_class WHERE oid = 'posts'::regclass`,
    );
    assert.ok(pages.used > 0, JSON.stringify(pages));
    assert.equal(pages.relallvisible, pages.used);
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

  test('a post written after the bulk load gets its search vector from the trigger again', async () => {
    const id = await a.value<number>(
      `INSERT INTO posts (author_id, title, body, published, published_at)
       VALUES ((SELECT min(id) FROM users), 'Zebra crossings', 'Quietly grazing.', true, now()) RETURNING id`,
    );
    try {
      assert.equal(
        await count(a, `posts WHERE id = ${id} AND search_vector @@ to_tsquery('english', 'zebra & graze')`),
        1,
      );
      assert.equal(await vectorMismatches(a), 0);
    } finally {
      await a.value(`DELETE FROM posts WHERE id = $1`, [id]);
    }
  });
});

describe('volume seeder with SEED_COMMENTS and SEED_TAGS', () => {
  const asked = { SEED_COMMENTS: '2000', SEED_TAGS: '12' };
  /** The comments and the pairings, without ids, as one md5. */
  const conversation = (db: Db): Promise<string> =>
    db.value<string>(
      `SELECT md5(concat_ws('#',
         (SELECT string_agg(concat_ws('|', u.username, p.title, c.body, c.created_at), E'\n'
                            ORDER BY u.username, p.title, c.created_at, c.body)
            FROM comments c JOIN users u ON u.id = c.author_id JOIN posts p ON p.id = c.post_id),
         (SELECT string_agg(concat_ws('|', p.title, p.created_at, t.name), E'\n' ORDER BY p.created_at, p.title, t.name)
            FROM post_tags pt JOIN posts p ON p.id = pt.post_id JOIN tags t ON t.id = pt.tag_id)))`,
    );
  let a: Db;
  let b: Db;
  let seeded: CliResult;
  before(async () => {
    [a, b] = await Promise.all([freshDatabase(), freshDatabase()]);
    [seeded] = await Promise.all([seed(a.url, asked), seed(b.url, asked)]);
  });

  // First: a later test adds a pairing to a.
  test('is deterministic: the same SEED gives the same comments and tags', async () => {
    assert.equal(await conversation(a), await conversation(b));
  });

  test('comments under published posts only, the newest posts drawing the most; every counter exact', async () => {
    assertOk(seeded);
    assert.match(seeded.output, /volume seed: \d+ comments, \d+ post tags added/);
    const comments = await count(a, 'comments');
    // Only the draws that land on a published post are kept.
    assert.ok(comments > 1000 && comments <= 2000, `${comments} comments`);
    assert.equal(await count(a, 'comments c JOIN posts p ON p.id = c.post_id WHERE NOT p.published'), 0);
    assert.equal(await count(a, 'comments c JOIN posts p ON p.id = c.post_id WHERE c.created_at < p.published_at'), 0);
    const newestHalf = await count(
      a,
      `comments c JOIN posts p ON p.id = c.post_id WHERE p.published_at >= (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY published_at) FROM posts)`,
    );
    assert.ok(newestHalf > comments * 0.6, `${newestHalf} of ${comments} under the newest half`);
    assert.equal(await counterMismatches(a.pool), 0);
  });

  test('0 to 3 of SEED_TAGS tags a post, the first tag the most used; posts_count and published_at exact', async () => {
    assert.equal(await count(a, 'tags'), 12);
    const perPost = await a.value<number>(
      `SELECT max(n)::int FROM (SELECT count(*) AS n FROM post_tags GROUP BY post_id) x`,
    );
    assert.ok(perPost <= 3, `${perPost} tags on one post`);
    const top = await a.value<string>(`SELECT name FROM tags ORDER BY posts_count DESC, name LIMIT 1`);
    assert.equal(top, 'cooking');
    assert.ok((await count(a, 'post_tags')) > POSTS / 2);
    assert.equal(await counterMismatches(a.pool), 0);
    // The triggers are back on: a new pairing is counted.
    const before = await a.value<number>(`SELECT posts_count FROM tags WHERE name = 'travel'`);
    await a.value(
      `INSERT INTO post_tags (post_id, tag_id)
       SELECT p.id, t.id FROM posts p, tags t WHERE p.published AND t.name = 'travel'
          AND NOT EXISTS (SELECT 1 FROM post_tags x WHERE x.post_id = p.id AND x.tag_id = t.id) LIMIT 1`,
    );
    assert.equal(await a.value<number>(`SELECT posts_count FROM tags WHERE name = 'travel'`), before + 1);
    assert.equal(await counterMismatches(a.pool), 0);
  });

  test('undo › the comments, tags and pairings go; a real post’s comment by a volume user leaves its count', async () => {
    const id = await realUser(b);
    const realPost = await b.value<number>(`SELECT id FROM posts WHERE author_id = $1`, [id]);
    await b.value(
      `WITH added AS (
         INSERT INTO comments (post_id, author_id, body)
         SELECT $1, min(id), 'From a volume user' FROM users WHERE ${IS_VOLUME} RETURNING post_id)
       UPDATE posts SET comments_count = comments_count + 1 WHERE id IN (SELECT post_id FROM added)`,
      [realPost],
    );
    assertOk(await undo(b.url));
    assert.deepEqual(
      [await count(b, 'comments'), await count(b, 'post_tags'), await count(b, 'tags'), await count(b, 'posts')],
      [0, 0, 0, 1],
    );
    assert.equal(await counterMismatches(b.pool), 0);
  });
});

describe('volume seeder undo and safety', () => {
  test('undo removes exactly the volume rows; a real user, post and session survive', async () => {
    const db = await freshDatabase();
    const id = await realUser(db);
    const post = await db.value<string>(`SELECT row_to_json(p)::text FROM posts p`);
    assertOk(await seed(db.url));
    assert.equal(await count(db, 'users'), USERS + 1);
    // The bulk load sets the existing posts aside and puts them back, unchanged (their search
    // vectors too).
    assert.equal(await db.value<string>(`SELECT row_to_json(p)::text FROM posts p WHERE author_id = $1`, [id]), post);
    assert.equal(await vectorMismatches(db), 0);
    assertOk(await undo(db.url));
    assert.equal(await count(db, 'users'), 1);
    assert.equal(await db.value<number>(`SELECT id FROM users`), id);
    assert.equal(await count(db, 'posts'), 1);
    assert.equal(await count(db, 'sessions'), 1);
    assert.equal(await counterMismatches(db.pool), 0);
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
    const schema = await postsSchema(db);
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
    assert.equal(await postsSchema(db), schema);
    assert.equal(await searchTrigger(db), 'O');
  });

  test('a failure after posts was emptied for the bulk load rolls back, existing posts intact', async () => {
    const db = await freshDatabase();
    await realUser(db);
    const post = await db.value<string>(`SELECT row_to_json(p)::text FROM posts p`);
    // Every generated body is longer than this: the posts COPY fails after the TRUNCATE,
    // with the search trigger dropped.
    await db.value(`ALTER TABLE posts ADD CONSTRAINT short_bodies_only CHECK (char_length(body) < 10)`);
    const schema = await postsSchema(db);
    const failed = await seed(db.url);
    assert.notEqual(failed.code, 0);
    assert.match(failed.output, /short_bodies_only/);
    assert.equal(await count(db, 'users'), 1);
    assert.equal(await db.value<string>(`SELECT row_to_json(p)::text FROM posts p`), post);
    assert.equal(await postsSchema(db), schema);
    assert.equal(await searchTrigger(db), 'O');
  });

  test('a load too small to be a bulk one leaves the search vectors to the trigger', async () => {
    const db = await freshDatabase();
    const id = await realUser(db);
    // POSTS new posts are fewer than ten times what is there: no bulk load.
    await db.value(
      `INSERT INTO posts (author_id, title, body, published, published_at)
       SELECT $1, 'Older post ' || i, 'Written before the seeding.', true, now() FROM generate_series(1, $2) i`,
      [id, POSTS / 10],
    );
    const schema = await postsSchema(db);
    const result = await seed(db.url);
    assertOk(result);
    assert.doesNotMatch(result.output, /building the posts keys and indexes/);
    assert.equal(await count(db, 'posts'), POSTS + POSTS / 10 + 1);
    assert.equal(await vectorMismatches(db), 0);
    assert.equal(await postsSchema(db), schema);
  });

  test('a search trigger switched off before a bulk load is off after it, the vectors still right', async () => {
    const db = await freshDatabase();
    await db.value(`ALTER TABLE posts DISABLE TRIGGER posts_search_vector`);
    assertOk(await seed(db.url));
    assert.equal(await searchTrigger(db), 'D');
    assert.equal(await vectorMismatches(db), 0);
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

describe('volume seeder helper connections', () => {
  test('are opened with the seeder connection’s own settings, TLS included', () => {
    const ssl = { rejectUnauthorized: true, servername: 'db.example.org' };
    const seederConnection = new pg.Client({
      host: 'db.example.org',
      port: 6543,
      user: 'seeder',
      password: 'secret',
      database: 'app',
      ssl,
      options: '-c search_path=app',
      application_name: 'users-and-posts:42',
    });
    const settings = settingsOf(seederConnection);
    assert.equal(settings.ssl, ssl);
    assert.deepEqual(
      [settings.host, settings.port, settings.user, settings.password, settings.database, settings.options],
      ['db.example.org', 6543, 'seeder', 'secret', 'app', '-c search_path=app'],
    );
    assert.equal(settings.application_name, 'users-and-posts:42');
  });
});
