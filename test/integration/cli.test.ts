// The real sequelize-cli, run as an admin runs it (`npx sequelize-cli db:migrate` with
// DATABASE_URL set), against databases of this file's own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Sequelize } from 'sequelize';
import { DEMO_COMMENTS, DEMO_POSTS, DEMO_TAGS, DEMO_USERS } from '../../seeders/data/demo-content.js';
import { DEMO_ADMIN_USERNAME, DEMO_EMAIL_DOMAIN, DEMO_PASSWORD } from '../../src/db/demo.js';
import { migrate, pendingMigrations, runSeeders } from '../../src/db/migrator.js';
import { createSequelize } from '../../src/db/sequelize.js';
import { hashPassword, verifyPassword } from '../../src/services/passwords.js';
import { createTestDatabase, TEST_POOL } from '../support/app.js';
import { counterMismatches, scalar } from '../support/sql.js';
import { ROOT } from '../support/server.js';

const CLI = path.join(
  path.dirname(require.resolve('sequelize-cli/package.json')),
  (
    JSON.parse(fs.readFileSync(require.resolve('sequelize-cli/package.json'), 'utf8')) as {
      bin: Record<string, string>;
    }
  ).bin['sequelize-cli'] ?? 'lib/sequelize',
);
const MIGRATIONS = fs
  .readdirSync(path.join(ROOT, 'migrations'))
  .filter((f) => f.endsWith('.ts'))
  .sort();
const SEEDERS = fs
  .readdirSync(path.join(ROOT, 'seeders'))
  .filter((f) => f.endsWith('.ts'))
  .sort();
const APP_TABLES = ['comments', 'post_tags', 'posts', 'rate_limits', 'sessions', 'tags', 'users'];
const INDEXES = [
  'comments_author_idx',
  'comments_post_created_at_idx',
  'post_tags_tag_published_at_idx',
  'posts_author_created_at_idx',
  'posts_author_published_at_idx',
  'posts_published_at_id_idx',
  'posts_search_idx',
  'sessions_expire_idx',
  'sessions_user_id_idx',
  'tags_name_key',
  'tags_posts_count_idx',
  'users_display_name_trgm_idx',
  'users_email_lower_key',
  'users_email_trgm_idx',
  'users_username_lower_key',
  'users_username_trgm_idx',
];

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `sequelize-cli <args>` in the repo root with DATABASE_URL pointing at `url`; never throws. */
function cli(url: string, ...args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url };
  // The CLI is a plain process, not a test file of this runner.
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function cliOk(url: string, ...args: string[]): Promise<CliResult> {
  const result = await cli(url, ...args);
  assert.equal(
    result.code,
    0,
    `sequelize-cli ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`,
  );
  assert.doesNotMatch(result.stdout + result.stderr, /ERROR:/, `sequelize-cli ${args.join(' ')} printed an error`);
  return result;
}

interface Db {
  readonly url: string;
  readonly pool: pg.Pool;
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  value<T>(sql: string, params?: unknown[]): Promise<T>;
  close(): Promise<void>;
}

const opened: Db[] = [];
async function freshDatabase(migrated: boolean): Promise<Db> {
  const database = await createTestDatabase({ migrated });
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const db: Db = {
    url: database.url,
    pool,
    async rows<T>(sql: string, params: unknown[] = []) {
      return (await pool.query(sql, params)).rows as T[];
    },
    value: <T>(sql: string, params: unknown[] = []) => scalar<T>(pool, sql, params),
    async close() {
      await pool.end();
      await database.drop();
    },
  };
  opened.push(db);
  return db;
}
after(async () => {
  await Promise.allSettled(opened.map((db) => db.close()));
});

const tables = (db: Db): Promise<string[]> =>
  db
    .rows<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    )
    .then((rows) => rows.map((r) => r.table_name));
const appTables = async (db: Db): Promise<string[]> => (await tables(db)).filter((name) => APP_TABLES.includes(name));
const hasExtension = async (db: Db, name: string): Promise<boolean> =>
  (await db.value<number>(`SELECT count(*)::int FROM pg_extension WHERE extname = $1`, [name])) === 1;
