// Features beyond the forms, as a visitor meets them: the Markdown preview (a second submit
// button, so it works without JavaScript), relative dates, the profile's activity chart,
// and the Atom feeds every page announces.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page, Response } from 'playwright-core';
import { Post, type User } from '../../src/models/index.js';
import { type BrowserApp, chromiumMissing, startBrowserApp } from '../support/chromium.js';
import { createPost, createUser } from '../support/factories.js';
import type { El } from '../support/dom.js';
import { assertAccessible, logIn } from '../support/pages.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Clicks a submit button and returns the response to the form's POST. */
async function submitWith(page: Page, button: string): Promise<Response> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()),
    page.getByRole('button', { name: button, exact: true }).click(),
  ]);
  await page.waitForLoadState();
  return response;
}

describe('features beyond the forms', { skip: chromiumMissing }, () => {
  let b: BrowserApp;
  before(async () => {
    b = await startBrowserApp();
  });
  after(async () => {
    await b?.close();
  });

  describe('Markdown preview', () => {
    for (const javaScriptEnabled of [true, false]) {
      const js = javaScriptEnabled ? 'JS on' : 'JS off';

      test(`${js} › new post › "Preview" shows the sanitized rendering, keeps the form, saves nothing`, async () => {
        const user = await createUser();
        const page = await b.newPage({ javaScriptEnabled });
        await logIn(page, b.baseUrl, user);
        await page.goto(`${b.baseUrl}/posts/new`);
        const body =
          'Some **bold** words.\n\n<script>alert(1)</script> [bad](javascript:alert(1)) <img src=x onerror=alert(1)>';
        await page.getByLabel('Title').fill('Thinking out loud');
        await page.getByLabel('Body').fill(body);
        await page.getByLabel('Published (visible to everyone)').uncheck();

        const response = await submitWith(page, 'Preview');
        assert.equal(response.status(), 200);
        const preview = page.getByRole('region', { name: 'Preview' });
        await preview.waitFor();
        assert.equal(
          await page.getByRole('heading', { name: 'Preview', level: 2 }).getAttribute('id'),
          'preview-title',
        );
        assert.equal(await page.locator('section.preview').getAttribute('aria-labelledby'), 'preview-title');
        assert.equal(await preview.locator('strong', { hasText: 'bold' }).count(), 1);
        assert.equal(await preview.locator('script').count(), 0);
        assert.equal(await preview.locator('[onerror], a[href^="javascript:"]').count(), 0);
        // The form is still there, as typed, ready to be changed or saved.
        assert.equal(await page.getByLabel('Title').inputValue(), 'Thinking out loud');
        assert.equal(await page.getByLabel('Body').inputValue(), body);
        assert.equal(await page.getByLabel('Published (visible to everyone)').isChecked(), false);
        assert.equal(new URL(page.url()).pathname, '/posts');
        assert.equal(await Post.count({ where: { authorId: user.id } }), 0);
        assert.equal((await user.reload()).postsCount, 0);

        await page.getByLabel('Body').fill('Some **bold** words, on reflection.');
        await page.getByRole('button', { name: 'Save post' }).click();
        await page.waitForURL(/\/posts\/\d+$/);
        const saved = await Post.findOne({ where: { authorId: user.id } });
        assert.equal(saved?.title, 'Thinking out loud');
        assert.equal(saved?.body, 'Some **bold** words, on reflection.');
        assert.equal(saved?.published, false);
      });

      test(`${js} › editing a post › "Preview" shows the changes, the stored post stays as it was`, async () => {
        const user = await createUser();
        const post = await createPost(b.db, user, { title: 'Original title', body: 'Original body.' });
        const page = await b.newPage({ javaScriptEnabled });
        await logIn(page, b.baseUrl, user);
        await page.goto(`${b.baseUrl}/posts/${post.id}/edit`);
        await page.getByLabel('Title').fill('Changed title');
        await page.getByLabel('Body').fill('Now _emphatic_.');

        const response = await submitWith(page, 'Preview');
        assert.equal(response.status(), 200);
        const preview = page.getByRole('region', { name: 'Preview' });
        await preview.waitFor();
        assert.equal(await preview.locator('em', { hasText: 'emphatic' }).count(), 1);
        assert.equal(await page.getByLabel('Title').inputValue(), 'Changed title');
        assert.equal(await page.getByLabel('Body').inputValue(), 'Now _emphatic_.');
        assert.equal(await page.getByRole('button', { name: 'Save changes' }).count(), 1);
        await post.reload();
        assert.equal(post.title, 'Original title');
        assert.equal(post.body, 'Original body.');
      });
    }

    test('preview › no serious or critical axe violation, light and dark', async () => {
      const user = await createUser();
      for (const colorScheme of ['light', 'dark'] as const) {
        const page = await b.newPage({ colorScheme });
        await logIn(page, b.baseUrl, user);
        await page.goto(`${b.baseUrl}/posts/new`);
        await page.getByLabel('Title').fill('Accessible preview');
        await page.getByLabel('Body').fill('## Sub-heading\n\nA [link](https://example.com) and `code`.\n\n> quoted');
        assert.equal((await submitWith(page, 'Preview')).status(), 200);
        await page.getByRole('region', { name: 'Preview' }).waitFor();
        await assertAccessible(page, `the new-post preview (${colorScheme})`);
        await page.context().close();
      }
    });
  });

  describe('relative dates', () => {
    let author: User;
    const now = Date.now();
    const dates = {
      threeDays: new Date(now - 3 * DAY - 2 * HOUR),
      yesterday: new Date(now - 26 * HOUR),
      longAgo: new Date(now - 400 * DAY),
    };
    before(async () => {
      author = await createUser();
      await createPost(b.db, author, { title: 'Three days old', publishedAt: dates.threeDays });
      await createPost(b.db, author, { title: 'From yesterday', publishedAt: dates.yesterday });
      await createPost(b.db, author, { title: 'Long ago', publishedAt: dates.longAgo });
    });

    /** The <time> in the summary of the post titled `title` on the page. */
    const timeOf = (page: Page, title: string) =>
      page.locator('.post-summary').filter({ hasText: title }).locator('time').first();

    test('a profile › recent dates read "3 days ago" and "yesterday", each with its ISO datetime and full date', async () => {
      const page = await b.newPage();
      await page.goto(`${b.baseUrl}/users/${author.username}`);
      for (const [title, date, text] of [
        ['Three days old', dates.threeDays, /^3 days ago$/],
        ['From yesterday', dates.yesterday, /^yesterday$/],
      ] as const) {
        const time = timeOf(page, title);
        assert.match(((await time.textContent()) ?? '').trim(), text, `${title}: relative text`);
        assert.equal(await time.getAttribute('datetime'), date.toISOString(), `${title}: datetime`);
        const full = (await time.getAttribute('title')) ?? '';
        assert.ok(full.includes(String(date.getUTCFullYear())), `${title}: title="${full}" gives the absolute date`);
        assert.doesNotMatch(full, /ago|yesterday/);
      }
      const old = timeOf(page, 'Long ago');
      assert.equal(await old.getAttribute('datetime'), dates.longAgo.toISOString());
      assert.ok((await old.getAttribute('title'))?.includes(String(dates.longAgo.getUTCFullYear())));
      await page.context().close();
    });

    for (const [name, path] of [
      ['home', () => '/'],
      ['posts index', () => '/posts'],
      ['users index', () => '/users'],
      ['a profile', () => `/users/${author.username}`],
    ] as const) {
      test(`${name} › every <time> has an ISO-8601 datetime and the absolute date in its title`, async () => {
        const page = await b.newPage();
        await page.goto(`${b.baseUrl}${path()}`);
        const times = await page.locator('main time').evaluateAll((els: El[]) =>
          els.map((el) => ({
            text: el.textContent?.trim() ?? '',
            datetime: el.getAttribute('datetime') ?? '',
            title: el.getAttribute('title') ?? '',
          })),
        );
        assert.ok(times.length > 0, 'the page shows dates');
        for (const time of times) {
          assert.match(time.datetime, ISO_8601, JSON.stringify(time));
          assert.ok(!Number.isNaN(Date.parse(time.datetime)), JSON.stringify(time));
          assert.ok(time.title.length > 0, `no title on ${JSON.stringify(time)}`);
          assert.match(time.title, /\d{4}/, `the title names the year: ${JSON.stringify(time)}`);
        }
        await page.context().close();
      });
    }

    test('a post page › "3 days ago" beside the author, the exact time on hover', async () => {
      const post = await Post.findOne({ where: { authorId: author.id, title: 'Three days old' }, rejectOnEmpty: true });
      const page = await b.newPage();
      await page.goto(`${b.baseUrl}/posts/${post.id}`);
      const time = page.getByRole('article').locator('time').first();
      assert.equal(((await time.textContent()) ?? '').trim(), '3 days ago');
      assert.equal(await time.getAttribute('datetime'), dates.threeDays.toISOString());
      assert.match((await time.getAttribute('title')) ?? '', new RegExp(String(dates.threeDays.getUTCFullYear())));
      await page.context().close();
    });
  });

  describe('profile activity chart', () => {
    let writer: User;
    before(async () => {
      writer = await createUser({ displayName: 'Weekly Writer' });
      for (const ago of [1 * HOUR, 2 * DAY, 3 * 7 * DAY]) {
        await createPost(b.db, writer, { publishedAt: new Date(Date.now() - ago) });
      }
      // Outside the last year, and a draft: neither is in the chart.
      await createPost(b.db, writer, { publishedAt: new Date(Date.now() - 500 * DAY) });
      await createPost(b.db, writer, { published: false });
    });

    test('a profile › an <svg role="img"> named by its <title>, in a figure whose text summarises posts per week', async () => {
      const page = await b.newPage();
      await page.goto(`${b.baseUrl}/users/${writer.username}`);
      const figure = page.getByRole('main').locator('figure');
      assert.equal(await figure.count(), 1, 'one figure for the chart');
      const svg = figure.locator('svg[role="img"]');
      assert.equal(await svg.count(), 1, 'an inline <svg role="img"> in it');
      const title = ((await svg.locator('> title').textContent()) ?? '').trim();
      assert.ok(title.length > 0, 'the svg has a <title>');
      assert.equal(await figure.getByRole('img', { name: title }).count(), 1, 'the <title> is its accessible name');
      const summary = ((await figure.locator('figcaption, p').allTextContents()).join(' ') || '').replace(/\s+/g, ' ');
      assert.match(summary, /week/i, `the text summary speaks of weeks: “${summary}”`);
      assert.match(summary, /\b3\b/, `it counts the 3 posts of the last year: “${summary}”`);
      assert.doesNotMatch(summary, /\b4\b|\b5\b/, `the old post and the draft are not counted: “${summary}”`);
      await page.context().close();
    });

    for (const colorScheme of ['light', 'dark'] as const) {
      test(`a profile with its chart, ${colorScheme} › no serious or critical axe violation`, async () => {
        const page = await b.newPage({ colorScheme });
        await page.goto(`${b.baseUrl}/users/${writer.username}`);
        await page.locator('figure svg').waitFor();
        await assertAccessible(page, `the profile with its activity chart (${colorScheme})`);
        await page.context().close();
      });
    }

    test('a profile with no posts › still shows, 200', async () => {
      const quiet = await createUser();
      const page = await b.newPage();
      const response = await page.goto(`${b.baseUrl}/users/${quiet.username}`);
      assert.equal(response?.status(), 200);
      await assertAccessible(page, 'a profile without posts');
      await page.context().close();
    });
  });

  describe('Atom feed links', () => {
    let author: User;
    let post: Post;
    before(async () => {
      author = await createUser();
      post = await createPost(b.db, author, { title: 'Fed to the feed' });
    });

    /** The hrefs of the page's Atom alternates, and each one fetched. */
    async function feedsOf(page: Page): Promise<{ href: string; status: number; type: string }[]> {
      const hrefs = await page
        .locator('head link[rel="alternate"][type="application/atom+xml"]')
        .evaluateAll((els: El[]) => els.map((el) => el.getAttribute('href') ?? ''));
      return Promise.all(
        hrefs.map(async (href) => {
          const res = await page.request.get(new URL(href, page.url()).toString());
          return { href, status: res.status(), type: res.headers()['content-type'] ?? '' };
        }),
      );
    }

    const pages: [string, () => string, number][] = [
      ['home', () => '/', 200],
      ['posts index', () => '/posts', 200],
      ['a post', () => `/posts/${post.id}`, 200],
      ['users index', () => '/users', 200],
      ['signup', () => '/signup', 200],
      ['login', () => '/login', 200],
      ['404 page', () => '/nothing/here', 404],
    ];
    for (const [name, path, status] of pages) {
      test(`${name} › <head> links the site feed /posts.atom, which answers 200 as Atom`, async () => {
        const page = await b.newPage();
        assert.equal((await page.goto(`${b.baseUrl}${path()}`))?.status(), status);
        const feeds = await feedsOf(page);
        const site = feeds.find((f) => f.href === '/posts.atom');
        assert.ok(site, `no <link rel="alternate" type="application/atom+xml" href="/posts.atom"> in ${path()}`);
        assert.equal(site.status, 200);
        assert.match(site.type, /^application\/atom\+xml/);
        await page.context().close();
      });
    }

    test('a logged-in page (new post) › links /posts.atom too', async () => {
      const page = await b.newPage();
      await logIn(page, b.baseUrl, author);
      await page.goto(`${b.baseUrl}/posts/new`);
      assert.ok((await feedsOf(page)).some((f) => f.href === '/posts.atom' && f.status === 200));
      await page.context().close();
    });

    test("a profile › links the site feed and the author's /users/<username>/posts.atom, both Atom", async () => {
      const page = await b.newPage();
      await page.goto(`${b.baseUrl}/users/${author.username}`);
      const feeds = await feedsOf(page);
      for (const href of ['/posts.atom', `/users/${author.username}/posts.atom`]) {
        const feed = feeds.find((f) => f.href === href);
        assert.ok(feed, `no Atom link to ${href}; found ${JSON.stringify(feeds)}`);
        assert.equal(feed.status, 200, href);
        assert.match(feed.type, /^application\/atom\+xml/, href);
      }
      await page.context().close();
    });
  });
});
