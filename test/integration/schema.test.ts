// The migrations are the schema (STYLE rule 8): the models must describe the migrated
// tables exactly, and the database's own constraints must hold when the app is bypassed.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, describe, test } from 'node:test';
import { type ModelStatic, QueryTypes, type Model, type ModelAttributeColumnOptions } from 'sequelize';
import { Comment, Post, PostTag, Tag, User } from '../../src/models/index.js';
import { useTestApp } from '../support/app.js';
import { createUser } from '../support/factories.js';

const t = useTestApp();

interface ColumnDescription {
  type: string;
  allowNull: boolean;
  defaultValue: unknown;
  primaryKey: boolean;
}

const describeTable = (table: string): Promise<Record<string, ColumnDescription>> =>
  t.db.sequelize.getQueryInterface().describeTable(table);

/** The column type PostgreSQL reports (as Sequelize's describeTable spells it) for a model type. */
function columnTypeFor(attribute: ModelAttributeColumnOptions): string {
  const type = attribute.type as unknown as { key: string; options?: { length?: number } };
  switch (type.key) {
    case 'STRING':
      return `CHARACTER VARYING(${type.options?.length ?? 255})`;
    case 'TEXT':
      return 'TEXT';
    case 'INTEGER':
      return 'INTEGER';
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'DATE':
      return 'TIMESTAMP WITH TIME ZONE';
    case 'HSTORE':
      return 'HSTORE';
    default:
      return `(no known column type for ${type.key})`;
  }
}

/** A model default as describeTable prints the column default ('' for an empty hstore). */
function printedDefault(value: unknown): string {
  if (value !== null && typeof value === 'object' && Object.keys(value).length === 0) return '';
  return String(value);
}

const models: [string, ModelStatic<Model>, string][] = [
  ['User', User, 'users'],
  ['Post', Post, 'posts'],
  ['Comment', Comment, 'comments'],
  ['Tag', Tag, 'tags'],
  ['PostTag', PostTag, 'post_tags'],
];

// Columns a trigger writes and only SQL reads: the search words of a post. As model
// attributes they would be loaded with every post and could be written past the trigger.
const DATABASE_MAINTAINED: Record<string, string[]> = { posts: ['search_vector'] };

describe('models match the migrated tables', () => {
  test('posts.search_vector › is kept by its trigger from the title and body', async () => {
    const author = await createUser();
    const post = await Post.create({
      authorId: author.id,
      title: 'Gardening',
      body: 'Tomatoes',
      published: false,
      publishedAt: null,
    });
    const vectorOf = async (): Promise<string> => {
      const [row] = await t.db.sequelize.query<{ v: string }>(
        'SELECT search_vector::text AS v FROM posts WHERE id = $1',
        {
          bind: [post.id],
          type: QueryTypes.SELECT,
        },
      );
      return row!.v;
    };
    // The body's words start 16 positions past the title's: no phrase spans the two.
    assert.equal(await vectorOf(), "'garden':1A 'tomato':18B");
    await post.update({ body: 'Cucumbers' });
    assert.equal(await vectorOf(), "'cucumb':18B 'garden':1A");
  });

  for (const [name, model, table] of models) {
    test(`${name} › the model's table is "${table}"`, () => {
      assert.equal(model.getTableName(), table);
    });

    test(`${name} › every attribute's field is a column of "${table}" with a compatible type`, async () => {
      const columns = await describeTable(table);
      const drift: string[] = [];
      for (const [attribute, options] of Object.entries(model.getAttributes())) {
        const field = options.field ?? attribute;
        const column = columns[field];
        if (!column) drift.push(`${attribute}: no column "${field}"`);
        else if (column.type !== columnTypeFor(options))
          drift.push(`${attribute}: model ${columnTypeFor(options)}, column ${column.type}`);
      }
      assert.deepEqual(drift, []);
    });

    test(`${name} › every attribute's nullability matches its column's`, async () => {
      const columns = await describeTable(table);
      const drift: string[] = [];
      for (const [attribute, options] of Object.entries(model.getAttributes())) {
        const column = columns[options.field ?? attribute];
        if (!column) continue;
        // Sequelize lets an attribute be null unless allowNull is false (a primary key never is).
        const modelAllowsNull = options.allowNull !== false && options.primaryKey !== true;
        if (modelAllowsNull !== column.allowNull) {
          drift.push(
            `${attribute}: model ${modelAllowsNull ? 'NULL' : 'NOT NULL'}, column ${column.allowNull ? 'NULL' : 'NOT NULL'}`,
          );
        }
      }
      assert.deepEqual(drift, []);
    });

    test(`${name} › every column of "${table}" is a model attribute, but those the database maintains`, async () => {
      const fields = Object.entries(model.getAttributes()).map(([attribute, options]) => options.field ?? attribute);
      const unmapped = Object.keys(await describeTable(table)).filter(
        (column) => !fields.includes(column) && !DATABASE_MAINTAINED[table]?.includes(column),
      );
      assert.deepEqual(unmapped, []);
    });

    test(`${name} › primary key and defaults agree with the columns`, async () => {
      const columns = await describeTable(table);
      const drift: string[] = [];
      for (const [attribute, options] of Object.entries(model.getAttributes())) {
        const column = columns[options.field ?? attribute];
        if (!column) continue;
        if ((options.primaryKey === true) !== column.primaryKey) drift.push(`${attribute}: primary key differs`);
        if (options.defaultValue !== undefined && typeof options.defaultValue !== 'function') {
          const expected = printedDefault(options.defaultValue);
          if (printedDefault(column.defaultValue) !== expected) {
            drift.push(
              `${attribute}: model default ${JSON.stringify(expected)}, column default ${JSON.stringify(column.defaultValue)}`,
            );
          }
        }
      }
      assert.deepEqual(drift, []);
    });
  }

  test('Post.authorId › is a foreign key to users.id with ON DELETE CASCADE, in the model and in the table', async () => {
    const attribute = Post.getAttributes().authorId;
    assert.equal(attribute.field, 'author_id');
    assert.deepEqual(attribute.references, { model: 'users', key: 'id' });
    assert.equal(attribute.onDelete, 'CASCADE');
    const [fk] = await t.db.sequelize.query<{ definition: string }>(
      `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
        WHERE conrelid = 'posts'::regclass AND contype = 'f'`,
      { type: QueryTypes.SELECT },
    );
    assert.match(
      fk?.definition ?? '',
      /^FOREIGN KEY \(author_id\) REFERENCES users\(id\) ON UPDATE CASCADE ON DELETE CASCADE$/,
    );
  });
});