const hasHstore = (db: Db): Promise<boolean> => hasExtension(db, 'hstore');
const columnsOf = async (db: Db, table: string): Promise<string[]> =>
  (
    await db.rows<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY column_name`,
      [table],
    )
  ).map((r) => r.column_name);
const metaNames = async (db: Db): Promise<string[]> =>
  (await db.rows<{ name: string }>(`SELECT name FROM "SequelizeMeta" ORDER BY name`)).map((r) => r.name);

/**
 * Everything the migrations define for the app's tables, as text that two equal schemas
 * print identically. The migration tools' own bookkeeping tables are left out.
 */
async function schemaSnapshot(db: Db): Promise<string> {
  const columns = await db.rows(
    `SELECT table_name, column_name, data_type, udt_name, character_maximum_length, is_nullable,
            column_default, is_generated, generation_expression
       FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = ANY($1)
      ORDER BY table_name, column_name`,
    [APP_TABLES],
  );
  const indexes = await db.rows(
    `SELECT tablename, indexname, indexdef FROM pg_indexes
      WHERE schemaname = 'public' AND tablename = ANY($1)
      ORDER BY tablename, indexname`,
    [APP_TABLES],
  );
  const constraints = await db.rows(
    `SELECT c.conrelid::regclass::text AS table_name, c.conname, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE n.nspname = 'public' AND c.conrelid::regclass::text = ANY($1)
      ORDER BY 1, 2`,
    [APP_TABLES],
  );
  const extensions = await db.rows(`SELECT extname FROM pg_extension ORDER BY extname`);
  return JSON.stringify({ columns, indexes, constraints, extensions }, null, 1);
}

let templateSchema: string;
before(async () => {
  // The template database of this run was migrated by the app's own runner (test/run.ts).
  templateSchema = await schemaSnapshot(await freshDatabase(true));
});

describe('db:migrate on an empty database', () => {
  let db: Db;
  let migrated: CliResult;
  let firstSchema: string;
  before(async () => {
    db = await freshDatabase(false);
    migrated = await cli(db.url, 'db:migrate');
    firstSchema = await schemaSnapshot(db);
  });

  test('db:migrate › exits 0 and names every migration it ran', () => {
    assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
    for (const name of MIGRATIONS) assert.match(migrated.stdout, new RegExp(`== ${path.parse(name).name}: migrated`));
  });

  test('db:migrate › creates users, posts and sessions, the hstore extension and the profile column', async () => {
    assert.deepEqual(await appTables(db), APP_TABLES);
    assert.ok(await hasHstore(db), 'hstore extension missing');
    const profile = await db.rows<{ udt_name: string; is_nullable: string }>(
      `SELECT udt_name, is_nullable FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'profile'`,
    );
    assert.deepEqual(profile, [{ udt_name: 'hstore', is_nullable: 'NO' }]);
  });

  test('db:migrate › creates every index the migrations declare', async () => {
    const names = (
      await db.rows<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`)
    ).map((r) => r.indexname);
    for (const index of INDEXES) assert.ok(names.includes(index), `index ${index} missing`);
    const def = await db.value<string>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'users_username_lower_key'`);
    assert.match(def, /CREATE UNIQUE INDEX .* \(lower\(\(username\)::text\)\)/);
  });

  test('db:migrate › records each migration in "SequelizeMeta" by its .ts file name', async () => {
    assert.ok(MIGRATIONS.length >= 4);
    assert.deepEqual(await metaNames(db), MIGRATIONS);
  });

  test('db:migrate › builds the same schema as the app’s in-process runner', () => {
    assert.equal(firstSchema, templateSchema);
  });

  test('db:migrate a second time › exits 0 and changes nothing', async () => {
    const again = await cliOk(db.url, 'db:migrate');
    assert.match(again.stdout, /No migrations were executed, database schema was already up to date/);
    assert.equal(await schemaSnapshot(db), firstSchema);
    assert.deepEqual(await metaNames(db), MIGRATIONS);
  });

  test('db:migrate:undo:all › leaves no app table, no hstore extension and an empty "SequelizeMeta"', async () => {
    await cliOk(db.url, 'db:migrate:undo:all');
    assert.deepEqual(await appTables(db), []);
    assert.equal(await hasHstore(db), false);
    assert.deepEqual(await metaNames(db), []);
    assert.deepEqual(
      (await tables(db)).filter((name) => name !== 'SequelizeMeta'),
      [],
      'only SequelizeMeta may remain',
    );
  });

  test('db:migrate after undo:all › gives back exactly the same schema', async () => {
    await cliOk(db.url, 'db:migrate');
    assert.equal(await schemaSnapshot(db), firstSchema);
    assert.deepEqual(await metaNames(db), MIGRATIONS);
  });
});

describe('db:migrate:undo one step at a time', () => {
  let db: Db;
  before(async () => {
    db = await freshDatabase(false);
    await cliOk(db.url, 'db:migrate');
  });

  // From the newest migration down: what each one's `down` must take away.
  const steps: [string, string, (db: Db) => Promise<void>][] = [
    [
      '20261203000200-create-tags.ts',
      'drops tags, post_tags, their triggers and functions',
      async (db) => {
        const tables = await appTables(db);
        assert.ok(!tables.includes('tags') && !tables.includes('post_tags'), tables.join(', '));
        const functions = `SELECT count(*)::int FROM pg_proc
                            WHERE proname IN ('posts_sync_post_tags', 'post_tags_set_published_at', 'post_tags_count')`;
        assert.equal(await db.value<number>(functions), 0);
        assert.equal(
          await db.value<number>(`SELECT count(*)::int FROM pg_trigger WHERE tgname = 'posts_post_tags'`),
          0,
        );
        // The migration before it is still in place.
        assert.ok(tables.includes('comments'));
      },
    ],
    [
      '20261203000100-create-comments.ts',
      'drops comments and posts.comments_count',
      async (db) => {
        assert.ok(!(await appTables(db)).includes('comments'), 'comments still there');
        assert.ok(!(await columnsOf(db, 'posts')).includes('comments_count'), 'posts.comments_count still there');
        // The migration before it is still in place.
        assert.ok((await columnsOf(db, 'posts')).includes('rendered_with'));
      },
    ],
    [
      '20261202000200-add-rendered-posts.ts',
      'drops the stored HTML, excerpt and renderer version of posts',
      async (db) => {
        const columns = await columnsOf(db, 'posts');
        for (const column of ['body_html', 'excerpt', 'rendered_with']) assert.ok(!columns.includes(column), column);
        // The migration before it is still in place.
        assert.ok((await columnsOf(db, 'users')).includes('email_confirmed_at'));
      },
    ],
    [
      '20261202000100-add-mail-outbox-and-account-tokens.ts',
      'drops mail_outbox, account_tokens and users.email_confirmed_at',
      async (db) => {
        assert.deepEqual(await appTables(db), ['posts', 'rate_limits', 'sessions', 'users']);
        assert.ok(
          !(await columnsOf(db, 'users')).includes('email_confirmed_at'),
          'users.email_confirmed_at still there',
        );
        // The migration before it is still in place.
        assert.ok((await columnsOf(db, 'posts')).includes('search_vector'));
      },
    ],
    [
      '20261201000100-add-posts-search.ts',
      'drops the search vector, its trigger, functions and index',
      async (db) => {
        const column = `SELECT count(*)::int FROM information_schema.columns
                         WHERE table_name = 'posts' AND column_name = 'search_vector'`;
        assert.equal(await db.value<number>(column), 0);
        assert.equal(
          await db.value<number>(`SELECT count(*)::int FROM pg_trigger WHERE tgname = 'posts_search_vector'`),
          0,
        );
        const functions = `SELECT count(*)::int FROM pg_proc
                            WHERE proname IN ('post_search_vector', 'posts_set_search_vector')`;
        assert.equal(await db.value<number>(functions), 0);
        assert.equal(
          await db.value<number>(`SELECT count(*)::int FROM pg_indexes WHERE indexname = 'posts_search_idx'`),
          0,
        );
        // The migration before it is still in place.
        assert.equal(await hasExtension(db, 'pg_trgm'), true);
      },
    ],
    [
      '20261121000600-add-user-search-indexes.ts',
      'drops the trigram indexes and pg_trgm',
      async (db) => {
        assert.deepEqual(await appTables(db), ['posts', 'rate_limits', 'sessions', 'users']);
        assert.equal(await hasExtension(db, 'pg_trgm'), false);
        assert.equal(await db.value<number>(`SELECT count(*)::int FROM pg_indexes WHERE indexname LIKE '%trgm%'`), 0);
      },
    ],
    [
      '20261121000500-create-rate-limits.ts',
      'drops rate_limits and leaves sessions',
      async (db) => {
        assert.deepEqual(await appTables(db), ['posts', 'sessions', 'users']);
      },
    ],
    [
      '20261121000400-create-sessions.ts',
      'drops sessions and leaves posts',
      async (db) => {
        assert.deepEqual(await appTables(db), ['posts', 'users']);
      },
    ],
    [
      '20261121000300-create-posts.ts',
      'drops posts and leaves users',
      async (db) => {
        assert.deepEqual(await appTables(db), ['users']);
        assert.ok(await hasHstore(db));
      },
    ],
    [
      '20261121000200-add-profile-to-users.ts',
      'drops users.profile and the hstore extension',
      async (db) => {
        assert.deepEqual(await appTables(db), ['users']);
        assert.ok(!(await columnsOf(db, 'users')).includes('profile'), 'users.profile still there');
        assert.ok((await columnsOf(db, 'users')).includes('username'));
        assert.equal(await hasHstore(db), false);
      },
    ],
    [
      '20261121000100-create-users.ts',
      'drops users',
      async (db) => {
        assert.deepEqual(await appTables(db), []);
        assert.deepEqual(
          await db.rows(
            `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'SequelizeMeta'`,
          ),
          [],
        );
      },
    ],
  ];

  test('the steps below › cover every migration file, newest first', () => {
    assert.deepEqual(
      steps.map(([name]) => name),
      [...MIGRATIONS].reverse(),
    );
  });

  for (const [name, outcome, check] of steps) {
    test(`db:migrate:undo with ${name} on top › ${outcome} and unrecords it`, async () => {
      const undone = await cliOk(db.url, 'db:migrate:undo');
      assert.match(undone.stdout, new RegExp(`== ${path.parse(name).name}: reverted`));
      await check(db);
      const expected = MIGRATIONS.slice(0, MIGRATIONS.indexOf(name));
      assert.deepEqual(await metaNames(db), expected);
    });
  }

  test('db:migrate:undo with nothing left › exits 0 and says so', async () => {
    const result = await cliOk(db.url, 'db:migrate:undo');
    assert.match(result.stdout, /No executed migrations found/);
  });

  test('db:migrate after undoing every step › the full schema is back', async () => {
    await cliOk(db.url, 'db:migrate');
    assert.equal(await schemaSnapshot(db), templateSchema);
    assert.deepEqual(await metaNames(db), MIGRATIONS);
  });
});

interface Counts {
  users: number;
  posts: number;
  comments: number;
  demoUsers: number;
}
async function counts(db: Db): Promise<Counts> {
  return {
    users: await db.value<number>(`SELECT count(*)::int FROM users`),
    posts: await db.value<number>(`SELECT count(*)::int FROM posts`),
    comments: await db.value<number>(`SELECT count(*)::int FROM comments`),
    demoUsers: await db.value<number>(`SELECT count(*)::int FROM users WHERE email LIKE $1`, [
      `%@${DEMO_EMAIL_DOMAIN}`,
    ]),
  };
}

/** A real account, written as the app would (posts_count kept exact). */
async function insertRealUser(db: Db, username: string, email: string, posts: number): Promise<number> {
  const id = await db.value<number>(
    `INSERT INTO users (username, email, password_hash, display_name, posts_count)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [username, email, await hashPassword('a-real-password'), `Real ${username}`, posts],
  );
  for (let i = 0; i < posts; i++) {
    await db.rows(
      `INSERT INTO posts (author_id, title, body, published, published_at) VALUES ($1, $2, 'mine', true, now())`,
      [id, `Real post ${i + 1} by ${username}`],
    );
  }
  return id;
}

