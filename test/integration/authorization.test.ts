import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { Post, User } from '../../src/models/index.js';
import { useTestApp } from '../support/app.js';
import { type Reply } from '../support/http.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser, hex, PASSWORD, profileOf } from '../support/factories.js';
import { sessionsOf as sessionsIn } from '../support/sql.js';

const t = useTestApp();

const loggedIn = (user: User): Promise<Visitor> => Visitor.loggedIn(t, user);

const NEW_PASSWORD = 'a-brand-new-passphrase-42';
const UNKNOWN_POST_ID = 2_147_483_647;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Fields = Record<string, string>;
type ActorName = 'anonymous' | 'owner' | 'other' | 'admin';
const ACTORS: readonly ActorName[] = ['anonymous', 'owner', 'other', 'admin'];

const sessionsOf = (userId: number): Promise<number> => sessionsIn(t.sql, userId);

/** Whether a fresh browser can log in with these credentials. */
async function canLogIn(login: string, password: string): Promise<boolean> {
  const res = await new Visitor(t).submit('POST', '/login', { login, password });
  return res.status === 303;
}

async function fresh(user: User): Promise<User> {
  const found = await User.findByPk(user.id);
  assert.ok(found, `user ${user.username} is gone`);
  return found;
}

/** The messages a page shows: field errors, the error summary and an error page's text. */
function shownMessages(html: string): string {
  return [
    ...html.matchAll(/<p class="field-error"[^>]*>([\s\S]*?)<\/p>/g),
    ...html.matchAll(/<li><a href="#field-[^"]*">([\s\S]*?)<\/a><\/li>/g),
    ...html.matchAll(/<section class="error-page">([\s\S]*?)<\/section>/g),
  ]
    .map((match) => match[1])
    .join('\n');
}

/** A random hex token as long as `token` and different from it. */
function wrongTokenLike(token: string): string {
  let wrong = token;
  while (wrong === token) wrong = hex(Math.ceil(token.length / 2)).slice(0, token.length);
  return wrong;
}

// ---------------------------------------------------------------------------------------
// Part 1: who may do what, one test per route × actor.

/** What one matrix cell starts from: its own owner, post and browser. */
interface Scene {
  readonly method: Method;
  readonly url: string;
  /** The member who wrote the post, or whose account it is. */
  readonly owner: User;
  readonly post: Post | undefined;
  /** Who is logged in; undefined when anonymous. */
  readonly actor: User | undefined;
  readonly browser: Visitor;
  /** Unique text for the values this cell writes. */
  readonly marker: string;
}

interface Cell extends Scene {
  readonly res: Reply;
}

interface Expected {
  readonly status: number;
  /** For 303: where to. */
  readonly to?: (c: Cell) => string | RegExp;
  /** Whether the request should have done its work (a write, a logout…). */
  readonly allowed: boolean;
}

const status = (code: number): Expected => ({ status: code, allowed: code === 200 });
const ok = status(200);
const forbidden = status(403);
const notFound = status(404);
/** Anonymous on a login-only route: GETs come back here after logging in; other methods don't. */
const toLogin: Expected = {
  status: 303,
  allowed: false,
  to: (c) => (c.method === 'GET' ? `/login?returnTo=${encodeURIComponent(c.url)}` : '/login'),
};
const to = (target: string | RegExp | ((c: Cell) => string)): Expected => ({
  status: 303,
  allowed: true,
  to: typeof target === 'function' ? target : () => target,
});
const everyone = (expected: Expected): Record<ActorName, Expected> => ({
  anonymous: expected,
  owner: expected,
  other: expected,
  admin: expected,
});

function postOf(c: Scene): Post {
  assert.ok(c.post, 'this row needs a post');
  return c.post;
}
const showPost = (c: Cell): string => `/posts/${postOf(c).id}`;
const showOwner = (c: Cell): string => `/users/${c.owner.username}`;

