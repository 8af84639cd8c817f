// Every page, in light and dark, through axe-core; then what axe cannot see: labels,
// fields tied to their errors, the skip link, visible focus, landmarks, and the whole of
// signing up and writing a post with the keyboard alone.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { BrowserContextOptions, Page, Response } from 'playwright-core';
import { type Comment, Post, User } from '../../src/models/index.js';
import { hashToken } from '../../src/services/account-tokens.js';
import { type BrowserApp, chromiumMissing, startBrowserApp } from '../support/chromium.js';
import { createComment, createPost, createUser } from '../support/factories.js';
import { addComments } from '../support/sql.js';
import type { BrowserGlobals, El } from '../support/dom.js';
import { describeViolations, focused, loggedInState, randomUsername, severeViolations } from '../support/pages.js';

type Who = 'anonymous' | 'member';

interface Scenario {
  name: string;
  who: Who;
  status: number;
  /** Brings the page to the state under test; returns the response of its document. */
  open(page: Page): Promise<Response | null>;
}

/** Submits the page's form with `button` and returns the response to that POST. */
async function submit(page: Page, button: string): Promise<Response> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()),
    page.getByRole('button', { name: button, exact: true }).click(),
  ]);
  await page.waitForLoadState();
  return response;
}

/** What a person hears for the focused element ('' on the body). */
async function focusedName(page: Page): Promise<string> {
  return (await focused(page))?.name ?? '';
}

/** Presses Tab until the focused element's name is `name`; fails after `limit` presses. */
async function tabTo(page: Page, name: string, limit = 40): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const now = await focusedName(page);
    if (now === name) return;
    seen.push(now);
  }
  assert.fail(`Tab never reached “${name}” on ${page.url()}; focus went through: ${seen.join(' | ')}`);
}

