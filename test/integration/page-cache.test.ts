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

  test('whoever has a session sees a change at once', async () => {
    // Logged in before the first anonymous visit: a login (argon2, session writes) can take
    // longer than the TTL on a busy machine, and the kept page must still be there after it.
    const browser = await Visitor.loggedIn(t, author);
    const page = await anonymous('/');
    assert.equal(page.status, 200);
    await createPost(t.db, author, { title: 'Seen by its author' });
    assert.doesNotMatch((await anonymous('/')).body, /Seen by its author/);
    assert.match((await browser.get('/')).body, /Seen by its author/);
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