interface Row {
  readonly method: Method;
  readonly path: string;
  /** Said after the route in test names. */
  readonly note?: string;
  readonly resource?: 'post' | 'draft';
  readonly fields?: (s: Scene) => Fields;
  readonly expect: Record<ActorName, Expected>;
  /** Text a 200 page must show. */
  readonly page?: (c: Cell) => string;
  /** The request's effect, checked when it was allowed. */
  readonly written?: (c: Cell) => Promise<void>;
  /** Nothing changed, checked when it was refused. */
  readonly unchanged?: (c: Cell) => Promise<void>;
}

const postFields = (s: Scene): Fields => ({ title: `Changed ${s.marker}`, body: 'Changed body', published: 'on' });
const profileFields = (s: Scene): Fields =>
  profileOf(s.owner, {
    displayName: `Changed ${s.marker}`,
    bio: 'A changed bio',
    website: 'https://example.com/changed',
    github: 'https://github.com/changed',
  });

/** Password reset mails queued for the account. */
async function resetMailsTo(user: User): Promise<number> {
  const mailed = await t.sql.query(`SELECT 1 FROM mail_outbox WHERE recipient = $1 AND kind = 'password_reset'`, [
    user.email,
  ]);
  return mailed.rowCount ?? 0;
}

const rows: Row[] = [
  { method: 'GET', path: '/', expect: everyone(ok) },
  { method: 'GET', path: '/posts', expect: everyone(ok) },
  { method: 'GET', path: '/users', expect: everyone(ok) },
  {
    method: 'GET',
    path: '/users/:username',
    expect: everyone(ok),
    page: (c) => `@${c.owner.username}`,
  },
  {
    method: 'GET',
    path: '/posts/:id',
    note: '(published)',
    resource: 'post',
    expect: everyone(ok),
    page: (c) => postOf(c).title,
  },
  { method: 'GET', path: '/healthz', expect: everyone(ok) },
  { method: 'GET', path: '/signup', expect: everyone(ok) },
  {
    method: 'GET',
    path: '/posts/:id',
    note: '(draft)',
    resource: 'draft',
    expect: { anonymous: notFound, owner: ok, other: notFound, admin: ok },
    page: (c) => postOf(c).title,
  },
  {
    method: 'GET',
    path: '/posts/new',
    expect: { anonymous: toLogin, owner: ok, other: ok, admin: ok },
  },
  {
    method: 'POST',
    path: '/posts',
    fields: (s) => ({ title: `New ${s.marker}`, body: 'A body', published: 'on' }),
    expect: {
      anonymous: toLogin,
      owner: to(/^\/posts\/\d+$/),
      other: to(/^\/posts\/\d+$/),
      admin: to(/^\/posts\/\d+$/),
    },
    async written(c) {
      const post = await Post.findOne({ where: { title: `New ${c.marker}` } });
      assert.ok(post, 'no post written');
      assert.equal(post.authorId, c.actor?.id);
      assert.equal(c.res.headers.location, `/posts/${post.id}`);
      assert.equal((await fresh(c.actor!)).postsCount, 1);
    },
    async unchanged(c) {
      assert.equal(await Post.count({ where: { title: `New ${c.marker}` } }), 0);
    },
  },
  {
    method: 'GET',
    path: '/posts/:id/edit',
    resource: 'post',
    expect: { anonymous: toLogin, owner: ok, other: forbidden, admin: ok },
    page: (c) => `value="${postOf(c).title}"`,
  },
  {
    method: 'PUT',
    path: '/posts/:id',
    resource: 'post',
    fields: postFields,
    expect: { anonymous: toLogin, owner: to(showPost), other: forbidden, admin: to(showPost) },
    async written(c) {
      const post = await Post.findByPk(postOf(c).id);
      assert.equal(post?.title, `Changed ${c.marker}`);
      assert.equal(post.body, 'Changed body');
    },
    async unchanged(c) {
      const post = await Post.findByPk(postOf(c).id);
      assert.equal(post?.title, postOf(c).title);
      assert.equal(post.body, postOf(c).body);
    },
  },
  {
    method: 'DELETE',
    path: '/posts/:id',
    resource: 'post',
    expect: { anonymous: toLogin, owner: to('/posts'), other: forbidden, admin: to('/posts') },
    async written(c) {
      assert.equal(await Post.findByPk(postOf(c).id), null);
      assert.equal((await fresh(c.owner)).postsCount, 0);
    },
    async unchanged(c) {
      assert.ok(await Post.findByPk(postOf(c).id));
      assert.equal((await fresh(c.owner)).postsCount, 1);
    },
  },
  {
    method: 'GET',
    path: '/users/:username/edit',
    expect: { anonymous: toLogin, owner: ok, other: forbidden, admin: ok },
    page: (c) => `value="${c.owner.displayName}"`,
  },
  {
    method: 'PUT',
    path: '/users/:username',
    fields: profileFields,
    expect: { anonymous: toLogin, owner: to(showOwner), other: forbidden, admin: to(showOwner) },
    async written(c) {
      const user = await fresh(c.owner);
      assert.equal(user.displayName, `Changed ${c.marker}`);
      assert.equal(user.bio, 'A changed bio');
      assert.deepEqual(
        { ...user.profile },
        { website: 'https://example.com/changed', github: 'https://github.com/changed' },
      );
    },
    async unchanged(c) {
      const user = await fresh(c.owner);
      assert.equal(user.displayName, c.owner.displayName);
      assert.equal(user.bio, c.owner.bio);
      assert.deepEqual({ ...user.profile }, { ...c.owner.profile });
    },
  },
  {
    method: 'PUT',
    path: '/users/:username/password',
    // Every factory user has PASSWORD, so the others send the owner's real current password too.
    fields: () => ({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD }),
    // Admins cannot set other people's passwords.
    expect: { anonymous: toLogin, owner: to(/^\/(?!login)/), other: forbidden, admin: forbidden },
    async written(c) {
      assert.notEqual((await fresh(c.owner)).passwordHash, c.owner.passwordHash);
      assert.equal(await canLogIn(c.owner.username, NEW_PASSWORD), true, 'the new password does not log in');
      assert.equal(await canLogIn(c.owner.username, PASSWORD), false, 'the old password still logs in');
    },
    async unchanged(c) {
      assert.equal((await fresh(c.owner)).passwordHash, c.owner.passwordHash);
      assert.equal(await canLogIn(c.owner.username, PASSWORD), true, 'the old password no longer logs in');
      assert.equal(await canLogIn(c.owner.username, NEW_PASSWORD), false, 'the new password logs in');
    },
  },
  {
    method: 'POST',
    path: '/users/:username/password-reset',
    // Admins mail others a link; an owner knows their password (or uses "forgot password").
    expect: { anonymous: toLogin, owner: forbidden, other: forbidden, admin: to(showOwner) },
    async written(c) {
      assert.equal(await resetMailsTo(c.owner), 1);
    },
    async unchanged(c) {
      assert.equal(await resetMailsTo(c.owner), 0);
    },
  },
  {
    method: 'DELETE',
    path: '/users/:username',
    // The owner gives the password; an admin deleting someone else is not asked for it.
    fields: () => ({ currentPassword: PASSWORD }),
    expect: { anonymous: toLogin, owner: to('/'), other: forbidden, admin: to('/users') },
    async written(c) {
      assert.equal(await User.findByPk(c.owner.id), null);
      assert.equal(await sessionsOf(c.owner.id), 0);
      assert.equal(await c.browser.isLoggedIn(), c.actor?.id !== c.owner.id);
    },
    async unchanged(c) {
      assert.ok(await User.findByPk(c.owner.id));
    },
  },
  {
    method: 'GET',
    path: '/login',
    expect: { anonymous: ok, owner: to('/'), other: to('/'), admin: to('/') },
  },
  {
    method: 'POST',
    path: '/logout',
    expect: everyone(to('/')),
    async written(c) {
      assert.equal(await c.browser.isLoggedIn(), false);
      if (c.actor) assert.equal(await sessionsOf(c.actor.id), 0);
    },
  },
];

