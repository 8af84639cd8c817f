// What the app tells its operator: every log line of a person's whole visit (signup, login,
// posting, a password change, logout) read back and searched for the secrets that went
// over the wire; one structured event per security-relevant act; and a failure after the
// response has started, logged once while the visitor keeps the page.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { createDatabase, type Database } from '../../src/db/database.js';
import { createLogger } from '../../src/observability/logging.js';
import { createTestDatabase, serveApp, type Served, TEST_POOL, type TestDatabase } from '../support/app.js';
import { csrfTokenIn, findCsrfToken, Visitor } from '../support/browser.js';
import { type Reply, send } from '../support/http.js';
import { createComment, createPost, createUser, PASSWORD } from '../support/factories.js';

type Line = Record<string, unknown> & { msg?: string; level?: number };

let database: TestDatabase;
let db: Database;
let app: Served;
let lines: string[] = [];

const METRICS_TOKEN = 'metrics-bearer-token-for-the-log-test';
// The session store fails its writes while this is set (see before()).
let failSessionWrites = false;

const parsed = (): Line[] => lines.map((line) => JSON.parse(line) as Line);
const events = (name: string): Record<string, unknown>[] =>
  parsed()
    .map((line) => line.security as Record<string, unknown> | undefined)
    .filter((event): event is Record<string, unknown> => event?.event === name);

before(async () => {
  database = await createTestDatabase({ migrated: true });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(line);
      done();
    },
  });
  // The process's own logger, at every level, and every SQL statement logged as a "slow
  // query": nothing hides from the search.
  const logger = createLogger({ env: 'production', logLevel: 'trace' }, sink);
  db = createDatabase(database.url, { ...TEST_POOL, dbSlowQueryMs: 0 }, logger);
  const query = db.sessionPool.query.bind(db.sessionPool) as (...args: unknown[]) => unknown;
  // connect-pg-simple saves (INSERT … ON CONFLICT) and touches (UPDATE) through this pool.
  db.sessionPool.query = ((...args: unknown[]) => {
    if (failSessionWrites && typeof args[0] === 'string' && /^\s*(INSERT|UPDATE)/i.test(args[0])) {
      const error = new Error('the session store is failing its writes');
      const callback = args.find((arg) => typeof arg === 'function') as ((error: Error) => void) | undefined;
      if (callback) {
        process.nextTick(callback, error);
        return undefined;
      }
      return Promise.reject(error);
    }
    return query(...args);
  }) as typeof db.sessionPool.query;
  app = await serveApp(db, { metricsToken: METRICS_TOKEN, loginLimitPerAccount: 3 }, logger);
});

after(async () => {
  await app?.close();
  await db?.close();
  await database?.drop();
});

beforeEach(() => {
  failSessionWrites = false;
});

/** Every secret a response hands the browser: each Set-Cookie, its value, the session id in it. */
function secretsOf(res: Reply, into: Set<string>): void {
  const cookies = res.headers['set-cookie'];
  for (const header of cookies ?? []) {
    into.add(header);
    const value = header.split(';')[0]!.split('=').slice(1).join('=');
    into.add(value);
    const decoded = decodeURIComponent(value);
    into.add(decoded);
    // s:<id>.<signature>: the bare session id is what the sessions table holds.
    const id = /^s:([^.]+)\./.exec(decoded)?.[1];
    if (id) into.add(id);
  }
  const csrf = findCsrfToken(res.body ?? '');
  if (csrf) into.add(csrf);
}