interface PgError {
  code?: string;
  constraint?: string;
}

/** The PostgreSQL error under a Sequelize error. */
const pgErrorOf = (error: unknown): PgError => (error as { original?: PgError }).original ?? (error as PgError);

async function assertRejected(sql: string, bind: unknown[], codes: string[], constraint?: string): Promise<void> {
  await assert.rejects(t.db.sequelize.query(sql, { bind }), (error: unknown) => {
    const pgError = pgErrorOf(error);
    assert.ok(
      codes.includes(pgError.code ?? ''),
      `SQLSTATE ${pgError.code} (${String(error)}), expected ${codes.join(' or ')}`,
    );
    if (constraint) assert.equal(pgError.constraint, constraint);
    return true;
  });
}

const unique = (prefix: string): string => `${prefix}_${crypto.randomBytes(4).toString('hex')}`;

interface UserRow {
  username: string | null;
  email: string | null;
  password_hash: string;
  display_name: string;
  bio: string;
  role: string;
  posts_count: number;
}

function validUser(): UserRow {
  const username = unique('raw');
  return {
    username,
    email: `${username}@example.com`,
    password_hash: 'not-a-real-hash',
    display_name: 'Raw SQL',
    bio: '',
    role: 'member',
    posts_count: 0,
  };
}

const INSERT_USER = `INSERT INTO users (username, email, password_hash, display_name, bio, role, posts_count)
  VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`;
const userBind = (row: UserRow): unknown[] => [
  row.username,
  row.email,
  row.password_hash,
  row.display_name,
  row.bio,
  row.role,
  row.posts_count,
];

async function insertUser(row: UserRow): Promise<number> {
  const [inserted] = await t.db.sequelize.query<{ id: number }>(INSERT_USER, {
    bind: userBind(row),
    type: QueryTypes.SELECT,
  });
  assert.ok(inserted);
  return inserted.id;
}

interface PostRow {
  author_id: number;
  title: string | null;
  body: string;
  published: boolean;
  published_at: Date | null;
}

const INSERT_POST = `INSERT INTO posts (author_id, title, body, published, published_at)
  VALUES ($1, $2, $3, $4, $5) RETURNING id`;
const postBind = (row: PostRow): unknown[] => [row.author_id, row.title, row.body, row.published, row.published_at];

