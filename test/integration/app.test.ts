import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { createDatabase } from '../../src/db/database.js';
import { Post } from '../../src/models/index.js';
import { createTestDatabase, startTestApp, TEST_APP_CONFIG, TEST_POOL, type TestApp } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { createUser, PASSWORD } from '../helpers/factories.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => {
  await t.close();
});

describe('health', () => {
  test('GET /healthz › 200', async () => {
    const res = await request(t.app).get('/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok');
  });

  test('GET /readyz with the database up › 200', async () => {
    const res = await request(t.app).get('/readyz');
    assert.equal(res.status, 200);
  });
});

describe('every page', () => {
  test('security headers › strict CSP, nosniff, no framing, no X-Powered-By', async () => {
    for (const path of ['/', '/posts', '/users', '/login', '/nope']) {
      const res = await request(t.app).get(path);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /style-src 'self'(;|$)/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-powered-by'], undefined);
      // HSTS only in production, where the site is served over HTTPS.
      assert.equal(res.headers['strict-transport-security'], undefined);
    }
  });

  test('X-Request-Id › echoed when sane, generated otherwise', async () => {
    const given = await request(t.app).get('/').set('X-Request-Id', 'abc-123');
    assert.equal(given.headers['x-request-id'], 'abc-123');
    const bad = await request(t.app).get('/').set('X-Request-Id', '<script>');
    assert.match(String(bad.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('anonymous pages › set no session cookie', async () => {
    for (const path of ['/', '/posts', '/users', '/nope']) {
      const res = await request(t.app).get(path);
      assert.equal(res.headers['set-cookie'], undefined, path);
    }
  });

  test('an unknown path › the 404 page in the site layout', async () => {
    const res = await request(t.app).get('/no/such/page');
    assert.equal(res.status, 404);
    assert.match(res.text, /<nav class="site-nav"/);
    assert.match(res.text, /Page not found/);
  });

  test('an expected error in development › no stack trace on the page', async () => {
    const dev = createApp({
      config: { ...TEST_APP_CONFIG, env: 'development' },
      db: t.db,
      logger: pino({ level: 'silent' }),
      sessionSecret: 'x'.repeat(40),
    });
    const res = await request(dev).get('/posts/99999999');
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.text, /class="stack"|NotFoundError/);
  });

  test('the stylesheet › served by the app', async () => {
    const res = await request(t.app).get('/static/site.css');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/css/);
    const icon = await request(t.app).get('/static/favicon.svg');
    assert.equal(icon.status, 200);
    assert.match(String(icon.headers['content-type']), /image\/svg\+xml/);
  });
});

describe('bad bodies', () => {
  test('a body over the limit › 413 page, nothing written', async () => {
    const author = await createUser();
    const browser = new Browser(t.app);
    await browser.logIn(author.username, PASSWORD);
    const token = await browser.csrfToken();
    const res = await browser.agent
      .post('/posts')
      .type('form')
      .send(`_csrf=${token}&title=Big&body=${'x'.repeat(1_100_000)}`)
      .redirects(0);
    assert.equal(res.status, 413);
    assert.match(res.text, /too large/);
    assert.equal(await Post.count({ where: { authorId: author.id } }), 0);
  });

  test('malformed percent-encoding › 400 page, not a 500', async () => {
    const res = await request(t.app).post('/login').type('form').send('login=%E0%A4%A&password=x');
    assert.ok(res.status === 400 || res.status === 403, `got ${res.status}`);
    assert.match(res.text, /<nav class="site-nav"/);
  });

  for (const method of ['PATCH', 'GET', 'TRACE']) {
    test(`_method=${method} › ignored: the request stays a POST (no such route: 404), not a 500`, async () => {
      const browser = new Browser(t.app);
      const res = await browser.submit('POST', '/posts/1', { _method: method });
      assert.equal(res.status, 404);
    });
  }

  test('_method=GET without a CSRF token › still a POST, so still refused', async () => {
    const res = await new Browser(t.app).submit('POST', '/logout', { _method: 'GET' }, { csrf: null });
    assert.equal(res.status, 403);
  });
});

describe('with the database unreachable', () => {
  let down: ReturnType<typeof createApp>;
  let closeDown: () => Promise<void>;
  before(async () => {
    // A port with nothing listening: every connection attempt is refused.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const db = createDatabase(`postgres://nobody:nothing@127.0.0.1:${port}/none`, {
      ...TEST_POOL,
      dbAcquireTimeoutMs: 2000,
    });
    down = createApp({
      config: TEST_APP_CONFIG,
      db,
      logger: pino({ level: 'silent' }),
      sessionSecret: 'x'.repeat(40),
    });
    closeDown = () => db.close();
  });
  after(async () => {
    await closeDown();
  });

  test('GET /posts › the 503 page with Retry-After', async () => {
    const res = await request(down).get('/posts');
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers['retry-after']) > 0);
    assert.match(res.text, /Temporarily unavailable/);
  });

  test('GET /readyz › 503, while GET /healthz stays 200', async () => {
    assert.equal((await request(down).get('/readyz')).status, 503);
    assert.equal((await request(down).get('/healthz')).status, 200);
  });

  test('a request with a session cookie › 503, not a 500', async () => {
    const res = await request(down).get('/posts').set('Cookie', 'sid=s%3Aabc.def');
    assert.equal(res.status, 503);
  });
});

describe('on a database whose schema is missing (migrations undone by an admin)', () => {
  test('GET /posts › the 503 page, not a 500', async () => {
    const empty = await createTestDatabase({ migrated: false });
    const db = createDatabase(empty.url, TEST_POOL);
    try {
      const app = createApp({
        config: TEST_APP_CONFIG,
        db,
        logger: pino({ level: 'silent' }),
        sessionSecret: 'x'.repeat(40),
      });
      const res = await request(app).get('/posts');
      assert.equal(res.status, 503);
      assert.ok(res.headers['retry-after']);
    } finally {
      await db.close();
      await empty.drop();
    }
  });
});
