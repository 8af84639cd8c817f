import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Post, User } from '../../src/models/index.js';
import { useTestApp } from '../support/app.js';
import { counterMismatches, scalar, sessionsOf as sessionsIn } from '../support/sql.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser, hex, PASSWORD, profileOf } from '../support/factories.js';

const t = useTestApp();

const loggedIn = (user: User): Promise<Visitor> => Visitor.loggedIn(t, user);

const sessionsOf = (userId: number): Promise<number> => sessionsIn(t.sql, userId);
const postsOf = (userId: number): Promise<number> =>
  scalar<number>(t.sql, 'SELECT count(*)::int FROM posts WHERE author_id = $1', [userId]);

/** The message shown at a form field, and that field's input marked invalid. */
function assertFieldError(html: string, field: string, message: RegExp): void {
  const shown = new RegExp(
    `id="field-${field}-error">(?:<span class="visually-hidden">Error: </span>)?([^<]*)</p>`,
  ).exec(html);
  assert.ok(shown, `no error shown at ${field}`);
  assert.match(shown[1]!, message);
  assert.match(html, new RegExp(`<(input|textarea|select) id="field-${field}"[^>]*aria-invalid="true"`));
}

const userCount = (html: string): number => html.match(/class="user-name"/g)?.length ?? 0;

describe('GET /users', () => {
  const prefix = `pg_${hex()}`;
  before(async () => {
    // 25 users sharing a prefix, so paging can be checked without counting other tests' rows.
    for (let i = 1; i <= 25; i++) {
      await createUser({ username: `${prefix}_${String(i).padStart(2, '0')}`, displayName: `Paged Person ${i}` });
    }
  });

  test('index › lists users with display name, username and post count', async () => {
    const writer = await createUser({ displayName: 'Counted Writer' });
    await createPost(t.db, writer);
    await createPost(t.db, writer);
    const res = await new Visitor(t).get(`/users?q=${writer.username}`);
    assert.equal(res.status, 200);
    assert.match(res.body, new RegExp(`<a href="/users/${writer.username}" class="user-name">Counted Writer</a>`));
    assert.match(res.body, new RegExp(`<span class="username">@${writer.username}</span>`));
    assert.match(res.body, /2 posts · joined/);
  });

  test('index › more than 20 users › 20 on the first page and a link to page 2', async () => {
    const all = await new Visitor(t).get('/users');
    assert.equal(all.status, 200);
    assert.equal(userCount(all.body), 20);
    assert.match(all.body, /href="\/users\?after=[a-z0-9_]+" rel="next"/);

    const first = await new Visitor(t).get(`/users?q=${prefix}`);
    assert.equal(first.status, 200);
    assert.equal(userCount(first.body), 20);
    assert.match(first.body, new RegExp(`@${prefix}_01<`));
    assert.match(first.body, new RegExp(`@${prefix}_20<`));
    assert.doesNotMatch(first.body, new RegExp(`@${prefix}_21<`));
    assert.match(first.body, new RegExp(`href="/users\\?q=${prefix}&amp;after=${prefix}_20" rel="next"`));
  });

  test('index › the next page holds the rest and links back', async () => {
    const res = await new Visitor(t).get(`/users?q=${prefix}&after=${prefix}_20`);
    assert.equal(res.status, 200);
    assert.equal(userCount(res.body), 5);
    assert.match(res.body, new RegExp(`@${prefix}_21<`));
    assert.match(res.body, new RegExp(`@${prefix}_25<`));
    assert.match(res.body, new RegExp(`href="/users\\?q=${prefix}&amp;before=${prefix}_21" rel="prev"`));
    assert.doesNotMatch(res.body, /rel="next"/);
    const back = await new Visitor(t).get(`/users?q=${prefix}&before=${prefix}_21`);
    assert.equal(userCount(back.body), 20);
    assert.match(back.body, new RegExp(`@${prefix}_01<`));
    assert.doesNotMatch(back.body, /rel="prev"/);
  });

  for (const page of ['3', '0', '-1', 'abc', '1.5', '51', '99999999999']) {
    test(`index › page ${JSON.stringify(page)} past the end or malformed › 404 page`, async () => {
      const res = await new Visitor(t).get(`/users?q=${prefix}&page=${encodeURIComponent(page)}`);
      assert.equal(res.status, 404);
      assert.match(res.body, /Page not found/);
    });
  }

  test('index › ?q= matches username and display name, case-insensitively', async () => {
    const tag = hex();
    const byName = await createUser({ displayName: `Zephyrine ${tag}` });
    const byUsername = await createUser({ username: `qz_${tag}` });
    const nameHit = await new Visitor(t).get(`/users?q=ZEPHYRINE%20${tag.toUpperCase()}`);
    assert.equal(nameHit.status, 200);
    assert.match(nameHit.body, new RegExp(`@${byName.username}<`));
    assert.equal(userCount(nameHit.body), 1);
    const usernameHit = await new Visitor(t).get(`/users?q=QZ_${tag.toUpperCase()}`);
    assert.match(usernameHit.body, new RegExp(`@${byUsername.username}<`));
    assert.equal(userCount(usernameHit.body), 1);
  });

  test('index › a search with no match says so', async () => {
    const res = await new Visitor(t).get(`/users?q=nobody-${hex()}`);
    assert.equal(res.status, 200);
    assert.match(res.body, /No user matches your search/);
  });

  describe('searching by email', () => {
    const local = `hidden_${hex()}`;
    const email = `${local}@mailbox.example`;
    let target: User;
    before(async () => {
      target = await createUser({ email, displayName: 'Quiet Person' });
    });

    test('anonymous › not found by email, and no email on the page', async () => {
      const res = await new Visitor(t).get(`/users?q=${local}`);
      assert.equal(res.status, 200);
      assert.match(res.body, /No user matches your search/);
      assert.ok(!res.body.includes(email));
      const byName = await new Visitor(t).get(`/users?q=${target.username}`);
      assert.match(byName.body, /Quiet Person/);
      assert.ok(!byName.body.includes(email));
    });

    test('a member › not found by email, and no email on the page', async () => {
      const browser = await loggedIn(await createUser());
      const res = await browser.get(`/users?q=${local}`);
      assert.equal(res.status, 200);
      assert.match(res.body, /No user matches your search/);
      assert.ok(!res.body.includes(email));
      const byName = await browser.get(`/users?q=${target.username}`);
      assert.match(byName.body, /Quiet Person/);
      assert.ok(!byName.body.includes(email));
    });

    test('an admin › finds the user by email and sees emails', async () => {
      const browser = await loggedIn(await createUser({ role: 'admin' }));
      const res = await browser.get(`/users?q=${local.toUpperCase()}`);
      assert.equal(res.status, 200);
      assert.match(res.body, /Quiet Person/);
      assert.match(res.body, new RegExp(`<span class="email">${email}</span>`));
      assert.equal(userCount(res.body), 1);
    });
  });
});