const rowOf = (db: Db, id: number): Promise<unknown[]> =>
  db.rows(`SELECT to_jsonb(u) AS row FROM users u WHERE id = $1`, [id]);

describe('db:seed:all on a migrated database', () => {
  let db: Db;
  let seeded: CliResult;
  before(async () => {
    db = await freshDatabase(false);
    await cliOk(db.url, 'db:migrate');
    seeded = await cli(db.url, 'db:seed:all');
  });

  test('db:seed:all › exits 0 and creates the demo users, one of them the admin', async () => {
    assert.equal(seeded.code, 0, seeded.stdout + seeded.stderr);
    assert.ok(DEMO_USERS.length >= 10 && DEMO_USERS.length <= 12, `${DEMO_USERS.length} demo users`);
    const users = await db.rows<{ username: string; email: string; role: string; confirmed: boolean }>(
      `SELECT username, email, role, email_confirmed_at IS NOT NULL AS confirmed FROM users ORDER BY username`,
    );
    assert.deepEqual(users.map((u) => u.username).sort(), DEMO_USERS.map((u) => u.username).sort());
    for (const user of users) assert.equal(user.email, `${user.username}@${DEMO_EMAIL_DOMAIN}`);
    for (const user of users) assert.ok(user.confirmed, `${user.username}'s address is not confirmed`);
    assert.deepEqual(
      users.filter((u) => u.role === 'admin').map((u) => u.username),
      [DEMO_ADMIN_USERNAME],
    );
  });

  test('db:seed:all › creates the demo posts, drafts unpublished', async () => {
    assert.ok(DEMO_POSTS.length >= 45 && DEMO_POSTS.length <= 55, `${DEMO_POSTS.length} demo posts`);
    const posts = await db.rows<{ published: number; drafts: number; total: number; bad: number }>(
      `SELECT count(*) FILTER (WHERE published)::int AS published,
              count(*) FILTER (WHERE NOT published)::int AS drafts,
              count(*)::int AS total,
              count(*) FILTER (WHERE published_at < created_at)::int AS bad
         FROM posts`,
    );
    const drafts = DEMO_POSTS.filter((p) => p.draft).length;
    assert.deepEqual(posts[0], { published: DEMO_POSTS.length - drafts, drafts, total: DEMO_POSTS.length, bad: 0 });
  });

  test('db:seed:all › every posts_count equals that user’s number of posts', async () => {
    assert.equal(await counterMismatches(db.pool), 0);
    const counted = await db.value<number>(`SELECT sum(posts_count)::int FROM users`);
    assert.equal(counted, DEMO_POSTS.length);
  });

  test('db:seed:all › adds the demo comments under published posts, after them, every comments_count exact', async () => {
    const [row] = await db.rows<{ comments: number; early: number; counted: number }>(
      `SELECT count(*)::int AS comments,
              count(*) FILTER (WHERE c.created_at <= p.published_at OR NOT p.published)::int AS early,
              (SELECT sum(comments_count)::int FROM posts) AS counted
         FROM comments c JOIN posts p ON p.id = c.post_id`,
    );
    assert.deepEqual(row, { comments: DEMO_COMMENTS.length, early: 0, counted: DEMO_COMMENTS.length });
    assert.equal(await counterMismatches(db.pool), 0);
  });

  test('db:seed:all › tags the demo posts; each tag counts its published posts', async () => {
    const pairs = Object.values(DEMO_TAGS).flat().length;
    assert.equal(await db.value<number>(`SELECT count(*)::int FROM post_tags`), pairs);
    assert.equal(
      await db.value<number>(`SELECT count(*)::int FROM tags`),
      new Set(Object.values(DEMO_TAGS).flat()).size,
    );
    assert.ok((await db.value<number>(`SELECT posts_count FROM tags WHERE name = 'cooking'`)) > 5);
    assert.equal(await counterMismatches(db.pool), 0);
  });

  test('db:seed:all › the admin’s password hash verifies the demo password, and only it', async () => {
    const hash = await db.value<string>(`SELECT password_hash FROM users WHERE username = $1`, [DEMO_ADMIN_USERNAME]);
    assert.match(hash, /^\$argon2id\$/);
    assert.equal(await verifyPassword(hash, DEMO_PASSWORD), true);
    assert.equal(await verifyPassword(hash, `${DEMO_PASSWORD}x`), false);
  });

  test('db:seed:all › records nothing: seeders are idempotent instead', async () => {
    assert.ok(!(await tables(db)).includes('SequelizeData'));
  });

  test('db:seed:all a second time › exits 0 and adds nothing', async () => {
    const before = await counts(db);
    await cliOk(db.url, 'db:seed:all');
    assert.deepEqual(await counts(db), before);
    assert.equal(await counterMismatches(db.pool), 0);
  });

  test('db:seed:undo:all › removes exactly the demo users and their posts; a real user and post survive', async () => {
    const realId = await insertRealUser(db, 'real_person', 'real.person@example.org', 1);
    // A demo user's session goes with the user; a real user's stays.
    await db.rows(
      `INSERT INTO sessions (sid, sess, expire) VALUES
         ('demo-session', json_build_object('userId', (SELECT id FROM users WHERE username = $1), 'cookie', '{}'::json), now() + interval '1 day'),
         ('real-session', json_build_object('userId', $2::int, 'cookie', '{}'::json), now() + interval '1 day')`,
      [DEMO_ADMIN_USERNAME, realId],
    );
    // A demo person's comment under the real post leaves its count; the real person's
    // comment under a demo post goes with that post.
    const realPost = await db.value<number>(`SELECT id FROM posts WHERE author_id = $1`, [realId]);
    await db.rows(
      `WITH added AS (
         INSERT INTO comments (post_id, author_id, body)
         VALUES ($1, (SELECT id FROM users WHERE username = $2), 'From the demo admin'),
                ((SELECT id FROM posts WHERE published AND author_id <> $3 LIMIT 1), $3, 'From the real person')
         RETURNING post_id)
       UPDATE posts SET comments_count = comments_count + 1 WHERE id IN (SELECT post_id FROM added)`,
      [realPost, DEMO_ADMIN_USERNAME, realId],
    );
    const realRow = await rowOf(db, realId);
    await cliOk(db.url, 'db:seed:undo:all');
    assert.deepEqual(await counts(db), { users: 1, posts: 1, comments: 0, demoUsers: 0 });
    assert.equal(await db.value<number>(`SELECT count(*)::int FROM tags`), 0);
    assert.equal(await db.value<number>(`SELECT comments_count FROM posts WHERE id = $1`, [realPost]), 0);
    assert.deepEqual(await rowOf(db, realId), realRow);
    assert.equal(await db.value<number>(`SELECT author_id FROM posts`), realId);
    assert.deepEqual(
      (await db.rows<{ sid: string }>(`SELECT sid FROM sessions ORDER BY sid`)).map((r) => r.sid),
      ['real-session'],
    );
  });

  test('db:seed:all after undo › seeds the demo data again beside the real user', async () => {
    await cliOk(db.url, 'db:seed:all');
    assert.deepEqual(await counts(db), {
      users: DEMO_USERS.length + 1,
      posts: DEMO_POSTS.length + 1,
      comments: DEMO_COMMENTS.length,
      demoUsers: DEMO_USERS.length,
    });
    assert.equal(await counterMismatches(db.pool), 0);
  });
});