const fill = (path: string, owner: User, post: Post | undefined): string =>
  path.replace(':username', owner.username).replace(':id', String(post?.id));

async function arrange(row: Row, actorName: ActorName): Promise<Scene> {
  const owner = await createUser();
  const post = row.resource ? await createPost(t.db, owner, { published: row.resource === 'post' }) : undefined;
  const actor =
    actorName === 'owner'
      ? owner
      : actorName === 'other'
        ? await createUser()
        : actorName === 'admin'
          ? await createUser({ role: 'admin' })
          : undefined;
  const browser = actor ? await loggedIn(actor) : new Visitor(t);
  return { method: row.method, url: fill(row.path, owner, post), owner, post, actor, browser, marker: hex() };
}

function send(s: Scene, fields: Fields = {}): Promise<Reply> {
  return s.method === 'GET' ? s.browser.get(s.url) : s.browser.submit(s.method, s.url, fields);
}

/** Status, redirect target and, on refusal pages, the page's title. */
function assertAnswer(c: Cell, expected: Expected): void {
  assert.equal(c.res.status, expected.status, `expected ${expected.status}, got ${c.res.status}`);
  if (expected.to) {
    const target = expected.to(c);
    if (typeof target === 'string') assert.equal(c.res.headers.location, target);
    else assert.match(String(c.res.headers.location), target);
  }
  if (expected.status === 403) assert.match(c.res.body, /<h1>Not allowed<\/h1>/);
  if (expected.status === 404) assert.match(c.res.body, /<h1>Page not found<\/h1>/);
}

