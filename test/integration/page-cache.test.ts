// The anonymous page cache (PAGE_CACHE_MS): pages for visitors without a cookie are reused
// for a moment; anyone with a session, errors, and pages that start a session never are.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { User } from '../../src/models/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { findCsrfToken, Visitor } from '../support/browser.js';
import type { Reply } from '../support/http.js';
import { createPost, createUser } from '../support/factories.js';

const TTL_MS = 500;
let t: TestApp;
let author: User;
let statements = 0;

before(async () => {
  t = await startTestApp({ pageCacheMs: TTL_MS });
  t.db.sequelize.addHook('afterQuery', () => {
    statements++;
  });
  author = await createUser({ displayName: 'Cached Author' });
  await createPost(t.db, author, { title: 'Already there' });
});
after(async () => {
  await t.close();
});

const anonymous = (url: string, headers?: Record<string, string>): Promise<Reply> =>
  new Visitor(t).get(url, { headers });

describe('anonymous page cache', () => {
  test('a second anonymous visit within the TTL gets the same page without a query; after it, the fresh one', async () => {
    const first = await anonymous('/posts?page=1');
    assert.equal(first.status, 200);
    await createPost(t.db, author, { title: 'Published just now' });
    statements = 0;
    const second = await anonymous('/posts?page=1');
    assert.equal(statements, 0, 'the cached page still queried the database');
    assert.equal(second.body, first.body);
    assert.doesNotMatch(second.body, /Published just now/);
    await sleep(TTL_MS + 100);
    const third = await anonymous('/posts?page=1');
    assert.match(third.body, /Published just now/);
  });

  test('an author sees their own post at once, on the lists too', async () => {
    // Logged in before the first visits: a login (argon2, session writes) can take longer
    // than the TTL on a busy machine, and the kept pages must still be there after it.
    const browser = new Visitor(t);
    await browser.logInToPost(author.username);
    // Past the second after the login, when its reads are fresh anyway: the lists below are shared.
    await sleep(1_100);
    assert.equal((await anonymous('/')).status, 200);
    assert.equal((await browser.get('/posts')).status, 200);
    const created = await browser.createPost('Seen by its author');
    assert.equal(created.status, 303);
    assert.doesNotMatch((await anonymous('/')).body, /Seen by its author/);
    assert.match((await browser.get('/')).body, /Seen by its author/);
    assert.match((await browser.get('/posts')).body, /Seen by its author/);
  });

  test('the URL with its query is the key', async () => {
    const plain = await anonymous('/users');
    const searched = await anonymous(`/users?q=${author.username}`);
    assert.notEqual(plain.body, searched.body);
    assert.match(searched.body, /Cached Author/);
  });

  test('a 404 is not kept', async () => {
    const username = `later_${Date.now()}`;
    assert.equal((await anonymous(`/users/${username}`)).status, 404);
    await createUser({ username });
    assert.equal((await anonymous(`/users/${username}`)).status, 200);
  });

  test('a page that starts a session (a form with its CSRF token) is never shared', async () => {
    const a = await anonymous('/login');
    const b = await anonymous('/login');
    const token = findCsrfToken;
    assert.ok(a.headers['set-cookie'] && b.headers['set-cookie'], 'the login page set no cookie');
    assert.ok(token(a.body));
    assert.notEqual(token(a.body), token(b.body));
  });

  test('a page served from the cache keeps the security headers, its own request id, and answers 304s', async () => {
    const first = await anonymous('/users?page=1');
    const second = await anonymous('/users?page=1');
    assert.equal(second.body, first.body);
    assert.match(String(second.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(second.headers['x-content-type-options'], 'nosniff');
    assert.notEqual(second.headers['x-request-id'], first.headers['x-request-id']);
    const etag = String(second.headers.etag);
    assert.ok(etag);
    const conditional = await anonymous('/users?page=1', { 'If-None-Match': etag });
    assert.equal(conditional.status, 304);
  });
});

describe('lists shared between requests', () => {
  test('a logged-in reader gets the posts list read within the TTL, without reading it again; after it, the fresh one', async () => {
    const reader = await Visitor.loggedIn(t, await createUser({ displayName: 'Shared Reader' }));
    // A login reads afresh for its first second, as after any write.
    await sleep(1_100);
    const first = await reader.get('/posts');
    assert.equal(first.status, 200);
    await createPost(t.db, author, { title: 'Written by someone else' });
    const seen: string[] = [];
    const note = (_options: unknown, query: unknown): void => void seen.push((query as { sql: string }).sql);
    t.db.sequelize.addHook('afterQuery', 'shared-lists', note);
    try {
      const second = await reader.get('/posts');
      assert.equal(second.status, 200);
      assert.doesNotMatch(second.body, /Written by someone else/);
      assert.deepEqual(
        seen.filter((sql) => sql.includes('FROM posts p')),
        [],
        'the list was read again',
      );
    } finally {
      t.db.sequelize.removeHook('afterQuery', 'shared-lists');
    }
    // The page itself is the reader's own: their name and a CSRF token of their session.
    const own = await reader.get('/posts');
    assert.match(own.body, /Shared Reader/);
    assert.ok(findCsrfToken(own.body));
    await sleep(TTL_MS + 100);
    assert.match((await reader.get('/posts')).body, /Written by someone else/);
  });
});