describe('GET /users/:username', () => {
  let owner: User;
  let published: Post;
  let draft: Post;
  before(async () => {
    owner = await createUser({ displayName: 'Profile Owner', bio: 'Writes about lighthouses.' });
    await owner.update({ profile: { website: 'https://lighthouse.example', github: 'https://github.com/keeper' } });
    published = await createPost(t.db, owner, {
      title: 'Published lighthouse',
      publishedAt: new Date(Date.UTC(2025, 2, 14, 12)),
    });
    await createPost(t.db, owner, { title: 'Older lighthouse', publishedAt: new Date(Date.UTC(2025, 0, 1, 12)) });
    draft = await createPost(t.db, owner, { title: 'Unfinished lighthouse', published: false });
  });

  test('shows display name, bio, profile links, post count and last post date', async () => {
    const res = await new Visitor(t).get(`/users/${owner.username}`);
    assert.equal(res.status, 200);
    assert.match(res.body, /<h1>Profile Owner<\/h1>/);
    assert.match(res.body, /<p class="bio">Writes about lighthouses.<\/p>/);
    assert.match(res.body, /<a href="https:\/\/lighthouse.example" rel="nofollow noopener noreferrer me">website<\/a>/);
    assert.match(res.body, /<a href="https:\/\/github.com\/keeper" rel="nofollow noopener noreferrer me">github<\/a>/);
    assert.match(res.body, /<dt>Posts<\/dt><dd>3<\/dd>/);
    // Over two months ago: shown as the date itself, the exact instant in datetime.
    assert.match(
      res.body,
      /<dt>Last post<\/dt><dd><time datetime="2025-03-14T12:00:00.000Z" title="14 Mar 2025">14 Mar 2025<\/time>/,
    );
  });

  test('any casing of the username › the same profile', async () => {
    const res = await new Visitor(t).get(`/users/${owner.username.toUpperCase()}`);
    assert.equal(res.status, 200);
    assert.match(res.body, /<h1>Profile Owner<\/h1>/);
  });

  test('unknown username › 404', async () => {
    const res = await new Visitor(t).get(`/users/nobody_${hex()}`);
    assert.equal(res.status, 404);
    assert.match(res.body, /could not find that user/);
  });

  for (const username of ['a', 'has space', 'x'.repeat(31), 'bad-char']) {
    test(`malformed username ${JSON.stringify(username)} › 404`, async () => {
      const res = await new Visitor(t).get(`/users/${encodeURIComponent(username)}`);
      assert.equal(res.status, 404);
      assert.match(res.body, /Page not found/);
    });
  }

  test('anonymous visitors and other members › published posts only', async () => {
    for (const browser of [new Visitor(t), await loggedIn(await createUser())]) {
      const res = await browser.get(`/users/${owner.username}`);
      assert.equal(res.status, 200);
      assert.match(res.body, /Published lighthouse/);
      assert.match(res.body, /Older lighthouse/);
      assert.doesNotMatch(res.body, /Unfinished lighthouse/);
      assert.doesNotMatch(res.body, /badge-draft/);
    }
  });

  test('the owner › own drafts too, marked draft', async () => {
    const res = await (await loggedIn(owner)).get(`/users/${owner.username}`);
    assert.equal(res.status, 200);
    assert.match(res.body, /Your posts and drafts/);
    assert.match(
      res.body,
      new RegExp(`href="/posts/${draft.id}">Unfinished lighthouse</a> <span class="badge badge-draft">draft</span>`),
    );
    assert.match(res.body, new RegExp(`href="/posts/${published.id}">Published lighthouse</a></h3>`));
    assert.match(res.body, /Edit profile/);
  });

  test('an admin viewing someone else › no drafts', async () => {
    const res = await (await loggedIn(await createUser({ role: 'admin' }))).get(`/users/${owner.username}`);
    assert.equal(res.status, 200);
    assert.match(res.body, /Published lighthouse/);
    assert.doesNotMatch(res.body, /Unfinished lighthouse/);
  });
});