describe('authorization matrix', () => {
  for (const row of rows) {
    const route = `${row.method} ${row.path}${row.note ? ` ${row.note}` : ''}`;
    for (const actorName of ACTORS) {
      const expected = row.expect[actorName];
      test(`${route} › ${actorName} › ${expected.status}`, async () => {
        const scene = await arrange(row, actorName);
        const cell: Cell = { ...scene, res: await send(scene, row.fields?.(scene)) };
        assertAnswer(cell, expected);
        if (expected.status === 200 && row.page) assert.ok(cell.res.body.includes(row.page(cell)), 'page content');
        if (expected.allowed) await row.written?.(cell);
        else await row.unchanged?.(cell);
      });
    }
  }
});

interface UnknownRow {
  readonly method: Method;
  readonly path: string;
  readonly fields?: Fields;
}

const unknownRows: UnknownRow[] = [
  { method: 'GET', path: '/posts/:id/edit' },
  { method: 'PUT', path: '/posts/:id', fields: { title: 'T', body: 'B', published: 'on' } },
  { method: 'DELETE', path: '/posts/:id' },
  { method: 'GET', path: '/users/:username/edit' },
  {
    method: 'PUT',
    path: '/users/:username',
    fields: { displayName: 'Nobody', email: 'nobody@example.com', bio: '', website: '', github: '' },
  },
  {
    method: 'PUT',
    path: '/users/:username/password',
    fields: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
  },
  { method: 'POST', path: '/users/:username/password-reset' },
  { method: 'DELETE', path: '/users/:username' },
];

