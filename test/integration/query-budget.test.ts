// Query discipline: every page runs a fixed number of statements whatever the
// data (no N+1), within its budget; anonymous pages never touch the sessions table; pages
// read only the columns they show (no password hash, no email where none is shown).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { User } from '../../src/models/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser } from '../support/factories.js';
import { addComments, scalar } from '../support/sql.js';

let t: TestApp;
/** Statements the app ran through Sequelize, and through the session store's pool. */
const seen = { app: [] as string[], sessions: [] as string[] };

before(async () => {
  t = await startTestApp();
  t.db.sequelize.addHook('afterQuery', (_options, query) => {
    seen.app.push((query as unknown as { sql: string }).sql);
  });
  const pool = t.db.sessionPool;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const [text] = args;
    seen.sessions.push(typeof text === 'string' ? text : String((text as { text?: string }).text));
    return query(...args);
  }) as typeof pool.query;
});
after(async () => {
  await t.close();
});

interface Measured {
  status: number;
  app: string[];
  sessions: string[];
}

async function measure(browser: Visitor, url: string): Promise<Measured> {
  seen.app.length = 0;
  seen.sessions.length = 0;
  const res = await browser.get(url);
  return { status: res.status, app: [...seen.app], sessions: [...seen.sessions] };
}

/** A page, the statements it may run, and how to find its URL in the current data. */
interface Budgeted {
  name: string;
  url: () => Promise<string> | string;
  budget: number;
}

let writer: User;
let reader: User;
/** A post with many comments: 60, then 1,000 with 10× the data. */
let commented: number;
const nextLink = async (url: string): Promise<string> => {
  const res = await new Visitor(t).get(url);
  const next = /href="([^"]+)" rel="next"/.exec(res.body)?.[1];
  assert.ok(next, `no next link on ${url}`);
  return next.replace(/&amp;/g, '&').replace(/#.*$/, '');
};
const postOf = async (user: User): Promise<number> => {
  const [row] = await t.db.sequelize.query<{ id: number }>(
    `SELECT id FROM posts WHERE author_id = $1 AND published AND comments_count = 0 ORDER BY id LIMIT 1`,
    { bind: [user.id], type: 'SELECT' as never },
  );
  return row!.id;
};

const ANONYMOUS: Budgeted[] = [
  { name: 'home', url: () => '/', budget: 1 },
  { name: 'posts, first page', url: () => '/posts', budget: 1 },
  { name: 'posts, next page', url: () => nextLink('/posts'), budget: 1 },
  { name: 'posts, page 2 by number', url: () => '/posts?page=2', budget: 1 },
  // A transaction that sets the search's own statement timeout and parses the query, asks
  // the planner how many posts hold its words, then searches: 5 statements with BEGIN and
  // COMMIT.
  { name: 'posts search', url: () => '/posts?q=budget', budget: 5 },
  // Without comments: their count says so, and they are not read.
  { name: 'one post', url: async () => `/posts/${await postOf(writer)}`, budget: 1 },
  // The post with its author, then a page of its comments with theirs.
  { name: 'a post with comments', url: () => `/posts/${commented}`, budget: 2 },
  { name: 'a post with comments, next page', url: () => nextLink(`/posts/${commented}`), budget: 2 },
  { name: 'site feed', url: () => '/posts.atom', budget: 1 },
  // The tag's page of posts (through post_tags) with their authors and the tag's count.
  { name: 'a tag', url: () => '/tags/budget-tag', budget: 1 },
  { name: 'a tag, next page', url: () => nextLink('/tags/budget-tag'), budget: 1 },
  // The tag, then its newest posts.
  { name: 'a tag feed', url: () => '/tags/budget-tag/posts.atom', budget: 2 },
  { name: 'tags', url: () => '/tags', budget: 1 },
  { name: 'users', url: () => '/users', budget: 1 },
  { name: 'users search', url: () => '/users?q=budget', budget: 1 },
  // The account, its posts, its last post date, its weekly chart.
  { name: 'a profile', url: () => `/users/${writer.username}`, budget: 4 },
  { name: 'a profile, next page', url: () => nextLink(`/users/${writer.username}`), budget: 4 },
  { name: 'a profile feed', url: () => `/users/${writer.username}/posts.atom`, budget: 2 },
];