describe('database constraints, with the app bypassed', () => {
  let authorId: number;
  before(async () => {
    authorId = (await createUser()).id;
  });
  const validPost = (): PostRow => ({
    author_id: authorId,
    title: 'A title',
    body: 'A body',
    published: true,
    published_at: new Date(),
  });

  test('a valid user row and a valid post row › are accepted (the control for the cases below)', async () => {
    const id = await insertUser(validUser());
    assert.ok(id > 0);
    await t.db.sequelize.query(INSERT_POST, { bind: postBind({ ...validPost(), author_id: id }) });
    await t.db.sequelize.query(INSERT_POST, {
      bind: postBind({
        ...validPost(),
        author_id: id,
        title: 'x'.repeat(200),
        body: 'y'.repeat(100_000),
        published: false,
        published_at: null,
      }),
    });
  });

  const userCases: [string, (row: UserRow) => UserRow, string[], string?][] = [
    [
      'a username with uppercase letters',
      (r) => ({ ...r, username: 'Upper_Case' }),
      ['23514'],
      'users_username_format',
    ],
    ['a 2-character username', (r) => ({ ...r, username: 'ab' }), ['23514'], 'users_username_format'],
    ['a username with a hyphen', (r) => ({ ...r, username: 'not-allowed' }), ['23514'], 'users_username_format'],
    ['a null username', (r) => ({ ...r, username: null }), ['23502']],
    ['an email without @', (r) => ({ ...r, email: 'nobody.example.com' }), ['23514'], 'users_email_format'],
    ['a null email', (r) => ({ ...r, email: null }), ['23502']],
    ['an empty display name', (r) => ({ ...r, display_name: '' }), ['23514'], 'users_display_name_length'],
    ['a bio over 1000 characters', (r) => ({ ...r, bio: 'b'.repeat(1001) }), ['23514'], 'users_bio_length'],
    ['role "owner"', (r) => ({ ...r, role: 'owner' }), ['23514'], 'users_role_valid'],
    ['a negative posts_count', (r) => ({ ...r, posts_count: -1 }), ['23514'], 'users_posts_count_non_negative'],
  ];
  for (const [situation, change, codes, constraint] of userCases) {
    test(`users: ${situation} › rejected by the database (${codes.join('/')}${constraint ? ` ${constraint}` : ''})`, async () => {
      const row = change(validUser());
      await assertRejected(INSERT_USER, userBind(row), codes, constraint);
      if (row.email) {
        const [found] = await t.db.sequelize.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM users WHERE email = $1`,
          {
            bind: [row.email],
            type: QueryTypes.SELECT,
          },
        );
        assert.equal(found?.n, 0);
      }
    });
  }

  test('users: a username taken already › rejected by the unique index on lower(username) (23505)', async () => {
    const first = validUser();
    await insertUser(first);
    await assertRejected(
      INSERT_USER,
      userBind({ ...validUser(), username: first.username }),
      ['23505'],
      'users_username_lower_key',
    );
  });

  test('users: a username differing only in case › rejected, and the unique index alone would catch it', async () => {
    const first = validUser();
    await insertUser(first);
    const shouting = { ...validUser(), username: first.username!.toUpperCase() };
    await assertRejected(INSERT_USER, userBind(shouting), ['23514', '23505']);
    // The format check fires first; without it, the index on lower(username) must still refuse.
    const transaction = await t.db.sequelize.transaction();
    try {
      await t.db.sequelize.query('ALTER TABLE users DROP CONSTRAINT users_username_format', { transaction });
      await assert.rejects(
        t.db.sequelize.query(INSERT_USER, { bind: userBind(shouting), transaction }),
        (error: unknown) => {
          assert.equal(pgErrorOf(error).code, '23505');
          assert.equal(pgErrorOf(error).constraint, 'users_username_lower_key');
          return true;
        },
      );
    } finally {
      await transaction.rollback();
    }
    const [check] = await t.db.sequelize.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'users_username_format'`,
      { type: QueryTypes.SELECT },
    );
    assert.equal(check?.n, 1);
  });

  test('users: an email differing only in case › rejected by the unique index on lower(email) (23505)', async () => {
    const first = { ...validUser(), email: `${unique('Mixed')}@Example.COM` };
    await insertUser(first);
    await assertRejected(
      INSERT_USER,
      userBind({ ...validUser(), email: first.email.toLowerCase() }),
      ['23505'],
      'users_email_lower_key',
    );
  });

  const postCases: [string, (row: PostRow) => PostRow, string[], string?][] = [
    ['an empty title', (r) => ({ ...r, title: '' }), ['23514'], 'posts_title_not_blank'],
    ['a title of spaces only', (r) => ({ ...r, title: '     ' }), ['23514'], 'posts_title_not_blank'],
    ['a title of tabs and newlines only', (r) => ({ ...r, title: ' \t\r\n ' }), ['23514'], 'posts_title_not_blank'],
    // varchar(200) itself refuses a longer value (22001) before the check constraint runs.
    ['a title over 200 characters', (r) => ({ ...r, title: 't'.repeat(201) }), ['22001', '23514']],
    ['a null title', (r) => ({ ...r, title: null }), ['23502']],
    ['a body over 100,000 characters', (r) => ({ ...r, body: 'b'.repeat(100_001) }), ['23514'], 'posts_body_length'],
    [
      'published=true with no published_at',
      (r) => ({ ...r, published: true, published_at: null }),
      ['23514'],
      'posts_published_at_set',
    ],
    [
      'published=false with a published_at',
      (r) => ({ ...r, published: false, published_at: new Date() }),
      ['23514'],
      'posts_published_at_set',
    ],
    ['a nonexistent author_id', (r) => ({ ...r, author_id: 2_147_483_647 }), ['23503']],
  ];
  for (const [situation, change, codes, constraint] of postCases) {
    test(`posts: ${situation} › rejected by the database (${codes.join('/')}${constraint ? ` ${constraint}` : ''})`, async () => {
      const [before] = await t.db.sequelize.query<{ n: number }>(`SELECT count(*)::int AS n FROM posts`, {
        type: QueryTypes.SELECT,
      });
      await assertRejected(INSERT_POST, postBind(change(validPost())), codes, constraint);
      const [afterwards] = await t.db.sequelize.query<{ n: number }>(`SELECT count(*)::int AS n FROM posts`, {
        type: QueryTypes.SELECT,
      });
      assert.equal(afterwards?.n, before?.n);
    });
  }

  test('posts: an update that breaks published/published_at › rejected too (23514)', async () => {
    const [post] = await t.db.sequelize.query<{ id: number }>(INSERT_POST, {
      bind: postBind(validPost()),
      type: QueryTypes.SELECT,
    });
    await assertRejected(
      `UPDATE posts SET published = false WHERE id = $1`,
      [post?.id],
      ['23514'],
      'posts_published_at_set',
    );
  });
});

describe('ON DELETE CASCADE', () => {
  test('deleting a user with raw SQL › deletes their posts and no one else’s', async () => {
    const doomed = await insertUser(validUser());
    const other = await insertUser(validUser());
    for (const author of [doomed, doomed, other]) {
      await t.db.sequelize.query(INSERT_POST, {
        bind: postBind({ author_id: author, title: 'Cascade', body: 'x', published: false, published_at: null }),
      });
    }
    await t.db.sequelize.query(`DELETE FROM users WHERE id = $1`, { bind: [doomed] });
    const counts = await t.db.sequelize.query<{ author_id: number; n: number }>(
      `SELECT author_id, count(*)::int AS n FROM posts WHERE author_id = ANY($1::int[]) GROUP BY author_id`,
      { bind: [[doomed, other]], type: QueryTypes.SELECT },
    );
    assert.deepEqual(counts, [{ author_id: other, n: 1 }]);
  });
});

describe('sessions.user_id', () => {
  async function insertSession(sess: unknown): Promise<number | null> {
    const [row] = await t.db.sequelize.query<{ user_id: number | null }>(
      `INSERT INTO sessions (sid, sess, expire) VALUES ($1, $2::json, now() + interval '1 day') RETURNING user_id`,
      { bind: [unique('sid'), JSON.stringify(sess)], type: QueryTypes.SELECT },
    );
    assert.ok(row);
    return row.user_id;
  }

  test('a session with userId 5 › user_id is generated as 5', async () => {
    assert.equal(await insertSession({ userId: 5, cookie: {} }), 5);
  });

  test('a session without userId › user_id is null', async () => {
    assert.equal(await insertSession({ cookie: {} }), null);
  });

  test('logging in later (sess updated) › user_id follows sess', async () => {
    const sid = unique('sid');
    await t.db.sequelize.query(
      `INSERT INTO sessions (sid, sess, expire) VALUES ($1, '{"cookie":{}}', now() + interval '1 day')`,
      {
        bind: [sid],
      },
    );
    const [row] = await t.db.sequelize.query<{ user_id: number | null }>(
      `UPDATE sessions SET sess = '{"cookie":{},"userId":42}' WHERE sid = $1 RETURNING user_id`,
      { bind: [sid], type: QueryTypes.SELECT },
    );
    assert.equal(row?.user_id, 42);
  });

  test('writing user_id directly › refused: it is generated (428C9)', async () => {
    await assertRejected(
      `INSERT INTO sessions (sid, sess, expire, user_id) VALUES ($1, '{"cookie":{}}', now(), 7)`,
      [unique('sid')],
      ['428C9'],
    );
  });
});
