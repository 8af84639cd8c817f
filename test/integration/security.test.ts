import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { QueryTypes } from 'sequelize';
import { User } from '../../src/models/index.js';
import { verifyPassword } from '../../src/services/passwords.js';
import { serveApp, startTestApp, type TestApp } from '../support/app.js';
import { type Reply } from '../support/http.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser, PASSWORD } from '../support/factories.js';
import { sessionsOf } from '../support/sql.js';

let t: TestApp;
before(async () => {
  // Small limits, so that the tests below reach them.
  t = await startTestApp({ loginLimitPerIp: 8, loginLimitPerAccount: 3, signupLimitPerIp: 4 });
});
after(async () => {
  await t.close();
});

async function resetLimits(): Promise<void> {
  await t.db.sequelize.query('DELETE FROM rate_limits');
}

const sessionRows = (userId: number): Promise<number> => sessionsOf(t.sql, userId);

describe('password policy', () => {
  const weak: [string, string, RegExp][] = [
    ['a common password', 'qwertyuiop', /most common/],
    ['a common password in other case', 'PASSWORD123', /most common/],
    ['one containing the username', 'xx-policy_user-xx', /does not contain your username/],
    ['one under 10 characters', 'short-pw', /at least 10/],
  ];
  for (const [situation, password, message] of weak) {
    test(`POST /signup with ${situation} › 422 and no account`, async () => {
      await resetLimits();
      const res = await new Visitor(t).submit('POST', '/signup', {
        username: 'policy_user',
        email: 'policy@example.com',
        password,
      });
      assert.equal(res.status, 422);
      assert.match(res.body, message);
      assert.equal(await User.count({ where: { username: 'policy_user' } }), 0);
    });
  }
});

