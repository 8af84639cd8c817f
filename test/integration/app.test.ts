import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { QueryTypes } from 'sequelize';
import { serveApp, useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createUser } from '../support/factories.js';

const t = useTestApp();

describe('health', () => {
  test('GET /healthz › 200', async () => {
    const res = await new Visitor(t).get('/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
  });

  test('GET /readyz with the database up › 200', async () => {
    const res = await new Visitor(t).get('/readyz');
    assert.equal(res.status, 200);
  });
});

describe('every page', () => {
  test('security headers › strict CSP, nosniff, no framing, no X-Powered-By', async () => {
    for (const path of ['/', '/posts', '/users', '/login', '/nope']) {
      const res = await new Visitor(t).get(path);
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
    const given = await new Visitor(t).get('/', { headers: { 'X-Request-Id': 'abc-123' } });
    assert.equal(given.headers['x-request-id'], 'abc-123');
    const bad = await new Visitor(t).get('/', { headers: { 'X-Request-Id': '<script>' } });
    assert.match(String(bad.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('anonymous pages › set no session cookie', async () => {
    for (const path of ['/', '/posts', '/users', '/nope']) {
      const res = await new Visitor(t).get(path);
      assert.equal(res.headers['set-cookie'], undefined, path);
    }
  });

  test('an unknown path › the 404 page in the site layout', async () => {
    const res = await new Visitor(t).get('/no/such/page');
    assert.equal(res.status, 404);
    assert.match(res.body, /<nav class="site-nav"/);
    assert.match(res.body, /Page not found/);
  });

  test('an expected error in development › no stack trace on the page', async () => {
    const dev = await serveApp(t.db, { env: 'development' });
    const res = await new Visitor(dev).get('/posts/99999999').finally(() => dev.close());
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.body, /class="stack"|NotFoundError/);
  });

  test('the stylesheet › served by the app', async () => {
    const res = await new Visitor(t).get('/static/site.css');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/css/);
    const icon = await new Visitor(t).get('/static/favicon.svg');
    assert.equal(icon.status, 200);
    assert.match(String(icon.headers['content-type']), /image\/svg\+xml/);
  });
});

describe('bad bodies', () => {
  test('malformed percent-encoding › 400 page, not a 500', async () => {
    const res = await new Visitor(t).request({ method: 'POST', path: '/login', form: 'login=%E0%A4%A&password=x' });
    assert.ok(res.status === 400 || res.status === 403, `got ${res.status}`);
    assert.match(res.body, /<nav class="site-nav"/);
  });

  for (const method of ['PATCH', 'GET', 'TRACE']) {
    test(`_method=${method} › ignored: the request stays a POST (no such route: 404), not a 500`, async () => {
      const browser = new Visitor(t);
      const res = await browser.submit('POST', '/posts/1', { _method: method });
      assert.equal(res.status, 404);
    });
  }

  test('_method=GET without a CSRF token › still a POST, so still refused', async () => {
    const res = await new Visitor(t).submit('POST', '/logout', { _method: 'GET' }, { csrf: null });
    assert.equal(res.status, 403);
  });
});

describe('flash messages across a redirect', () => {
  test('a redirect carrying a message › its headers leave only once the session holding it is saved', async () => {
    const author = await createUser();
    const browser = await Visitor.loggedIn(t, author);
    const token = await browser.csrfToken();
    const sid = browser.cookie('sid');
    assert.ok(sid);

    // Session writes made slow, as under load. A browser follows a redirect as soon as its
    // headers arrive, so that is the moment the message must already be stored.
    const pool = t.db.sessionPool as unknown as { query: (...args: unknown[]) => Promise<unknown> };
    const query = pool.query.bind(pool);
    pool.query = async (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('INSERT INTO')) {
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      return query(...args);
    };
    try {
      const body = new URLSearchParams({ _csrf: token, title: 'Flash me', body: 'x', published: 'on' }).toString();
      const flashAtHeaders = await new Promise<string | null>((resolve, reject) => {
        const req = http.request(
          {
            port: t.port,
            host: '127.0.0.1',
            method: 'POST',
            path: '/posts',
            headers: {
              Cookie: `sid=${sid}`,
              'Content-Type': 'application/x-www-form-urlencoded',
              'Content-Length': Buffer.byteLength(body),
            },
          },
          (res) => {
            assert.equal(res.statusCode, 303);
            t.db.sequelize
              .query<{ flash: string | null }>(`SELECT sess ->> 'flash' AS flash FROM sessions WHERE user_id = $1`, {
                bind: [author.id],
                type: QueryTypes.SELECT,
              })
              .then(([row]) => resolve(row?.flash ?? null), reject)
              .finally(() => res.resume());
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.match(String(flashAtHeaders), /Your post is published/);
    } finally {
      pool.query = query;
    }
  });
});

describe('GET /metrics', () => {
  test('request durations by route pattern and status, and the pools', async () => {
    const author = await createUser();
    const browser = await Visitor.loggedIn(t, author);
    await browser.get('/posts/2147483647');
    await browser.get('/no/such/page');
    const res = await new Visitor(t).get('/metrics');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(
      res.body,
      /http_request_duration_seconds_count\{method="GET",route="\/posts\/:id",status="404"\} [1-9]\d*\n/,
    );
    assert.match(
      res.body,
      /http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} [1-9]\d*\n/,
    );
    assert.match(res.body, /db_pool_connections\{pool="main",state="size"\} \d+/);
    assert.match(res.body, /db_pool_connections\{pool="sessions",state="waiting"\} 0/);
    assert.doesNotMatch(res.body, /route="\/posts\/2147483647"/);
  });

  test('the mail outbox › mails waiting, and how long the oldest has waited; sent ones not counted', async () => {
    const waiting = async (): Promise<[number, number]> => {
      const body = (await new Visitor(t).get('/metrics')).body;
      const figure = (state: string): number =>
        Number(new RegExp(`mail_outbox_waiting\\{state="${state}"\\} ([\\d.e+-]+)`).exec(body)?.[1] ?? NaN);
      return [figure('count'), figure('oldest_seconds')];
    };
    const [before] = await waiting();
    assert.ok(Number.isInteger(before), 'no mail_outbox_waiting count in /metrics');
    await t.sql.query(
      `INSERT INTO mail_outbox (kind, recipient, subject, body, created_at, sent_at) VALUES
         ('password_reset', 'late@example.com', 'S', 'B', now() - interval '2 minutes', NULL),
         ('password_reset', 'done@example.com', 'S', NULL, now() - interval '1 hour', now())`,
    );
    const [count, oldest] = await waiting();
    assert.equal(count, before + 1);
    assert.ok(oldest >= 120, `oldest waiting ${oldest} s`);
  });

  test('with METRICS_TOKEN set › 401 without the bearer token, 200 with it', async () => {
    const guarded = await serveApp(t.db, { metricsToken: 'scrape-secret' });
    const scrape = (headers: Record<string, string>): Promise<number> =>
      new Visitor(guarded).get('/metrics', { headers }).then((res) => res.status);
    try {
      assert.equal(await scrape({}), 401);
      assert.equal(await scrape({ Authorization: 'Bearer wrong' }), 401);
      assert.equal(await scrape({ Authorization: 'Bearer scrape-secret' }), 200);
    } finally {
      await guarded.close();
    }
  });
});