// Logged in: the page's own statements, plus reading the account of the session.
const LOGGED_IN: Budgeted[] = [
  ...ANONYMOUS.map((page) => ({ ...page, budget: page.budget + 1 })),
  { name: 'own profile, drafts too', url: () => `/users/${reader.username}`, budget: 5 },
  { name: 'new post form', url: () => '/posts/new', budget: 1 },
  { name: 'own profile edit', url: () => `/users/${reader.username}/edit`, budget: 2 },
];

/** Each page measured now: its statements and its session-store statements. */
async function measureAll(pages: Budgeted[], browser: () => Promise<Visitor>): Promise<Map<string, Measured>> {
  const results = new Map<string, Measured>();
  for (const page of pages) {
    const url = await page.url();
    const measured = await measure(await browser(), url);
    assert.equal(measured.status, 200, `${page.name} (${url}) answered ${measured.status}`);
    results.set(page.name, measured);
  }
  return results;
}

async function addPosts(authors: number, postsEach: number): Promise<void> {
  for (let a = 0; a < authors; a++) {
    const author = await createUser({ displayName: `Budget author ${a}` });
    for (let p = 0; p < postsEach; p++) {
      await createPost(t.db, author, { title: `Budget post ${a}.${p}`, tags: ['budget-tag', `budget-${a}-${p}`] });
    }
  }
  for (let p = 0; p < postsEach * 3; p++) {
    await createPost(t.db, writer, { title: `Writer budget post ${p}`, tags: ['budget-tag', 'budget-writer'] });
  }
  await createPost(t.db, reader, { title: 'Reader draft', published: false });
}