describe('rebuilding a database: db:migrate:undo:all, db:migrate, db:seed:all', () => {
  let db: Db;
  before(async () => {
    db = await freshDatabase(false);
    await cliOk(db.url, 'db:migrate');
    await cliOk(db.url, 'db:seed:all');
  });

  test('the three commands in a row › an empty schema filled with the demo data again', async () => {
    await cliOk(db.url, 'db:migrate:undo:all');
    await cliOk(db.url, 'db:migrate');
    await cliOk(db.url, 'db:seed:all');
    assert.deepEqual(await counts(db), {
      users: DEMO_USERS.length,
      posts: DEMO_POSTS.length,
      comments: DEMO_COMMENTS.length,
      demoUsers: DEMO_USERS.length,
    });
    assert.equal(await counterMismatches(db.pool), 0);
  });
});

describe('db:seed:all beside a real account named like a demo account', () => {
  let db: Db;
  let realAdmin: number;
  let realRow: unknown[];
  before(async () => {
    db = await freshDatabase(true);
    realAdmin = await insertRealUser(db, DEMO_ADMIN_USERNAME, 'boss@company.example', 2);
    realRow = await rowOf(db, realAdmin);
  });

  test(`a real user "${DEMO_ADMIN_USERNAME}" with their own email › db:seed:all exits 0 and leaves them untouched`, async () => {
    await cliOk(db.url, 'db:seed:all');
    assert.deepEqual(await rowOf(db, realAdmin), realRow);
    assert.equal(await db.value<number>(`SELECT count(*)::int FROM posts WHERE author_id = $1`, [realAdmin]), 2);
    assert.equal(
      await db.value<number>(`SELECT count(*)::int FROM users WHERE lower(username) = $1`, [DEMO_ADMIN_USERNAME]),
      1,
    );
    // The other demo accounts still arrive, with their own posts only.
    const others = DEMO_USERS.filter((u) => u.username !== DEMO_ADMIN_USERNAME);
    const c = await counts(db);
    assert.equal(c.demoUsers, others.length);
    assert.equal(c.posts, 2 + DEMO_POSTS.filter((p) => p.author !== DEMO_ADMIN_USERNAME).length);
    assert.equal(await counterMismatches(db.pool), 0);
  });

  test(`a real user "${DEMO_ADMIN_USERNAME}" › db:seed:undo:all keeps them and their posts`, async () => {
    await cliOk(db.url, 'db:seed:undo:all');
    assert.deepEqual(await counts(db), { users: 1, posts: 2, comments: 0, demoUsers: 0 });
    assert.deepEqual(await rowOf(db, realAdmin), realRow);
  });
});