describe('GET /users/:username/edit', () => {
  test('the owner › 200 with the form filled in, no role field', async () => {
    const user = await createUser({ displayName: 'Editable Person', bio: 'Old bio here.' });
    await user.update({ profile: { website: 'https://editable.example' } });
    const res = await (await loggedIn(user)).get(`/users/${user.username}/edit`);
    assert.equal(res.status, 200);
    assert.match(res.body, /name="_method" value="PUT"/);
    assert.match(res.body, /name="displayName" type="text" value="Editable Person"/);
    assert.match(res.body, new RegExp(`name="email" type="email" value="${user.email}"`));
    assert.match(res.body, />Old bio here.<\/textarea>/);
    assert.match(res.body, /name="website" type="url" value="https:\/\/editable.example"/);
    assert.doesNotMatch(res.body, /name="role"/);
  });

  test('another member › 403', async () => {
    const user = await createUser();
    const res = await (await loggedIn(await createUser())).get(`/users/${user.username}/edit`);
    assert.equal(res.status, 403);
    assert.match(res.body, /Only this user or an admin/);
  });

  test('an admin › 200 with the role field', async () => {
    const user = await createUser({ displayName: 'Moderated Person' });
    const res = await (await loggedIn(await createUser({ role: 'admin' }))).get(`/users/${user.username}/edit`);
    assert.equal(res.status, 200);
    assert.match(res.body, /value="Moderated Person"/);
    assert.match(res.body, /<select id="field-role" name="role">/);
  });
});