describe('authorization of an unknown post or user', () => {
  const actors: Record<'anonymous' | 'member' | 'admin', Expected> = {
    anonymous: toLogin,
    member: notFound,
    admin: notFound,
  };
  for (const row of unknownRows) {
    const what = row.path.includes(':id') ? 'post id' : 'username';
    for (const [actorName, expected] of Object.entries(actors)) {
      test(`${row.method} ${row.path} with an unknown ${what} › ${actorName} › ${expected.status}`, async () => {
        const actor =
          actorName === 'member'
            ? await createUser()
            : actorName === 'admin'
              ? await createUser({ role: 'admin' })
              : undefined;
        const browser = actor ? await loggedIn(actor) : new Visitor(t);
        const url = row.path.replace(':id', String(UNKNOWN_POST_ID)).replace(':username', `nobody_${hex()}`);
        const scene: Scene = {
          method: row.method,
          url,
          owner: actor ?? (await createUser()),
          post: undefined,
          actor,
          browser,
          marker: hex(),
        };
        assertAnswer({ ...scene, res: await send(scene, row.fields) }, expected);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------
// Part 2: privilege escalation.

describe('mass assignment and roles', () => {
  test('a member updating their own profile with role, postsCount, passwordHash, username › only the profile changes', async () => {
    const user = await createUser();
    await createPost(t.db, user);
    const victim = await createUser();
    const before = await fresh(user);
    const res = await (
      await loggedIn(user)
    ).submit('PUT', `/users/${user.username}`, {
      ...profileOf(user, { displayName: 'Still A Member' }),
      role: 'admin',
      postsCount: '999',
      posts_count: '999',
      passwordHash: 'x',
      password_hash: 'x',
      username: victim.username,
      id: String(victim.id),
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/users/${user.username}`);
    const after = await fresh(user);
    assert.equal(after.displayName, 'Still A Member');
    assert.equal(after.role, 'member');
    assert.equal(after.postsCount, 1);
    assert.equal(after.passwordHash, before.passwordHash);
    assert.equal(after.username, before.username);
    assert.equal(after.email, before.email);
    const untouched = await fresh(victim);
    assert.equal(untouched.username, victim.username);
    assert.equal(untouched.displayName, victim.displayName);
    assert.equal(await canLogIn(user.username, PASSWORD), true);
  });

  test('an admin setting role=admin on a member › 303, the member is promoted', async () => {
    const user = await createUser();
    const res = await (
      await loggedIn(await createUser({ role: 'admin' }))
    ).submit('PUT', `/users/${user.username}`, profileOf(user, { role: 'admin' }));
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/users/${user.username}`);
    assert.equal((await fresh(user)).role, 'admin');
  });

  test('an admin setting role=member on another admin › 303, that admin is demoted', async () => {
    const user = await createUser({ role: 'admin' });
    const res = await (
      await loggedIn(await createUser({ role: 'admin' }))
    ).submit('PUT', `/users/${user.username}`, profileOf(user, { role: 'member' }));
    assert.equal(res.status, 303);
    assert.equal((await fresh(user)).role, 'member');
  });
});

describe('the last admin', () => {
  // Admins made by earlier tests of this file would count: each test here starts with none
  // and makes its own. Tests within a file run one at a time, so no other test sees this.
  beforeEach(async () => {
    await User.update({ role: 'member' }, { where: { role: 'admin' } });
  });

  async function assertRefusedAsLastAdmin(res: Reply, admin: User): Promise<void> {
    assert.equal(res.status, 409);
    assert.match(shownMessages(res.body), /admin/i);
    const still = await fresh(admin);
    assert.equal(still.role, 'admin');
    assert.equal(still.displayName, admin.displayName);
  }

  test('the only admin demoting themselves › 409 with a message about admins, still admin', async () => {
    const admin = await createUser({ role: 'admin' });
    const res = await (
      await loggedIn(admin)
    ).submit('PUT', `/users/${admin.username}`, profileOf(admin, { role: 'member', displayName: 'Not Saved' }));
    await assertRefusedAsLastAdmin(res, admin);
  });

  test('the only admin deleting their own account › 409 with a message about admins, still there', async () => {
    const admin = await createUser({ role: 'admin' });
    const browser = await loggedIn(admin);
    const res = await browser.submit('DELETE', `/users/${admin.username}`, { currentPassword: PASSWORD });
    await assertRefusedAsLastAdmin(res, admin);
    assert.ok(await browser.isLoggedIn());
  });

  test('a member demoting or deleting the only admin › 403, nothing changed', async () => {
    const admin = await createUser({ role: 'admin' });
    const browser = await loggedIn(await createUser());
    const demote = await browser.submit('PUT', `/users/${admin.username}`, profileOf(admin, { role: 'member' }));
    assert.equal(demote.status, 403);
    const remove = await browser.submit('DELETE', `/users/${admin.username}`);
    assert.equal(remove.status, 403);
    assert.equal((await fresh(admin)).role, 'admin');
  });

  test('two admins › one demotes the other (303), then cannot demote themselves (409)', async () => {
    const first = await createUser({ role: 'admin' });
    const second = await createUser({ role: 'admin' });
    const browser = await loggedIn(first);
    const demote = await browser.submit('PUT', `/users/${second.username}`, profileOf(second, { role: 'member' }));
    assert.equal(demote.status, 303);
    assert.equal((await fresh(second)).role, 'member');
    const self = await browser.submit('PUT', `/users/${first.username}`, profileOf(first, { role: 'member' }));
    await assertRefusedAsLastAdmin(self, first);
  });

  test('two admins › one deletes the other (303), then cannot delete themselves (409)', async () => {
    const first = await createUser({ role: 'admin' });
    const second = await createUser({ role: 'admin' });
    const browser = await loggedIn(first);
    const remove = await browser.submit('DELETE', `/users/${second.username}`);
    assert.equal(remove.status, 303);
    assert.equal(remove.headers.location, '/users');
    assert.equal(await User.findByPk(second.id), null);
    const self = await browser.submit('DELETE', `/users/${first.username}`, { currentPassword: PASSWORD });
    await assertRefusedAsLastAdmin(self, first);
  });
});

// ---------------------------------------------------------------------------------------
// Part 3: CSRF on every state-changing route.

interface CsrfScene {
  readonly owner: User;
  readonly post: Post;
  readonly browser: Visitor;
  readonly marker: string;
}

interface CsrfRow {
  readonly method: Exclude<Method, 'GET'>;
  readonly path: string;
  /** Whose browser sends it: the owner's, logged in, or a visitor's. */
  readonly as: 'owner' | 'anonymous';
  readonly fields?: (s: CsrfScene) => Fields;
  /** What must still hold, said in the test name. */
  readonly nothingWritten: string;
  /** The owner's address not confirmed yet (what "send it again" is for). */
  readonly unconfirmed?: boolean;
  readonly check: (s: CsrfScene) => Promise<void>;
}

const csrfRows: CsrfRow[] = [
  {
    method: 'POST',
    path: '/posts',
    as: 'owner',
    fields: (s) => ({ title: `Forged ${s.marker}`, body: 'x', published: 'on' }),
    nothingWritten: 'no new post',
    async check(s) {
      assert.equal(await Post.count({ where: { title: `Forged ${s.marker}` } }), 0);
      assert.equal((await fresh(s.owner)).postsCount, 1);
    },
  },
  {
    method: 'PUT',
    path: '/posts/:id',
    as: 'owner',
    fields: (s) => ({ title: `Forged ${s.marker}`, body: 'x', published: 'on' }),
    nothingWritten: 'title unchanged',
    async check(s) {
      assert.equal((await Post.findByPk(s.post.id))?.title, s.post.title);
    },
  },
  {
    method: 'DELETE',
    path: '/posts/:id',
    as: 'owner',
    nothingWritten: 'the post still there',
    async check(s) {
      assert.ok(await Post.findByPk(s.post.id));
      assert.equal((await fresh(s.owner)).postsCount, 1);
    },
  },
  {
    method: 'PUT',
    path: '/users/:username',
    as: 'owner',
    fields: (s) => profileOf(s.owner, { displayName: `Forged ${s.marker}`, bio: 'forged' }),
    nothingWritten: 'profile unchanged',
    async check(s) {
      const user = await fresh(s.owner);
      assert.equal(user.displayName, s.owner.displayName);
      assert.equal(user.bio, s.owner.bio);
    },
  },
  {
    method: 'PUT',
    path: '/users/:username/password',
    as: 'owner',
    fields: () => ({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD }),
    nothingWritten: 'password unchanged',
    async check(s) {
      assert.equal((await fresh(s.owner)).passwordHash, s.owner.passwordHash);
      assert.equal(await canLogIn(s.owner.username, PASSWORD), true);
      assert.equal(await canLogIn(s.owner.username, NEW_PASSWORD), false);
    },
  },
  {
    method: 'POST',
    path: '/password/forgot',
    as: 'anonymous',
    fields: (s) => ({ email: s.owner.email }),
    nothingWritten: 'no reset link mailed',
    async check(s) {
      assert.equal(await resetMailsTo(s.owner), 0);
    },
  },
  {
    method: 'POST',
    path: '/email/confirm',
    as: 'owner',
    unconfirmed: true,
    nothingWritten: 'no confirmation link mailed',
    async check(s) {
      const mailed = await t.sql.query(`SELECT 1 FROM mail_outbox WHERE recipient = $1 AND kind = 'confirm_email'`, [
        s.owner.email,
      ]);
      assert.equal(mailed.rowCount, 0);
    },
  },
  {
    method: 'DELETE',
    path: '/users/:username',
    as: 'owner',
    fields: () => ({ currentPassword: PASSWORD }),
    nothingWritten: 'the account still there',
    async check(s) {
      assert.ok(await User.findByPk(s.owner.id));
      assert.ok(await s.browser.isLoggedIn());
    },
  },
  {
    method: 'POST',
    path: '/signup',
    as: 'anonymous',
    fields: (s) => ({
      username: `forged_${s.marker}`,
      email: `forged_${s.marker}@example.com`,
      password: NEW_PASSWORD,
      displayName: 'Forged',
    }),
    nothingWritten: 'no new user',
    async check(s) {
      assert.equal(await User.count({ where: { username: `forged_${s.marker}` } }), 0);
      assert.equal(await s.browser.isLoggedIn(), false);
    },
  },
  {
    method: 'POST',
    path: '/login',
    as: 'anonymous',
    fields: (s) => ({ login: s.owner.username, password: PASSWORD }),
    nothingWritten: 'not logged in',
    async check(s) {
      assert.equal(await s.browser.isLoggedIn(), false);
      assert.equal(await sessionsOf(s.owner.id), 0);
    },
  },
  {
    method: 'POST',
    path: '/logout',
    as: 'owner',
    nothingWritten: 'still logged in',
    async check(s) {
      assert.ok(await s.browser.isLoggedIn());
      assert.equal(await sessionsOf(s.owner.id), 1);
    },
  },
];

/** How a forged request gets its token, given the sender's own real one. */
const csrfCases: readonly [string, (own: string) => Promise<string | null>][] = [
  ['no _csrf field', () => Promise.resolve(null)],
  ['a wrong token of the same length', (own) => Promise.resolve(wrongTokenLike(own))],
  [
    "another browser's valid token",
    async (own) => {
      const theirs = await new Visitor(t).csrfToken();
      assert.notEqual(theirs, own);
      return theirs;
    },
  ],
];

describe('CSRF', () => {
  for (const row of csrfRows) {
    for (const [how, tokenFor] of csrfCases) {
      test(`${row.method} ${row.path} with ${how} › 403 "form has expired", ${row.nothingWritten}`, async () => {
        const owner = await createUser({ confirmed: !row.unconfirmed });
        const post = await createPost(t.db, owner);
        const browser = row.as === 'owner' ? await loggedIn(owner) : new Visitor(t);
        // A real token in the sender's session, so only the one sent is missing or wrong.
        const own = await browser.csrfToken();
        const scene: CsrfScene = { owner: await fresh(owner), post, browser, marker: hex() };
        const url = fill(row.path, owner, post);
        const res = await browser.submit(row.method, url, row.fields?.(scene) ?? {}, { csrf: await tokenFor(own) });
        assert.equal(res.status, 403);
        assert.match(res.body, /form has expired/);
        await row.check(scene);
      });
    }
  }

  test('a token from before logging out and in again › 403, profile unchanged; the new token works', async () => {
    const owner = await createUser();
    const browser = await loggedIn(owner);
    const stale = await browser.csrfToken();
    const out = await browser.submit('POST', '/logout');
    assert.equal(out.status, 303);
    await browser.logIn(owner.username, PASSWORD);
    const current = await browser.csrfToken();
    assert.notEqual(current, stale);

    const forged = profileOf(owner, { displayName: 'Stale Token' });
    const res = await browser.submit('PUT', `/users/${owner.username}`, forged, { csrf: stale });
    assert.equal(res.status, 403);
    assert.match(res.body, /form has expired/);
    assert.equal((await fresh(owner)).displayName, owner.displayName);

    const retry = await browser.submit('PUT', `/users/${owner.username}`, forged, { csrf: current });
    assert.equal(retry.status, 303);
    assert.equal((await fresh(owner)).displayName, 'Stale Token');
  });
});