const withSequelize = async <T>(db: Db, work: (sequelize: Sequelize) => Promise<T>): Promise<T> => {
  const sequelize = createSequelize(db.url, { ...TEST_POOL, dbPoolMax: 1 });
  try {
    return await work(sequelize);
  } finally {
    await sequelize.close();
  }
};

// `npm start` migrates and seeds with src/db/migrator.ts; an admin then uses the CLI on the
// same database (and the other way round). Each must see what the other recorded.
describe('the app’s in-process runner, then the CLI', () => {
  let db: Db;
  before(async () => {
    db = await freshDatabase(false);
    await withSequelize(db, async (sequelize) => {
      assert.deepEqual(await migrate(sequelize), MIGRATIONS);
    });
  });

  test('after migrate() › the migrations are recorded in "SequelizeMeta", the table the CLI reads', async () => {
    const all = await tables(db);
    assert.ok(all.includes('SequelizeMeta'), `migrate() recorded its migrations elsewhere; tables: ${all.join(', ')}`);
    assert.deepEqual(await metaNames(db), MIGRATIONS);
  });

  test('after migrate() › db:migrate:status reports every migration up', async () => {
    const status = await cliOk(db.url, 'db:migrate:status');
    for (const name of MIGRATIONS) assert.match(status.stdout, new RegExp(`^up ${name.replace(/\./g, '\\.')}$`, 'm'));
    assert.doesNotMatch(status.stdout, /^down /m);
  });

  test('after migrate() › db:migrate has nothing to do', async () => {
    const result = await cliOk(db.url, 'db:migrate');
    assert.match(result.stdout, /No migrations were executed, database schema was already up to date/);
    assert.deepEqual(await metaNames(db), MIGRATIONS);
  });

  test('after runSeeders() › db:seed:all adds nothing', async () => {
    await withSequelize(db, (sequelize) => runSeeders(sequelize, SEEDERS));
    const before = await counts(db);
    assert.equal(before.demoUsers, DEMO_USERS.length);
    await cliOk(db.url, 'db:seed:all');
    assert.deepEqual(await counts(db), before);
  });
});

describe('the CLI, then the app’s in-process runner', () => {
  let db: Db;
  before(async () => {
    db = await freshDatabase(false);
    await cliOk(db.url, 'db:migrate');
    await cliOk(db.url, 'db:seed:all');
  });

  test('after db:migrate › the app’s runner finds no pending migration', async () => {
    assert.deepEqual(await withSequelize(db, pendingMigrations), []);
  });

  test('after db:seed:all › the app’s runSeeders() adds nothing', async () => {
    const before = await counts(db);
    await withSequelize(db, (sequelize) => runSeeders(sequelize, SEEDERS));
    assert.deepEqual(await counts(db), before);
  });
});