describe('changing the password', () => {
  test('PUT /users/:username/password › new password works, old does not, every other session ended, this one kept under a new id', async () => {
    await resetLimits();
    const user = await createUser();
    const here = await Visitor.loggedIn(t, user);
    const elsewhere = await Visitor.loggedIn(t, user);
    assert.equal(await sessionRows(user.id), 2);
    const before = here.cookie('sid');

    const res = await here.submit('PUT', `/users/${user.username}/password`, {
      currentPassword: PASSWORD,
      newPassword: 'an entirely new passphrase',
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/users/${user.username}`);

    await user.reload();
    assert.ok(await verifyPassword(user.passwordHash, 'an entirely new passphrase'));
    assert.equal(await verifyPassword(user.passwordHash, PASSWORD), false);
    assert.equal(await here.isLoggedIn(), true);
    assert.equal(await elsewhere.isLoggedIn(), false);
    assert.equal(await sessionRows(user.id), 1);
    const afterwards = here.cookie('sid');
    assert.notEqual(afterwards, before);
  });

  test('with a wrong current password › 422 at that field, password unchanged, sessions kept', async () => {
    await resetLimits();
    const user = await createUser();
    const here = await Visitor.loggedIn(t, user);
    const res = await here.submit('PUT', `/users/${user.username}/password`, {
      currentPassword: 'not the password at all',
      newPassword: 'an entirely new passphrase',
    });
    assert.equal(res.status, 422);
    assert.match(res.body, /That is not your current password/);
    assert.match(res.body, /id="field-currentPassword"[^>]*aria-invalid="true"/);
    assert.doesNotMatch(res.body, /an entirely new passphrase/);
    await user.reload();
    assert.ok(await verifyPassword(user.passwordHash, PASSWORD));
    assert.equal(await here.isLoggedIn(), true);
  });

  test('with a common new password › 422, unchanged', async () => {
    await resetLimits();
    const user = await createUser();
    const here = await Visitor.loggedIn(t, user);
    const res = await here.submit('PUT', `/users/${user.username}/password`, {
      currentPassword: PASSWORD,
      newPassword: '1234567890',
    });
    assert.equal(res.status, 422);
    assert.match(res.body, /most common/);
    await user.reload();
    assert.ok(await verifyPassword(user.passwordHash, PASSWORD));
  });
});

describe('session expiry', () => {
  test('a session idle past its timeout › anonymous: the store no longer returns it', async () => {
    await resetLimits();
    const user = await createUser();
    const browser = await Visitor.loggedIn(t, user);
    await t.db.sequelize.query(`UPDATE sessions SET expire = now() - interval '1 second' WHERE user_id = $1`, {
      bind: [user.id],
    });
    assert.equal(await browser.isLoggedIn(), false);
  });

  test('an active session › its expiry, in the store and the cookie, moves forward with each request', async () => {
    await resetLimits();
    const user = await createUser();
    const browser = await Visitor.loggedIn(t, user);
    await t.db.sequelize.query(`UPDATE sessions SET expire = now() + interval '1 minute' WHERE user_id = $1`, {
      bind: [user.id],
    });
    const res = await browser.get('/');
    // The browser's cookie is renewed too, so it does not drop a session the server keeps.
    const expires = /sid=[^;]+;.*Expires=([^;]+)/.exec(String(res.headers['set-cookie']))?.[1];
    assert.ok(expires, 'no renewed session cookie');
    assert.ok(new Date(expires).getTime() - Date.now() > 55 * 60_000);
    const [row] = await t.db.sequelize.query<{ minutes: number }>(
      `SELECT extract(epoch FROM expire - now()) / 60 AS minutes FROM sessions WHERE user_id = $1`,
      { bind: [user.id], type: QueryTypes.SELECT },
    );
    // The test app's idle timeout is 60 minutes.
    assert.ok(Number(row?.minutes) > 55, `expires in ${row?.minutes} minutes`);
  });

  test('a session older than the absolute timeout › logged out however active', async () => {
    await resetLimits();
    const user = await createUser();
    const browser = await Visitor.loggedIn(t, user);
    const dayAndMore = Date.now() - (24 * 60 + 1) * 60_000;
    await t.db.sequelize.query(
      `UPDATE sessions SET sess = json_build_object('cookie', sess -> 'cookie', 'userId', user_id, 'authenticatedAt', $2::bigint)
        WHERE user_id = $1`,
      { bind: [user.id, dayAndMore] },
    );
    assert.equal(await browser.isLoggedIn(), false);
    const login = await browser.get('/login');
    assert.match(login.body, /Your session has expired/);
  });
});

describe('rate limits', () => {
  test('failed logins for one account › 429 after the limit, with Retry-After, even with the right password', async () => {
    await resetLimits();
    const user = await createUser();
    const browser = new Visitor(t);
    for (let i = 0; i < 3; i++) {
      const res = await browser.submit('POST', '/login', { login: user.username, password: 'wrong password!' });
      assert.equal(res.status, 401);
    }
    const blocked = await browser.submit('POST', '/login', { login: user.username.toUpperCase(), password: PASSWORD });
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    assert.match(blocked.body, /Too many attempts/);
    assert.match(blocked.body, /<nav class="site-nav"/);
  });

  test('successful logins › do not count against the account', async () => {
    await resetLimits();
    const user = await createUser();
    for (let i = 0; i < 5; i++) {
      const res = await new Visitor(t).submit('POST', '/login', { login: user.username, password: PASSWORD });
      assert.equal(res.status, 303);
    }
  });

  test('logins from one IP address across accounts › 429 after the per-IP limit', async () => {
    await resetLimits();
    const browser = new Visitor(t);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await browser.submit('POST', '/login', { login: `nobody_${i}`, password: 'whatever it is' });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 401, 401, 429]);
  });

  test('sign-ups from one IP address › 429 after the limit, and no account made', async () => {
    await resetLimits();
    const browser = new Visitor(t);
    for (let i = 0; i < 4; i++) {
      await browser.submit('POST', '/signup', { username: `burst_${i}`, email: 'bad', password: 'x' });
    }
    const res = await browser.submit('POST', '/signup', {
      username: 'burst_ok',
      email: 'burst@example.com',
      password: 'a perfectly fine passphrase',
    });
    assert.equal(res.status, 429);
    assert.equal(await User.count({ where: { username: 'burst_ok' } }), 0);
  });

  test('the counters › live in PostgreSQL, shared by every app process', async () => {
    await resetLimits();
    // A second app on the same database stands in for a second process.
    const other = await serveApp(t.db, { loginLimitPerAccount: 3 });
    try {
      const user = await createUser();
      for (const app of [t, other, t]) {
        await new Visitor(app).submit('POST', '/login', { login: user.username, password: 'wrong password!' });
      }
      const res = await new Visitor(other).submit('POST', '/login', { login: user.username, password: PASSWORD });
      assert.equal(res.status, 429);
    } finally {
      await other.close();
    }
  });
});

/** The headers of part 1 of the hardening issue, on one response. */
function assertSecurityHeaders(res: Reply, what: string): void {
  const csp = String(res.headers['content-security-policy']);
  for (const directive of [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ]) {
    assert.ok(csp.split(';').includes(directive), `${what}: CSP lacks ${directive}: ${csp}`);
  }
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, what);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(res.headers['x-frame-options'], 'DENY', what);
  assert.equal(res.headers['referrer-policy'], 'strict-origin-when-cross-origin', what);
  assert.equal(res.headers['x-powered-by'], undefined, what);
  assert.ok(res.headers['permissions-policy'], what);
}

describe('response headers', () => {
  test('every page, anonymous or logged in, and every error page › the security headers', async () => {
    await resetLimits();
    const owner = await createUser();
    const other = await createUser();
    const post = await createPost(t.db, owner);
    const anonymous = new Visitor(t);
    const member = await Visitor.loggedIn(t, owner);
    const stranger = await Visitor.loggedIn(t, other);
    const pages: [string, Visitor, string, number][] = [
      ['GET', anonymous, '/', 200],
      ['GET', anonymous, '/posts', 200],
      ['GET', anonymous, '/posts?q=x', 200],
      ['GET', anonymous, `/posts/${post.id}`, 200],
      ['GET', anonymous, '/users', 200],
      ['GET', anonymous, `/users/${owner.username}`, 200],
      ['GET', anonymous, '/signup', 200],
      ['GET', anonymous, '/login', 200],
      ['GET', anonymous, '/posts/new', 303],
      ['GET', anonymous, '/no/such/page', 404],
      ['GET', anonymous, '/posts/%E0%A4%A', 400],
      ['GET', member, '/posts/new', 200],
      ['GET', member, `/posts/${post.id}/edit`, 200],
      ['GET', member, `/users/${owner.username}/edit`, 200],
      ['GET', stranger, `/posts/${post.id}/edit`, 403],
      ['POST', member, '/posts', 422],
      ['POST', anonymous, '/logout', 403],
    ];
    for (const [method, browser, path, status] of pages) {
      const res =
        method === 'GET'
          ? await browser.get(path)
          : await browser.submit('POST', path, {}, { csrf: path === '/logout' ? null : undefined });
      assert.equal(res.status, status, `${method} ${path}`);
      assertSecurityHeaders(res, `${method} ${path}`);
    }
  });

  test('any page › Permissions-Policy denies powerful features', async () => {
    const res = await new Visitor(t).get('/');
    assert.match(String(res.headers['permissions-policy']), /camera=\(\)/);
    assert.match(String(res.headers['referrer-policy']), /strict-origin-when-cross-origin/);
  });

  test('a logged-in page › Cache-Control: no-store; an anonymous one › cacheable', async () => {
    await resetLimits();
    const browser = await Visitor.loggedIn(t, await createUser());
    assert.equal((await browser.get('/posts')).headers['cache-control'], 'no-store');
    assert.notEqual((await new Visitor(t).get('/posts')).headers['cache-control'], 'no-store');
  });

  test('in production › HSTS, and the session cookie is Secure', async () => {
    await resetLimits();
    const production = await serveApp(t.db, { env: 'production', trustProxy: 1 });
    const res = await new Visitor(production)
      .get('/signup', { headers: { 'X-Forwarded-Proto': 'https' } })
      .finally(() => production.close());
    assert.match(String(res.headers['strict-transport-security']), /max-age=31536000; includeSubDomains/);
    assert.match(String(res.headers['content-security-policy']), /upgrade-insecure-requests/);
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /sid=/);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
  });
});