describe('PUT /users/:username', () => {
  test('the owner › saves name, bio and profile links; a new email waits for its confirmation; 303 with a message', async () => {
    const user = await createUser();
    const browser = await loggedIn(user);
    const email = `New_${user.username}@Example.org`;
    const res = await browser.submit('PUT', `/users/${user.username}`, {
      displayName: '  Renamed Person  ',
      email,
      currentPassword: PASSWORD,
      bio: 'A new bio.',
      website: 'https://renamed.example/home',
      github: 'https://github.com/renamed',
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/users/${user.username}`);
    const before = user.email;
    await user.reload();
    assert.equal(user.displayName, 'Renamed Person');
    assert.equal(user.email, before, 'the address changes only when the new one confirms it');
    assert.equal(user.bio, 'A new bio.');
    assert.equal(user.profile.website, 'https://renamed.example/home');
    assert.equal(user.profile.github, 'https://github.com/renamed');
    const mailed = await t.sql.query<{ recipient: string; kind: string }>(
      `SELECT recipient, kind FROM mail_outbox WHERE recipient IN ($1, $2) ORDER BY id`,
      [email.toLowerCase(), before],
    );
    assert.deepEqual(mailed.rows, [
      { recipient: email.toLowerCase(), kind: 'confirm_email' },
      { recipient: before, kind: 'email_change_requested' },
    ]);
    const page = await browser.get(res.headers.location);
    assert.match(page.body, /The profile is saved\. We sent a link to new_/);
    assert.match(page.body, /<h1>Renamed Person<\/h1>/);
  });

  test('the owner changing the email without the current password, or with a wrong one › 422 at the field, nothing saved', async () => {
    const user = await createUser();
    const browser = await loggedIn(user);
    for (const currentPassword of [undefined, 'not-the-password']) {
      const fields = profileOf(user, { email: `other_${user.username}@example.org`, bio: 'Changed?' });
      const res = await browser.submit('PUT', `/users/${user.username}`, {
        ...fields,
        ...(currentPassword === undefined ? {} : { currentPassword }),
      });
      assert.equal(res.status, 422);
      // The profile form's own password field (the password form below has one of that name too).
      assert.match(
        res.body,
        /id="profile-password-error"><span class="visually-hidden">Error: <\/span>That is not your current password/,
      );
      assert.match(res.body, /<input id="profile-password"[^>]*aria-invalid="true"/);
      assert.match(res.body, /<a href="#profile-password">That is not your current password/);
    }
    const email = user.email;
    await user.reload();
    assert.equal(user.email, email);
    assert.equal(user.bio, '');
    const mailed = await t.sql.query(`SELECT 1 FROM mail_outbox WHERE recipient = $1`, [
      `other_${user.username}@example.org`,
    ]);
    assert.equal(mailed.rowCount, 0);
  });

  test('the owner clearing a link › removed from the profile', async () => {
    const user = await createUser();
    await user.update({ profile: { website: 'https://old.example' } });
    const res = await (await loggedIn(user)).submit('PUT', `/users/${user.username}`, profileOf(user, { website: '' }));
    assert.equal(res.status, 303);
    await user.reload();
    assert.equal(user.profile.website, undefined);
  });

  const invalid: [string, Record<string, string>, string, RegExp, RegExp][] = [
    [
      'an empty display name',
      { displayName: '  ' },
      'displayName',
      /Enter a display name/,
      /name="displayName" type="text" value=""/,
    ],
    ['a malformed email', { email: 'not-an-email' }, 'email', /Enter an email address/, /value="not-an-email"/],
    [
      'a javascript: URL as website',
      { website: 'javascript:alert(1)' },
      'website',
      /starting with https:\/\//,
      /value="javascript:alert\(1\)"/,
    ],
    [
      'an ftp URL as github',
      { github: 'ftp://files.example' },
      'github',
      /starting with https:\/\//,
      /value="ftp:\/\/files.example"/,
    ],
    [
      'a bio over 1,000 characters',
      { bio: 'b'.repeat(1001) },
      'bio',
      /Keep your bio to 1,000 characters/,
      /b{1001}<\/textarea>/,
    ],
  ];
  for (const [situation, overrides, field, message, kept] of invalid) {
    test(`with ${situation} › 422, the message at the field, input kept, nothing changed`, async () => {
      const user = await createUser({ displayName: 'Unchanged Person', bio: 'Unchanged bio.' });
      const res = await (
        await loggedIn(user)
      ).submit('PUT', `/users/${user.username}`, {
        ...profileOf(user, { displayName: 'Attempted Name', bio: 'Attempted bio.' }),
        ...overrides,
      });
      assert.equal(res.status, 422);
      assertFieldError(res.body, field, message);
      assert.match(res.body, kept);
      if (!overrides.displayName) assert.match(res.body, /value="Attempted Name"/);
      await user.reload();
      assert.equal(user.displayName, 'Unchanged Person');
      assert.equal(user.bio, 'Unchanged bio.');
      assert.deepEqual(user.profile, {});
    });
  }

  test('with an email taken by another user in another case › 409 with the message, unchanged', async () => {
    const other = await createUser();
    const user = await createUser();
    const res = await (
      await loggedIn(user)
    ).submit('PUT', `/users/${user.username}`, profileOf(user, { email: other.email.toUpperCase(), bio: 'Changed?' }));
    assert.equal(res.status, 409);
    assertFieldError(res.body, 'email', /An account with that email already exists/);
    assert.match(res.body, />Changed\?<\/textarea>/);
    const email = user.email;
    await user.reload();
    assert.equal(user.email, email);
    assert.equal(user.bio, '');
  });

  test('by another member › 403 and unchanged', async () => {
    const user = await createUser({ displayName: 'Victim Person' });
    const res = await (
      await loggedIn(await createUser())
    ).submit('PUT', `/users/${user.username}`, profileOf(user, { displayName: 'Hijacked' }));
    assert.equal(res.status, 403);
    assert.match(res.body, /Only this user or an admin/);
    await user.reload();
    assert.equal(user.displayName, 'Victim Person');
  });
});

describe('mass assignment and roles', () => {
  test('an admin sending an unknown role › 422 and the role unchanged', async () => {
    const user = await createUser();
    const res = await (
      await loggedIn(await createUser({ role: 'admin' }))
    ).submit('PUT', `/users/${user.username}`, profileOf(user, { role: 'superuser', displayName: 'Not Saved' }));
    assert.equal(res.status, 422);
    assertFieldError(res.body, 'role', /Choose member or admin/);
    await user.reload();
    assert.equal(user.role, 'member');
    assert.notEqual(user.displayName, 'Not Saved');
  });
});

describe('DELETE /users/:username', () => {
  test('the owner › 303 home; the account, its posts and all its sessions are gone; others untouched', async () => {
    const user = await createUser();
    const bystander = await createUser();
    const bystanderPost = await createPost(t.db, bystander);
    await createPost(t.db, user);
    await createPost(t.db, user, { published: false });
    const browser = await loggedIn(user);
    const secondDevice = await loggedIn(user);
    assert.equal(await sessionsOf(user.id), 2);

    const res = await browser.submit('DELETE', `/users/${user.username}`, { currentPassword: PASSWORD });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/');
    assert.equal(await User.findByPk(user.id), null);
    assert.equal(await postsOf(user.id), 0);
    assert.equal(await sessionsOf(user.id), 0);
    assert.equal(await browser.isLoggedIn(), false);
    assert.equal(await secondDevice.isLoggedIn(), false);

    assert.ok(await Post.findByPk(bystanderPost.id));
    await bystander.reload();
    assert.equal(bystander.postsCount, 1);
    assert.equal(await counterMismatches(t.sql), 0);
    assert.equal((await new Visitor(t).get(`/users/${user.username}`)).status, 404);
  });

  test('the owner without the password, or with a wrong one › 422 on the edit page, nothing deleted', async () => {
    const user = await createUser();
    await createPost(t.db, user);
    const browser = await loggedIn(user);
    for (const fields of [{}, { currentPassword: 'not-the-password' }]) {
      const res = await browser.submit('DELETE', `/users/${user.username}`, fields);
      assert.equal(res.status, 422);
      assert.match(res.body, /That is not your current password/);
      assert.match(res.body, /<details class="confirm" open>/);
    }
    assert.ok(await User.findByPk(user.id));
    assert.equal(await postsOf(user.id), 1);
    assert.equal(await browser.isLoggedIn(), true);
  });

  test('by another member › 403, nothing deleted', async () => {
    const user = await createUser();
    await createPost(t.db, user);
    const res = await (await loggedIn(await createUser())).submit('DELETE', `/users/${user.username}`);
    assert.equal(res.status, 403);
    assert.ok(await User.findByPk(user.id));
    assert.equal(await postsOf(user.id), 1);
  });

  test('by an admin › 303 to the users list, the account gone, the admin still logged in', async () => {
    const user = await createUser();
    await createPost(t.db, user);
    const victimSession = await loggedIn(user);
    const admin = await createUser({ role: 'admin' });
    const browser = await loggedIn(admin);
    const res = await browser.submit('DELETE', `/users/${user.username}`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/users');
    const list = await browser.get('/users');
    assert.match(list.body, new RegExp(`The account ${user.username} and its posts were deleted`));
    assert.equal(await User.findByPk(user.id), null);
    assert.equal(await postsOf(user.id), 0);
    assert.equal(await sessionsOf(user.id), 0);
    assert.equal(await victimSession.isLoggedIn(), false);
    assert.ok(await browser.isLoggedIn());
    assert.equal(await sessionsOf(admin.id), 1);
  });

  for (const [how, csrf] of [
    ['without a CSRF token', null],
    ['with a wrong CSRF token', 'f'.repeat(64)],
  ] as const) {
    test(`${how} › 403, nothing deleted`, async () => {
      const user = await createUser();
      await createPost(t.db, user);
      const browser = await loggedIn(user);
      const res = await browser.submit('DELETE', `/users/${user.username}`, {}, { csrf });
      assert.equal(res.status, 403);
      assert.match(res.body, /form has expired/);
      assert.ok(await User.findByPk(user.id));
      assert.equal(await postsOf(user.id), 1);
      assert.equal(await sessionsOf(user.id), 1);
    });
  }
});

test('after everything above, every posts_count is exact', async () => {
  assert.equal(await counterMismatches(t.sql), 0);
});