describe('logs without secrets', () => {
  test('a whole visit › no line at any level carries a cookie, Set-Cookie, token, password or session id; logged-in lines carry the user id', async () => {
    lines = [];
    const secrets = new Set<string>();
    const visitor = new Visitor(app);
    const username = `logs_${Date.now().toString(36)}`;
    const password = 'a-first-password-nobody-guesses-91';
    const newPassword = 'a-second-password-nobody-guesses-37';
    secrets.add(password).add(newPassword);

    const visit = async (res: Promise<Reply>): Promise<Reply> => {
      const done = await res;
      secretsOf(done, secrets);
      return done;
    };
    const token = async (): Promise<string> => csrfTokenIn((await visit(visitor.get('/signup'))).body);
    // A form sent as a browser sends it, its token fetched first: every answer searched.
    const submit = async (path: string, fields: Record<string, string>, method: 'POST' | 'PUT' = 'POST') =>
      visit(visitor.submit(method, path, fields, { csrf: await token() }));

    let res = await submit('/signup', {
      username,
      email: `${username}@example.com`,
      displayName: 'Log Reader',
      password,
    });
    assert.equal(res.status, 303, res.body);
    res = await submit('/logout', {});
    assert.equal(res.status, 303);
    secrets.add('not-the-password-1');
    res = await submit('/login', { login: username, password: 'not-the-password-1' });
    assert.equal(res.status, 401);
    res = await submit('/login', { login: username, password });
    assert.equal(res.status, 303);
    res = await submit('/posts', { title: 'Logged', body: 'A post', published: 'on' });
    assert.equal(res.status, 303, res.body);
    res = await submit(`/users/${username}/password`, { currentPassword: password, newPassword }, 'PUT');
    assert.equal(res.status, 303, res.body);
    res = await visit(visitor.get('/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } }));
    assert.equal(res.status, 200);
    secrets.add(METRICS_TOKEN);
    res = await submit('/logout', {});
    assert.equal(res.status, 303);

    assert.ok(lines.length > 20, `only ${lines.length} log lines`);
    const all = lines.join('\n');
    for (const secret of secrets) {
      if (secret.length < 8) continue;
      const at = lines.find((line) => line.includes(secret));
      assert.equal(at, undefined, `a secret reached the log: ${secret.slice(0, 12)}… in\n${at}`);
    }
    assert.doesNotMatch(all, /"cookie"|set-cookie|authorization/i);

    const userId = (events('signup')[0] as { actorId: number }).actorId;
    const requestLines = parsed().filter((line) => typeof line.responseTime === 'number');
    const posting = requestLines.find((line) => (line.req as { method: string; url: string }).url === '/posts');
    assert.equal(posting?.userId, userId, JSON.stringify(posting));
    const anonymous = requestLines.find((line) => (line.req as { url: string }).url === '/signup');
    assert.equal(anonymous?.userId, undefined);
  });
});

describe('security events', () => {
  test('signup, login and its failure, lockout, logout, password change, sessions ended › one structured event each', async () => {
    lines = [];
    const browser = new Visitor(app);
    const username = `events_${Date.now().toString(36)}`;
    const res = await browser.submit('POST', '/signup', {
      username,
      email: `${username}@example.com`,
      displayName: 'Event Source',
      password: PASSWORD,
    });
    assert.equal(res.status, 303, res.body);
    const [signup] = events('signup');
    assert.ok(signup);
    const id = signup.actorId as number;
    assert.deepEqual(signup.target, { user: id });
    assert.equal(typeof signup.ip, 'string');
    assert.equal(typeof signup.requestId, 'string');
    assert.equal(signup.requestId, res.headers['x-request-id']);

    await browser.submit('POST', '/logout');
    assert.deepEqual(
      events('logout').map((event) => [event.actorId, event.target]),
      [[id, { user: id }]],
    );

    // The account limit is 3 failures here: the fourth attempt is refused.
    for (let i = 0; i < 4; i++)
      await browser.submit('POST', '/login', { login: username, password: 'wrong-password-1' });
    const failures = events('login_failed');
    assert.equal(failures.length, 3);
    assert.deepEqual(failures[0]!.target, { login: username });
    assert.equal(failures[0]!.actorId, null);
    const lockouts = events('lockout');
    assert.equal(lockouts.length, 1);
    assert.deepEqual(lockouts[0]!.target, { limit: 'login-account', login: username });
    const lockoutLine = parsed().find((line) => (line.security as { event?: string } | undefined)?.event === 'lockout');
    assert.equal(lockoutLine?.level, 40);

    const other = await createUser();
    const loggedIn = await Visitor.loggedIn(app, other);
    assert.deepEqual(
      events('login').map((event) => event.actorId),
      [other.id],
    );
    const changed = await loggedIn.submit('PUT', `/users/${other.username}/password`, {
      currentPassword: PASSWORD,
      newPassword: 'an-entirely-new-password-58',
    });
    assert.equal(changed.status, 303, changed.body);
    assert.deepEqual(
      events('password_changed').map((event) => [event.actorId, event.target]),
      [[other.id, { user: other.id }]],
    );
    assert.deepEqual(
      events('sessions_ended').map((event) => [event.target, event.reason]),
      [[{ user: other.id }, 'password_changed']],
    );
  });

  test("an admin changes a role, deletes someone's comment, post and account › role_changed, comment_deleted, post_deleted, account_deleted, sessions_ended", async () => {
    lines = [];
    const admin = await createUser({ role: 'admin' });
    const member = await createUser();
    const post = await createPost(db, member, { title: 'To be moderated' });
    const browser = await Visitor.loggedIn(app, admin);

    let res = await browser.submit('PUT', `/users/${member.username}`, {
      displayName: member.displayName,
      email: member.email,
      bio: '',
      role: 'admin',
    });
    assert.equal(res.status, 303, res.body);
    const [role] = events('role_changed');
    assert.deepEqual(
      [role?.actorId, role?.target, role?.from, role?.to],
      [admin.id, { user: member.id }, 'member', 'admin'],
    );

    const comment = await createComment(db, post, member, 'Off topic');
    res = await browser.submit('DELETE', `/posts/${post.id}/comments/${comment.id}`);
    assert.equal(res.status, 303, res.body);
    assert.deepEqual(
      events('comment_deleted').map((event) => [event.actorId, event.target]),
      [[admin.id, { post: post.id, comment: comment.id, author: member.id }]],
    );

    res = await browser.submit('DELETE', `/posts/${post.id}`);
    assert.equal(res.status, 303, res.body);
    assert.deepEqual(
      events('post_deleted').map((event) => [event.actorId, event.target]),
      [[admin.id, { post: post.id, author: member.id }]],
    );

    res = await browser.submit('DELETE', `/users/${member.username}`);
    assert.equal(res.status, 303, res.body);
    assert.deepEqual(
      events('account_deleted').map((event) => [event.actorId, event.target]),
      [[admin.id, { user: member.id, username: member.username }]],
    );
    assert.deepEqual(
      events('sessions_ended').map((event) => [event.target, event.reason]),
      [[{ user: member.id }, 'account_deleted']],
    );
  });
});

/** The session cookie a response set, as a browser sends it back. */
function cookieOf(res: Reply): string {
  const cookies = res.headers['set-cookie'];
  const sid = cookies?.find((cookie) => cookie.startsWith('sid='));
  assert.ok(sid, `no session cookie set: ${res.status}`);
  return sid.split(';')[0]!;
}

describe('a failure after the response has started', () => {
  const cases = [
    { who: 'logged in', encoding: 'gzip', page: '/', status: 200 },
    { who: 'logged in', encoding: 'identity', page: '/', status: 200 },
    { who: 'with a session, not logged in', encoding: 'gzip', page: '/', status: 200 },
    { who: 'with a session, not logged in', encoding: 'identity', page: '/', status: 200 },
    // An error page is the error handler's own answer: the failure must not land past it.
    { who: 'logged in', encoding: 'gzip', page: '/posts/987654321', status: 404 },
    { who: 'with a session, not logged in', encoding: 'identity', page: '/posts/987654321', status: 404 },
  ] as const;
  for (const { who, encoding, page, status } of cases) {
    test(`${who}, Accept-Encoding: ${encoding}, GET ${page} › the session's save fails as the page ends › the ${status} page arrives whole, the failure is logged once`, async () => {
      const user = await createUser();
      // A session to save or touch again: the login's, or the one a form's CSRF token started.
      const cookie =
        who === 'logged in'
          ? cookieOf(await new Visitor(app).submit('POST', '/login', { login: user.username, password: PASSWORD }))
          : cookieOf(await new Visitor(app).get('/login'));
      // Its stored expiry lagging by more than the store lets it: this request must move it.
      await db.sessionPool.query(`UPDATE sessions SET expire = expire - interval '2 minutes'`);
      lines = [];
      failSessionWrites = true;
      const res = await send(app.port, { path: page, headers: { Cookie: cookie, 'Accept-Encoding': encoding } });
      failSessionWrites = false;
      assert.equal(res.status, status);
      assert.equal(res.headers['content-encoding'], encoding === 'gzip' ? 'gzip' : undefined);
      const body = (encoding === 'gzip' ? zlib.gunzipSync(res.bytes) : res.bytes).toString('utf8');
      assert.match(body, /<\/html>\s*$/);
      if (who === 'logged in') assert.match(body, new RegExp(user.username));
      // express-session hands the error on just after ending the response.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const failures = parsed().filter((line) => line.msg === 'failed after the response had started');
      assert.equal(failures.length, 1, lines.join('\n'));
      assert.match(String((failures[0]!.err as { message?: string }).message), /session store is failing/);
      assert.equal((failures[0]!.req as { id?: string }).id, res.headers['x-request-id']);
    });
  }
});