describe('statements per page', () => {
  let small: { anonymous: Map<string, Measured>; loggedIn: Map<string, Measured> };
  let large: typeof small;
  let readerBrowser: Visitor;

  before(async () => {
    writer = await createUser({ displayName: 'Budget writer' });
    reader = await createUser({ displayName: 'Budget reader' });
    readerBrowser = await Visitor.loggedIn(t, reader);
    commented = (await createPost(t.db, writer, { title: 'Much discussed' })).id;
    await addComments(t.sql, commented, reader.id, 60);
    await addPosts(3, 8);
    const measureBoth = async (): Promise<typeof small> => ({
      anonymous: await measureAll(ANONYMOUS, () => Promise.resolve(new Visitor(t))),
      loggedIn: await measureAll(LOGGED_IN, () => Promise.resolve(readerBrowser)),
    });
    small = await measureBoth();
    // Ten times the authors and posts: an N+1 would run more statements now.
    await addPosts(30, 8);
    await addComments(t.sql, commented, reader.id, 940, new Date(Date.UTC(2026, 1, 1)));
    large = await measureBoth();
  });

  for (const page of ANONYMOUS) {
    test(`anonymous › ${page.name} › at most ${page.budget}, the same with 10× the data, no session row`, () => {
      const before = small.anonymous.get(page.name)!;
      const now = large.anonymous.get(page.name)!;
      assert.ok(now.app.length <= page.budget, `${now.app.length} statements:\n${now.app.join('\n')}`);
      assert.equal(now.app.length, before.app.length, 'more statements with more data');
      assert.deepEqual(now.sessions, [], 'an anonymous page touched the sessions table');
    });
  }

  for (const page of LOGGED_IN) {
    test(`logged in › ${page.name} › at most ${page.budget}, the same with 10× the data`, () => {
      const before = small.loggedIn.get(page.name)!;
      const now = large.loggedIn.get(page.name)!;
      assert.ok(now.app.length <= page.budget, `${now.app.length} statements:\n${now.app.join('\n')}`);
      assert.equal(now.app.length, before.app.length, 'more statements with more data');
      // Reading the session and its user, in one statement; its expiry, moved a moment ago, stays.
      assert.equal(now.sessions.length, 1, now.sessions.join('\n'));
      assert.match(now.sessions[0]!, /^\s*SELECT s\.sess, .* FROM sessions s LEFT JOIN users u ON u\.id = s\.user_id/s);
      const userRead = now.app.find((sql) => /FROM users u WHERE u\.id = \$1/.test(sql));
      assert.equal(userRead, undefined, 'the user was read again after the session');
    });
  }

  test('logged in, the stored expiry lagging by over a minute › one read, then one write moves it; then reads only', async () => {
    const expiry = (): Promise<Date> =>
      scalar<Date>(t.sql, 'SELECT expire FROM sessions WHERE user_id = $1 ORDER BY expire DESC LIMIT 1', [reader.id]);
    await t.sql.query(`UPDATE sessions SET expire = expire - interval '2 minutes' WHERE user_id = $1`, [reader.id]);
    const lagging = await expiry();
    const moved = await measure(readerBrowser, '/posts');
    assert.equal(moved.sessions.length, 2, moved.sessions.join('\n'));
    assert.match(moved.sessions[1]!, /^UPDATE .*SET expire/);
    const after = await expiry();
    assert.ok(
      after.getTime() - lagging.getTime() > 110_000,
      `the expiry moved from ${lagging.toISOString()} to ${after.toISOString()}`,
    );
    const next = await measure(readerBrowser, '/posts');
    assert.equal(next.sessions.length, 1, next.sessions.join('\n'));
    assert.equal((await expiry()).getTime(), after.getTime());
  });

  test('logged in › the session with its user, and the list, are prepared statements, planned once per connection', async () => {
    const sent: { name?: string; text: string }[] = [];
    const query = Reflect.get(pg.Client.prototype, 'query') as (...args: unknown[]) => unknown;
    Reflect.set(pg.Client.prototype, 'query', function (this: pg.Client, ...args: unknown[]) {
      const [config] = args;
      if (typeof config === 'object' && config !== null && 'text' in config) sent.push(config as { text: string });
      return query.apply(this, args);
    });
    try {
      assert.equal((await readerBrowser.get('/posts')).status, 200);
    } finally {
      Reflect.set(pg.Client.prototype, 'query', query);
    }
    for (const read of [/FROM sessions s LEFT JOIN users u/, /FROM posts p JOIN users u/]) {
      const statement = sent.find(({ text }) => read.test(text));
      assert.ok(statement, `no statement matching ${read.source} among:\n${sent.map(({ text }) => text).join('\n')}`);
      assert.match(statement.name ?? '', /^prepared-[0-9a-f]{24}$/, statement.text);
    }
  });

  test('anonymous pages read no password hash and no email', () => {
    for (const [name, measured] of large.anonymous) {
      for (const sql of measured.app) {
        assert.doesNotMatch(sql, /password_hash|email/, `${name}: ${sql}`);
      }
    }
  });

  test('lists select the start of each body, not the whole', () => {
    for (const name of ['home', 'posts, first page', 'a profile']) {
      const [sql] = large.anonymous.get(name)!.app.filter((statement) => statement.includes('FROM posts p'));
      assert.ok(sql, `${name}: no list statement`);
      const columns = sql.slice(0, sql.indexOf('FROM posts p'));
      assert.match(columns, /left\(p\.body, \d+\)/);
      assert.doesNotMatch(columns.replace(/left\(p\.body, \d+\)/g, ''), /p\.body/);
    }
  });

  test('a search reads the body only through left(): the excerpt and the snippet source', () => {
    const statements = large.anonymous.get('posts search')!.app;
    assert.ok(
      statements.some((sql) => sql.includes('ts_headline')),
      statements.join('\n'),
    );
    for (const sql of statements) {
      assert.doesNotMatch(sql.replace(/left\(p\.body, \d+\)/g, ''), /p\.body/, sql);
    }
  });

  test('a page that shows a form keeps a session for its CSRF token', async () => {
    const measured = await measure(new Visitor(t), '/login');
    assert.equal(measured.status, 200);
    assert.equal(measured.app.length, 0);
    assert.equal(measured.sessions.length, 1);
    assert.match(measured.sessions[0]!, /INSERT INTO/i);
  });
});