describe('accessibility', { skip: chromiumMissing }, () => {
  let b: BrowserApp;
  let author: User;
  let member: User;
  let authorPost: Post;
  let ownPost: Post;
  let memberComment: Comment;
  let memberState: BrowserContextOptions['storageState'];
  const searchWord = `kestrel${Math.random().toString(36).slice(2, 7)}`;
  // Links as a mail would carry them (only their hash is stored), for the pages they open.
  const resetToken = randomBytes(32).toString('base64url');
  const confirmToken = randomBytes(32).toString('base64url');

  before(async () => {
    b = await startBrowserApp();
    author = await createUser({ displayName: 'Ada Lovelace', bio: 'Notes on the Analytical Engine.' });
    // 25 posts a day apart: a second page of posts, and an activity chart with something in it.
    const day = 86_400_000;
    await Promise.all(
      Array.from({ length: 25 }, (_, n) =>
        createPost(b.db, author, {
          title: n === 24 ? `On the ${searchWord}` : `Note ${n + 1}`,
          body: '## A heading\n\nSome **bold** text, a [link](https://example.com), `code`, and:\n\n> a quote\n\n- one\n- two',
          publishedAt: new Date(Date.now() - (24 - n) * day),
          tags: ['analytical-engine', `note-${n % 3}`],
        }),
      ),
    );
    authorPost = await Post.findOne({
      where: { authorId: author.id },
      order: [['publishedAt', 'DESC']],
      rejectOnEmpty: true,
    });
    member = await createUser({ displayName: 'Grace Hopper' });
    ownPost = await createPost(b.db, member, { title: 'My own post', body: 'Written by *me*.' });
    // A thread of two pages under the author's post, the member's comment on the second;
    // and a comment under the member's own post, which they may delete.
    await addComments(b.sql, authorPost.id, author.id, 55);
    memberComment = await createComment(b.db, authorPost, member, 'Which engine, the first\nor the second?');
    await createComment(b.db, ownPost, author, 'A fine post.');
    await createPost(b.db, member, { title: 'My draft', published: false });
    memberState = await loggedInState(b, member);
    await b.sql.query(
      `INSERT INTO account_tokens (user_id, purpose, token_hash, email, expires_at)
       VALUES ($1, 'password_reset', $2, NULL, now() + interval '1 hour'),
              ($1, 'confirm_email', $3, $4, now() + interval '1 day')`,
      [author.id, hashToken(resetToken), hashToken(confirmToken), author.email],
    );
  });
  after(async () => {
    await b?.close();
  });

  // Paths are functions: the rows they name exist only once `before` has run.
  const goto =
    (path: () => string) =>
    (page: Page): Promise<Response | null> =>
      page.goto(`${b.baseUrl}${path()}`);

  const common = (who: Who): Scenario[] => [
    { name: 'home', who, status: 200, open: goto(() => '/') },
    { name: 'posts index', who, status: 200, open: goto(() => '/posts') },
    { name: 'posts page 2', who, status: 200, open: goto(() => '/posts?page=2') },
    { name: 'posts search', who, status: 200, open: goto(() => `/posts?q=${searchWord}`) },
    { name: 'a post', who, status: 200, open: goto(() => `/posts/${authorPost.id}`) },
    {
      name: 'a post’s later comments',
      who,
      status: 200,
      open: goto(() => `/posts/${authorPost.id}/comments/${memberComment.id}`),
    },
    { name: 'tags', who, status: 200, open: goto(() => '/tags') },
    { name: 'a tag', who, status: 200, open: goto(() => '/tags/analytical-engine') },
    { name: 'users index', who, status: 200, open: goto(() => '/users') },
    { name: 'a profile', who, status: 200, open: goto(() => `/users/${author.username}`) },
    { name: 'signup', who, status: 200, open: goto(() => '/signup') },
    { name: '404 page', who, status: 404, open: goto(() => '/no/such/page') },
  ];

  const errorScenarios: Scenario[] = [
    {
      name: 'signup with errors',
      who: 'anonymous',
      status: 422,
      async open(page) {
        await page.goto(`${b.baseUrl}/signup`);
        await page.getByLabel('Username').fill('x');
        await page.getByLabel('Email').fill('nope');
        return submit(page, 'Sign up');
      },
    },
    {
      name: 'login with a wrong password',
      who: 'anonymous',
      status: 401,
      async open(page) {
        await page.goto(`${b.baseUrl}/login`);
        await page.getByLabel('Username or email').fill(member.username);
        await page.getByLabel('Password').fill('wrong-password-here');
        return submit(page, 'Log in');
      },
    },
    {
      name: 'forgot password with errors',
      who: 'anonymous',
      status: 422,
      async open(page) {
        await page.goto(`${b.baseUrl}/password/forgot`);
        await page.getByLabel('Email').fill('not an address');
        return submit(page, 'Send the link');
      },
    },
    {
      name: 'password reset link with errors',
      who: 'anonymous',
      status: 422,
      async open(page) {
        await page.goto(`${b.baseUrl}/password/reset/${resetToken}`);
        await page.getByLabel('New password').fill('short');
        return submit(page, 'Set the password');
      },
    },
    {
      name: 'a comment with errors',
      who: 'member',
      status: 422,
      async open(page) {
        await page.goto(`${b.baseUrl}/posts/${ownPost.id}`);
        return submit(page, 'Post comment');
      },
    },
    {
      name: 'new post with errors',
      who: 'member',
      status: 422,
      async open(page) {
        await page.goto(`${b.baseUrl}/posts/new`);
        return submit(page, 'Save post');
      },
    },
    {
      name: 'profile edit with errors',
      who: 'member',
      status: 422,
      async open(page) {
        await page.goto(`${b.baseUrl}/users/${member.username}/edit`);
        await page.getByLabel('Display name').fill('');
        await page.getByLabel('Email').fill('not an email');
        await page.getByLabel('Website').fill('example dot com');
        return submit(page, 'Save profile');
      },
    },
    {
      name: 'password change with errors',
      who: 'member',
      status: 422,
      async open(page) {
        await page.goto(`${b.baseUrl}/users/${member.username}/edit`);
        await page.getByLabel('New password').fill('short');
        return submit(page, 'Change password');
      },
    },
  ];

  const scenarios: Scenario[] = [
    ...common('anonymous'),
    { name: 'login', who: 'anonymous', status: 200, open: goto(() => '/login') },
    { name: 'forgot password', who: 'anonymous', status: 200, open: goto(() => '/password/forgot') },
    {
      name: 'a password reset link',
      who: 'anonymous',
      status: 200,
      open: goto(() => `/password/reset/${resetToken}`),
    },
    {
      name: 'an address confirmation link',
      who: 'anonymous',
      status: 200,
      open: goto(() => `/email/confirm/${confirmToken}`),
    },
    ...common('member'),
    // (/login sends a logged-in person on, so it has no logged-in version.)
    { name: 'new post', who: 'member', status: 200, open: goto(() => '/posts/new') },
    { name: 'own post with its actions', who: 'member', status: 200, open: goto(() => `/posts/${ownPost.id}`) },
    { name: 'edit post', who: 'member', status: 200, open: goto(() => `/posts/${ownPost.id}/edit`) },
    {
      name: 'edit own comment',
      who: 'member',
      status: 200,
      open: goto(() => `/posts/${authorPost.id}/comments/${memberComment.id}/edit`),
    },
    { name: 'own profile', who: 'member', status: 200, open: goto(() => `/users/${member.username}`) },
    { name: 'edit own profile', who: 'member', status: 200, open: goto(() => `/users/${member.username}/edit`) },
    ...errorScenarios,
  ];

  const pageFor = (who: Who, options: BrowserContextOptions = {}): Promise<Page> =>
    b.newPage({ ...options, ...(who === 'member' ? { storageState: memberState } : {}) });

  // One page per person and colour scheme, reused from scenario to scenario: a new context
  // and a first injection of axe cost more than the check itself.
  const shared = new Map<string, Promise<Page>>();
  function sharedPage(who: Who, colorScheme: 'light' | 'dark'): Promise<Page> {
    const key = `${who} ${colorScheme}`;
    let page = shared.get(key);
    if (!page) shared.set(key, (page = pageFor(who, { colorScheme })));
    return page;
  }

  async function open(scenario: Scenario, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const page = await sharedPage(scenario.who, colorScheme);
    const response = await scenario.open(page);
    assert.equal(response?.status(), scenario.status, `${scenario.name}: status of ${page.url()}`);
    return page;
  }

  /** What is wrong with the page's landmarks, headings and field labels (empty: nothing). */
  async function structureProblems(page: Page): Promise<string[]> {
    const problems: string[] = [];
    const expect = (what: string, n: number, ok: boolean): void => {
      if (!ok) problems.push(`${n} ${what}`);
    };
    const main = await page.getByRole('main').count();
    expect('main landmarks (want 1)', main, main === 1);
    const banners = await page.getByRole('banner').count();
    expect('banners (want 1: the site header)', banners, banners === 1);
    const navs = await page.getByRole('banner').getByRole('navigation').count();
    expect('navigations in the banner (want 1 or more)', navs, navs >= 1);
    const footers = await page.getByRole('contentinfo').count();
    expect('contentinfos (want 1: the site footer)', footers, footers === 1);
    const h1s = await page.getByRole('heading', { level: 1 }).count();
    expect('h1 headings (want 1)', h1s, h1s === 1);
    const unlabelled = await page.evaluate(() => {
      const { document } = globalThis as unknown as BrowserGlobals;
      return [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.type !== 'hidden' && el.getClientRects().length > 0)
        .filter((el) => {
          const labelled = el
            .getAttribute('aria-labelledby')
            ?.split(/\s+/)
            .map((id) => document.getElementById(id)?.textContent?.trim())
            .some(Boolean);
          const labels = Array.from(el.labels ?? []).some((l) => l.textContent?.trim());
          return !(labels || labelled || el.getAttribute('aria-label')?.trim());
        })
        .map((el) => el.outerHTML);
    });
    for (const html of unlabelled) problems.push(`a field without an accessible label: ${html}`);
    return problems;
  }

  // axe is injected through the DevTools protocol, which the app's strict CSP does not
  // govern, so these contexts keep the real CSP (no bypassCSP needed). The light pass also
  // checks landmarks and labels, reported together with axe's findings.
  for (const colorScheme of ['light', 'dark'] as const) {
    const structure = colorScheme === 'light' ? 'one main, banner, navigation and contentinfo, labelled fields, ' : '';
    describe(`every page, ${colorScheme} scheme`, () => {
      for (const scenario of scenarios) {
        test(`${colorScheme} › ${scenario.who} › ${scenario.name} › ${structure}no serious or critical axe violation`, async () => {
          const page = await open(scenario, colorScheme);
          assert.equal(
            await page.evaluate(
              () => (globalThis as unknown as BrowserGlobals).matchMedia('(prefers-color-scheme: dark)').matches,
            ),
            colorScheme === 'dark',
          );
          const problems = colorScheme === 'light' ? await structureProblems(page) : [];
          const severe = await severeViolations(page);
          if (severe.length > 0) problems.push(`axe (${colorScheme}) on ${page.url()}:\n${describeViolations(severe)}`);
          assert.equal(problems.length, 0, `${scenario.who} ${scenario.name}:\n${problems.join('\n')}`);
        });
      }
    });
  }

  describe('fields with errors', () => {
    for (const scenario of errorScenarios) {
      test(`${scenario.name} › every field named in the summary is aria-invalid and described by its error`, async () => {
        const page = await open(scenario);
        const summary = page.getByRole('alert').filter({ has: page.getByRole('heading', { name: /^Please fix/ }) });
        const links = await summary
          .getByRole('link')
          .evaluateAll((as: El[]) =>
            as.map((a) => ({ href: a.getAttribute('href') ?? '', text: a.textContent?.trim() ?? '' })),
          );
        assert.ok(links.length > 0, 'the error summary lists the problems');
        for (const { href, text } of links) {
          const field = page.locator(href);
          assert.equal(await field.count(), 1, `the summary link ${href} points at a field`);
          assert.equal(await field.getAttribute('aria-invalid'), 'true', `${href} has aria-invalid="true"`);
          const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
          const descriptions = await Promise.all(
            ids.map((id) =>
              page
                .locator(`[id="${id}"]`)
                .textContent({ timeout: 1000 })
                .catch(() => null),
            ),
          );
          assert.ok(
            descriptions.some((d) => d?.includes(text)),
            `${href} aria-describedby="${ids.join(' ')}" should name an element reading “${text}”; found ${JSON.stringify(descriptions)}`,
          );
        }
        // And no field is marked invalid without being listed.
        const invalid = await page
          .locator('[aria-invalid="true"]')
          .evaluateAll((els: El[]) => els.map((el) => `#${el.id}`));
        assert.deepEqual(invalid.sort(), links.map((l) => l.href).sort());
      });
    }
  });

  describe('keyboard', () => {
    for (const who of ['anonymous', 'member'] as const) {
      test(`${who} › the first Tab stop is the skip link, which moves focus to main`, async () => {
        const page = await pageFor(who);
        await page.goto(`${b.baseUrl}/posts`);
        await page.keyboard.press('Tab');
        assert.equal(await focusedName(page), 'Skip to content');
        assert.equal((await focused(page))?.href, '#main');
        // Shown once focused, not left off-screen.
        const box = await page.getByRole('link', { name: 'Skip to content' }).boundingBox();
        assert.ok(box && box.y >= 0 && box.height > 0, `the focused skip link is on screen: ${JSON.stringify(box)}`);
        await page.keyboard.press('Enter');
        await page.waitForURL(`${b.baseUrl}/posts#main`);
        assert.equal((await focused(page))?.id, 'main');
        // The next Tab continues inside main, past the header.
        await page.keyboard.press('Tab');
        assert.equal((await focused(page))?.inMain, true);
        assert.equal(await focusedName(page), 'Search posts');
        await page.context().close();
      });
    }

    const focusPages: [Who, string, () => string][] = [
      ['anonymous', 'home', () => '/'],
      ['anonymous', 'posts index', () => '/posts?page=2'],
      ['anonymous', 'signup', () => '/signup'],
      ['member', 'own post with its actions', () => `/posts/${ownPost.id}`],
      ['member', 'edit own profile', () => `/users/${member.username}/edit`],
    ];
    for (const [who, name, path] of focusPages) {
      test(`${who} › ${name} › tabbing through it, every focused control shows a focus indicator`, async () => {
        const page = await pageFor(who);
        await page.goto(`${b.baseUrl}${path()}`);
        // Open the confirmations so their buttons are in the tab order too.
        await page.evaluate(() => {
          for (const details of (globalThis as unknown as BrowserGlobals).document.querySelectorAll('details')) {
            details.open = true;
          }
        });
        const invisible: string[] = [];
        const visited = new Set<string>();
        for (let i = 0; i < 80; i++) {
          await page.keyboard.press('Tab');
          const focus = await focused(page);
          // Back at the top (or out of the document): every stop has been seen.
          if (!focus || visited.has(focus.html)) break;
          visited.add(focus.html);
          if (!focus.indicated) invisible.push(focus.html.slice(0, 200));
        }
        assert.ok(visited.size >= 5, `only ${visited.size} tab stops on ${name}`);
        assert.deepEqual(invisible, [], 'focused elements without a visible outline or box-shadow');
        await page.context().close();
      });
    }

    test('keyboard alone › sign up, write a post, delete it › all done with Tab, typing, Enter and Space', async () => {
      const page = await b.newPage();
      const username = randomUsername('kb');
      await page.goto(b.baseUrl);

      await tabTo(page, 'Sign up');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${b.baseUrl}/signup`);
      await tabTo(page, 'Username');
      await page.keyboard.type(username);
      await page.keyboard.press('Tab');
      assert.equal(await focusedName(page), 'Email');
      await page.keyboard.type(`${username}@example.com`);
      await page.keyboard.press('Tab');
      assert.equal(await focusedName(page), 'Password');
      await page.keyboard.type('typed with the keyboard only');
      await page.keyboard.press('Tab');
      assert.equal(await focusedName(page), 'Display name (optional)');
      await page.keyboard.type('Keyboard Person');
      await page.keyboard.press('Tab');
      assert.equal(await focusedName(page), 'Sign up');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${b.baseUrl}/users/${username}`);
      const user = await User.findOne({ where: { username } });
      assert.ok(user, `the account ${username} exists`);

      await tabTo(page, 'Write a post');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${b.baseUrl}/posts/new`);
      await tabTo(page, 'Title');
      await page.keyboard.type('Typed, not clicked');
      await page.keyboard.press('Tab');
      assert.equal(await focusedName(page), 'Body');
      await page.keyboard.type('No mouse was **harmed**.\n\n- Tab\n- Enter');
      await page.keyboard.press('Tab');
      assert.equal(await focusedName(page), 'Tags (optional)');
      await page.keyboard.type('keyboards, a11y');
      await page.keyboard.press('Tab');
      assert.equal(await focusedName(page), 'Published (visible to everyone)');
      const published = page.getByLabel('Published (visible to everyone)');
      assert.equal(await published.isChecked(), true);
      await page.keyboard.press('Space');
      assert.equal(await published.isChecked(), false);
      await page.keyboard.press('Space');
      assert.equal(await published.isChecked(), true);
      await page.keyboard.press('Tab');
      assert.equal(await focusedName(page), 'Save post');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/posts\/\d+$/);
      assert.equal(await page.getByRole('article').locator('strong', { hasText: 'harmed' }).count(), 1);
      const post = await Post.findOne({ where: { authorId: user.id } });
      assert.equal(post?.title, 'Typed, not clicked');
      assert.equal(post?.published, true);
      assert.equal((await user.reload()).postsCount, 1);

      await tabTo(page, 'Delete…');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Tab');
      assert.equal(await focusedName(page), 'Yes, delete this post');
      await page.keyboard.press('Space');
      await page.waitForURL(`${b.baseUrl}/posts`);
      assert.equal(await Post.findByPk(post.id), null);
      await page.context().close();
    });
  });
});
