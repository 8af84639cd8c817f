import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Reply } from '../support/http.js';
import { User } from '../../src/models/index.js';
import { useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { assertSafeHtml } from '../support/html-safety.js';
import { sessionsOf as sessionsIn } from '../support/sql.js';
import { createUser, PASSWORD, hex } from '../support/factories.js';

const t = useTestApp();

const loggedIn = (user: User): Promise<Visitor> => Visitor.loggedIn(t, user);

const sessionsOf = (userId: number): Promise<number> => sessionsIn(t.sql, userId);

/** The `sid=…` pair of a response's Set-Cookie, and the whole header line. */
function sessionCookie(res: Reply): { pair: string; line: string } | undefined {
  const line = (res.headers['set-cookie'] ?? []).find((cookie) => cookie.startsWith('sid='));
  return line ? { pair: line.split(';')[0]!, line } : undefined;
}

/** The message shown at a form field, and that field's input marked invalid. */
function assertFieldError(html: string, field: string, message: RegExp): void {
  const shown = new RegExp(`id="field-${field}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(
    html,
  );
  assert.ok(shown, `no error shown at ${field}`);
  assert.match(shown[1]!, message);
  assert.match(html, new RegExp(`<(input|textarea) id="field-${field}"[^>]*aria-invalid="true"`));
}

function newAccount(overrides: Record<string, string> = {}): Record<string, string> {
  const username = `n_${hex()}`;
  return {
    username,
    email: `${username}@example.com`,
    password: `pw-${hex(8)}`,
    displayName: `Newcomer ${username}`,
    ...overrides,
  };
}

describe('signing up', () => {
  test('GET /signup › 200 with the form and a CSRF field', async () => {
    const res = await new Visitor(t).get('/signup');
    assert.equal(res.status, 200);
    assert.match(res.body, /<h1>Create your account<\/h1>/);
    assert.match(res.body, /<form method="post" action="\/signup"/);
    assert.match(res.body, /name="_csrf" value="[^"]{20,}"/);
    assert.match(res.body, /name="username"/);
    assert.match(res.body, /name="password" type="password" value=""/);
  });

  test('POST /signup › creates the account with an argon2id hash, 303 to the profile, logged in', async () => {
    const browser = new Visitor(t);
    const fields = newAccount({ displayName: 'Grace Hopper' });
    const res = await browser.submit('POST', '/signup', fields);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/users/${fields.username}`);
    const user = await User.findOne({ where: { username: fields.username } });
    assert.ok(user);
    assert.equal(user.email, fields.email);
    assert.equal(user.displayName, 'Grace Hopper');
    assert.equal(user.role, 'member');
    assert.match(user.passwordHash, /^\$argon2id\$/);
    assert.ok(!user.passwordHash.includes(fields.password!));
    const profile = await browser.get(res.headers.location);
    assert.equal(profile.status, 200);
    assert.match(profile.body, /Welcome, Grace Hopper! Your account is ready./);
    assert.match(profile.body, /class="nav-user">Grace Hopper<\/a>/);
    assert.match(profile.body, /action="\/logout"/);
    assert.ok(await browser.isLoggedIn());
    assert.equal(await sessionsOf(user.id), 1);
  });

  test('POST /signup with a mixed-case username and email › both stored lower case', async () => {
    const base = `Mc_${hex().toUpperCase()}`;
    const res = await new Visitor(t).submit(
      'POST',
      '/signup',
      newAccount({ username: base, email: `${base}@Example.COM` }),
    );
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/users/${base.toLowerCase()}`);
    const user = await User.findOne({ where: { username: base.toLowerCase() } });
    assert.ok(user);
    assert.equal(user.email, `${base.toLowerCase()}@example.com`);
  });

  test('POST /signup with a blank display name › the username is shown instead', async () => {
    const fields = newAccount({ displayName: '   ' });
    const res = await new Visitor(t).submit('POST', '/signup', fields);
    assert.equal(res.status, 303);
    const user = await User.findOne({ where: { username: fields.username } });
    assert.equal(user?.displayName, fields.username);
  });

  const invalid: [string, Record<string, string>, [field: string, message: RegExp][]][] = [
    ['a username with a bad character', { username: 'bad-name!' }, [['username', /Use 3 to 30 characters/]]],
    ['a username of 2 characters', { username: 'ab' }, [['username', /Use 3 to 30 characters/]]],
    ['a username of 31 characters', { username: 'a'.repeat(31) }, [['username', /Use 3 to 30 characters/]]],
    ['a malformed email', { email: 'not-an-email' }, [['email', /Enter an email address like name@example.com/]]],
    ['a password under 10 characters', { password: 'zq9Shortp' }, [['password', /Use at least 10 characters/]]],
    [
      'a display name over 50 characters',
      { displayName: 'D'.repeat(51) },
      [['displayName', /Use at most 50 characters/]],
    ],
  ];
  for (const [situation, overrides, expected] of invalid) {
    test(`POST /signup with ${situation} › 422, the message at the field, input kept, password not echoed`, async () => {
      // A fixed password of digits: a random one could contain the username ('ab') and
      // draw the password policy's own complaint instead of the one under test.
      const fields = newAccount({ password: 'pw-7401-9352-6618', ...overrides });
      const res = await new Visitor(t).submit('POST', '/signup', fields);
      assert.equal(res.status, 422);
      assert.match(res.body, /Please fix this problem/);
      for (const [field, message] of expected) assertFieldError(res.body, field, message);
      assert.match(res.body, new RegExp(`name="username" type="text" value="${fields.username}"`));
      assert.match(res.body, new RegExp(`name="email" type="email" value="${fields.email}"`));
      assert.match(res.body, new RegExp(`name="displayName" type="text" value="${fields.displayName}"`));
      assert.match(res.body, /name="password" type="password" value=""/);
      assert.ok(!res.body.includes(fields.password!), 'the password is echoed back');
      assert.equal(await User.count({ where: { email: fields.email! } }), 0);
      assert.equal(await User.count({ where: { username: fields.username!.toLowerCase() } }), 0);
    });
  }

  test('POST /signup with every field empty › 422 with a message at each required field', async () => {
    const before = await User.count();
    const res = await new Visitor(t).submit('POST', '/signup', {
      username: '',
      email: '',
      password: '',
      displayName: '',
    });
    assert.equal(res.status, 422);
    assertFieldError(res.body, 'username', /Use 3 to 30 characters/);
    assertFieldError(res.body, 'email', /Enter an email address/);
    assertFieldError(res.body, 'password', /Use at least 10 characters/);
    assert.match(res.body, /Please fix these problems/);
    assert.equal(await User.count(), before);
  });

  test('POST /signup with a field sent twice (an array) › 422, not a 500', async () => {
    const browser = new Visitor(t);
    const token = await browser.csrfToken();
    const username = `n_${hex()}`;
    const body = new URLSearchParams([
      ['_csrf', token],
      ['username', username],
      ['username', `${username}_2`],
      ['email', `${username}@example.com`],
      ['password', PASSWORD],
    ]).toString();
    const res = await browser.request({ method: 'POST', path: '/signup', form: body });
    assert.equal(res.status, 422);
    assertFieldError(res.body, 'username', /\S/);
    assert.ok(!res.body.includes(PASSWORD));
    assert.equal(await User.count({ where: { email: `${username}@example.com` } }), 0);
  });

  test('POST /signup with a username taken in another case › 409 with the message, nothing written', async () => {
    const existing = await createUser();
    const fields = newAccount({ username: existing.username.toUpperCase() });
    const res = await new Visitor(t).submit('POST', '/signup', fields);
    assert.equal(res.status, 409);
    assertFieldError(res.body, 'username', /That username is taken/);
    assert.match(res.body, new RegExp(`value="${fields.email}"`));
    assert.ok(!res.body.includes(fields.password!));
    assert.equal(await User.count({ where: { email: fields.email! } }), 0);
  });

  test('POST /signup with an email taken in another case › 409 with the message, nothing written', async () => {
    const existing = await createUser();
    const fields = newAccount({ email: existing.email.toUpperCase() });
    const res = await new Visitor(t).submit('POST', '/signup', fields);
    assert.equal(res.status, 409);
    assertFieldError(res.body, 'email', /An account with that email already exists/);
    assert.match(res.body, new RegExp(`value="${fields.username}"`));
    assert.ok(!res.body.includes(fields.password!));
    assert.equal(await User.count({ where: { username: fields.username! } }), 0);
  });

  test('POST /signup of one new username by 10 browsers at once › one 303, nine 409, no 5xx, one row', async () => {
    const username = `race_${hex()}`;
    const browsers = Array.from({ length: 10 }, () => new Visitor(t));
    const tokens = await Promise.all(browsers.map((browser) => browser.csrfToken()));
    const results = await Promise.all(
      browsers.map((browser, i) =>
        browser.submit(
          'POST',
          '/signup',
          { username, email: `${username}_${i}@example.com`, password: PASSWORD },
          { csrf: tokens[i]! },
        ),
      ),
    );
    const statuses = results.map((res) => res.status).sort();
    assert.deepEqual(statuses, [303, 409, 409, 409, 409, 409, 409, 409, 409, 409], `got ${statuses.join(',')}`);
    for (const res of results.filter((r) => r.status === 409)) {
      assert.match(res.body, /That username is taken/);
      assertSafeHtml(res.body, 'the 409 signup form');
    }
    assert.equal(await User.count({ where: { username } }), 1);
  });
});

describe('logging in', () => {
  test('GET /login › 200 with the form', async () => {
    const res = await new Visitor(t).get('/login');
    assert.equal(res.status, 200);
    assert.match(res.body, /<h1>Log in<\/h1>/);
    assert.match(res.body, /name="_csrf" value="[^"]{20,}"/);
    assert.match(res.body, /name="login"/);
  });

  for (const [how, login] of [
    ['the username', (u: User) => u.username],
    ['the username in upper case', (u: User) => u.username.toUpperCase()],
    ['the email', (u: User) => u.email],
    ['the email in upper case', (u: User) => u.email.toUpperCase()],
  ] as const) {
    test(`POST /login with ${how} › 303 home, logged in`, async () => {
      const user = await createUser({ displayName: 'Login Tester' });
      const browser = new Visitor(t);
      const res = await browser.submit('POST', '/login', { login: login(user), password: PASSWORD });
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/');
      const home = await browser.get('/');
      assert.match(home.body, /Welcome back, Login Tester/);
      assert.match(home.body, /class="nav-user">Login Tester<\/a>/);
      assert.ok(await browser.isLoggedIn());
    });
  }

  test('POST /login with returnTo=/posts/new › 303 back there', async () => {
    const user = await createUser();
    const res = await new Visitor(t).submit('POST', '/login', {
      login: user.username,
      password: PASSWORD,
      returnTo: '/posts/new',
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/posts/new');
  });

  for (const returnTo of ['//evil.example', 'https://evil.example', '/\\evil', 'javascript:alert(1)']) {
    test(`POST /login with an unsafe returnTo ${JSON.stringify(returnTo)} › 303 home`, async () => {
      const user = await createUser();
      const res = await new Visitor(t).submit('POST', '/login', {
        login: user.username,
        password: PASSWORD,
        returnTo,
      });
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/');
    });
  }

  test('POST /login › a new session id, the old one no longer authenticates, cookie HttpOnly and SameSite=Lax', async () => {
    const user = await createUser();
    const browser = new Visitor(t);
    // The form's CSRF token is what starts the anonymous session.
    const form = await browser.get('/login');
    const before = sessionCookie(form);
    assert.ok(before, 'no session cookie with the login form');
    const res = await browser.submit('POST', '/login', { login: user.username, password: PASSWORD });
    assert.equal(res.status, 303);
    const afterLogin = sessionCookie(res);
    assert.ok(afterLogin, 'no session cookie set on login');
    assert.notEqual(afterLogin.pair, before.pair);
    assert.match(afterLogin.line, /;\s*HttpOnly/i);
    assert.match(afterLogin.line, /;\s*SameSite=Lax/i);
    assert.doesNotMatch(afterLogin.line, /;\s*Secure/i);

    const withOld = await new Visitor(t).get('/posts/new', { headers: { Cookie: before.pair } });
    assert.equal(withOld.status, 303);
    assert.match(String(withOld.headers.location), /^\/login/);
    const withNew = await new Visitor(t).get('/posts/new', { headers: { Cookie: afterLogin.pair } });
    assert.equal(withNew.status, 200);
    assert.equal(await sessionsOf(user.id), 1);
  });

  test('POST /login with a wrong password › 401 with the generic message, password not echoed', async () => {
    const user = await createUser();
    const browser = new Visitor(t);
    const res = await browser.submit('POST', '/login', { login: user.username, password: 'wrong-password-zq9' });
    assert.equal(res.status, 401);
    assertFieldError(res.body, 'login', /^That username or email and password do not match\.$/);
    assert.match(res.body, new RegExp(`name="login" type="text" value="${user.username}"`));
    assert.ok(!res.body.includes('wrong-password-zq9'));
    assert.equal(await browser.isLoggedIn(), false);
    assert.equal(await sessionsOf(user.id), 0);
  });

  test('POST /login with an unknown username › the same 401 and message as a wrong password', async () => {
    const user = await createUser();
    const wrongPassword = await new Visitor(t).submit('POST', '/login', {
      login: user.username,
      password: 'wrong-password-zq9',
    });
    const unknown = await new Visitor(t).submit('POST', '/login', {
      login: `nobody_${hex()}`,
      password: 'wrong-password-zq9',
    });
    assert.equal(unknown.status, 401);
    const message = (html: string) => /id="field-login-error">([\s\S]*?)<\/p>/.exec(html)?.[1];
    assert.ok(message(unknown.body));
    assert.equal(message(unknown.body), message(wrongPassword.body));
    assert.ok(!unknown.body.includes('wrong-password-zq9'));
  });

  test('POST /login with empty fields › 422 with a message at each', async () => {
    const browser = new Visitor(t);
    const res = await browser.submit('POST', '/login', { login: '  ', password: '' });
    assert.equal(res.status, 422);
    assertFieldError(res.body, 'login', /Enter your username or email/);
    assertFieldError(res.body, 'password', /Enter your password/);
    assert.equal(await browser.isLoggedIn(), false);
  });

  test('POST /login with the password left empty › 422, the login kept', async () => {
    const user = await createUser();
    const res = await new Visitor(t).submit('POST', '/login', { login: user.email, password: '' });
    assert.equal(res.status, 422);
    assertFieldError(res.body, 'password', /Enter your password/);
    assert.match(res.body, new RegExp(`value="${user.email}"`));
  });

  test('GET /login while logged in › 303 away', async () => {
    const browser = await loggedIn(await createUser());
    const res = await browser.get('/login');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/');
  });
});

describe('logging out', () => {
  test('POST /logout › 303 home, the session row deleted, the old cookie anonymous', async () => {
    const user = await createUser();
    const browser = new Visitor(t);
    const login = await browser.logIn(user.username, PASSWORD);
    const cookie = sessionCookie(login);
    assert.ok(cookie);
    assert.equal(await sessionsOf(user.id), 1);
    const res = await browser.submit('POST', '/logout');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/');
    assert.equal(await sessionsOf(user.id), 0);
    assert.equal(await browser.isLoggedIn(), false);
    const replayed = await new Visitor(t).get('/posts/new', { headers: { Cookie: cookie.pair } });
    assert.equal(replayed.status, 303);
    assert.match(String(replayed.headers.location), /^\/login/);
  });

  test('POST /logout without a CSRF token › 403 and still logged in', async () => {
    const user = await createUser();
    const browser = await loggedIn(user);
    const res = await browser.submit('POST', '/logout', {}, { csrf: null });
    assert.equal(res.status, 403);
    assert.match(res.body, /form has expired/);
    assert.ok(await browser.isLoggedIn());
    assert.equal(await sessionsOf(user.id), 1);
  });
});

describe('CSRF', () => {
  for (const [how, csrf] of [
    ['without a token', null],
    ['with a wrong token', 'f'.repeat(64)],
  ] as const) {
    test(`POST /signup ${how} › 403 and no account written`, async () => {
      const browser = new Visitor(t);
      // A real token in the session, so that only the one sent is missing or wrong.
      await browser.csrfToken();
      const fields = newAccount();
      const res = await browser.submit('POST', '/signup', fields, { csrf });
      assert.equal(res.status, 403);
      assert.match(res.body, /form has expired/);
      assert.equal(await User.count({ where: { username: fields.username! } }), 0);
      assert.equal(await browser.isLoggedIn(), false);
    });

    test(`POST /login ${how} › 403 and not logged in`, async () => {
      const user = await createUser();
      const browser = new Visitor(t);
      await browser.csrfToken();
      const res = await browser.submit('POST', '/login', { login: user.username, password: PASSWORD }, { csrf });
      assert.equal(res.status, 403);
      assert.match(res.body, /form has expired/);
      assert.equal(await browser.isLoggedIn(), false);
      assert.equal(await sessionsOf(user.id), 0);
    });
  }
});
