// What a person does on the site, by reading labels, typing and clicking: once with
// JavaScript on and once with it off (the app has no script; both must work the same).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { Post, User } from '../../src/models/index.js';
import { counterMismatches } from '../support/sql.js';
import { type BrowserApp, chromiumMissing, startBrowserApp } from '../support/chromium.js';
import { createPost, createUser, PASSWORD } from '../support/factories.js';
import { focused, logIn, mainText, randomUsername } from '../support/pages.js';
import { linkIn, startSmtp, startTestSender, type TestSmtp } from '../support/smtp.js';
import type { MailSender } from '../../src/mail/sender.js';

/**
 * The one-line messages shown after a redirect ("Your post is published."). Checked at the
 * end of a flow, so that a missing one is reported without hiding the rest of the flow.
 */
class Flashes {
  private readonly missing: string[] = [];

  async expect(page: Page, text: string): Promise<void> {
    if (!(await mainText(page)).includes(text)) this.missing.push(`“${text}” on ${new URL(page.url()).pathname}`);
  }

  assertAll(): void {
    assert.deepEqual(this.missing, [], 'flash messages missing from the page a form redirected to');
  }
}

describe('browser flows', { skip: chromiumMissing }, () => {
  let b: BrowserApp;
  before(async () => {
    b = await startBrowserApp();
  });
  after(async () => {
    await b?.close();
  });

  /** The id in a /posts/:id address. */
  const postIdIn = (url: string): number => Number(/\/posts\/(\d+)$/.exec(new URL(url).pathname)?.[1]);

  for (const javaScriptEnabled of [true, false]) {
    const js = javaScriptEnabled ? 'JS on' : 'JS off';
    const newPage = (): Promise<Page> => b.newPage({ javaScriptEnabled });

    describe(`${js}`, () => {
      test(`${js} › sign up from the home page › lands on the new profile, logged in, and the account exists`, async () => {
        const flashes = new Flashes();
        const page = await newPage();
        const username = randomUsername('new');
        await page.goto(b.baseUrl);
        await page.getByRole('banner').getByRole('link', { name: 'Sign up' }).click();
        await page.getByRole('heading', { name: 'Create your account', level: 1 }).waitFor();
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Email').fill(`${username}@Example.COM`);
        await page.getByLabel('Password').fill('correct horse battery staple');
        await page.getByLabel('Display name').fill('Grace Hopper');
        await page.getByRole('button', { name: 'Sign up' }).click();

        await page.waitForURL(`${b.baseUrl}/users/${username}`);
        await flashes.expect(page, 'Welcome, Grace Hopper! Your account is ready.');
        assert.equal(await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).count(), 1);
        assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 1);
        const user = await User.findOne({ where: { username } });
        assert.ok(user, 'the user row exists');
        assert.equal(user.email, `${username}@example.com`);
        assert.equal(user.displayName, 'Grace Hopper');
        assert.equal(user.role, 'member');
        assert.notEqual(user.passwordHash, 'correct horse battery staple');
        flashes.assertAll();
      });

      test(`${js} › log out, then log in from the header › welcomed back and logged in again`, async () => {
        const flashes = new Flashes();
        const user = await createUser({ displayName: 'Alan Turing' });
        const page = await newPage();
        await logIn(page, b.baseUrl, user);

        await page.getByRole('button', { name: 'Log out' }).click();
        await page.waitForURL(`${b.baseUrl}/`);
        await page.getByRole('banner').getByRole('link', { name: 'Log in' }).waitFor();
        assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 0);
        // Logged out for real: a page for members sends us to the login form.
        await page.goto(`${b.baseUrl}/posts/new`);
        await page.waitForURL(/\/login\?returnTo=%2Fposts%2Fnew$/);

        await page.getByLabel('Username or email').fill(user.email);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.waitForURL(`${b.baseUrl}/posts/new`);
        await flashes.expect(page, 'Welcome back, Alan Turing.');
        assert.equal(await page.getByRole('banner').getByRole('link', { name: 'Alan Turing' }).count(), 1);
        flashes.assertAll();
      });

      test(`${js} › write a post in Markdown, edit it, delete it › rendered, saved, then gone with the counter`, async () => {
        const flashes = new Flashes();
        const user = await createUser();
        const page = await newPage();
        await logIn(page, b.baseUrl, user);

        await page.getByRole('link', { name: 'Write a post' }).click();
        await page.getByRole('heading', { name: 'New post', level: 1 }).waitFor();
        await page.getByLabel('Title').fill('Notes on *compilers*');
        await page
          .getByLabel('Body')
          .fill('## Parsing\n\nA **bold** claim and an _aside_.\n\n- lexer\n- parser\n\n<script>alert(1)</script>');
        assert.equal(await page.getByLabel('Published (visible to everyone)').isChecked(), true);
        await page.getByRole('button', { name: 'Save post' }).click();

        await page.waitForURL(/\/posts\/\d+$/);
        const id = postIdIn(page.url());
        const article = page.getByRole('article');
        await flashes.expect(page, 'Your post is published.');
        // The title is text, not Markdown; the body is Markdown.
        assert.equal(await page.getByRole('heading', { name: 'Notes on *compilers*', level: 1 }).count(), 1);
        assert.equal(await article.getByRole('heading', { name: 'Parsing', level: 2 }).count(), 1);
        assert.equal(await article.locator('strong', { hasText: 'bold' }).count(), 1);
        assert.equal(await article.locator('em', { hasText: 'aside' }).count(), 1);
        assert.deepEqual(await article.getByRole('listitem').allTextContents(), ['lexer', 'parser']);
        assert.equal(await page.locator('main script').count(), 0);
        let row = await Post.findByPk(id);
        assert.equal(row?.title, 'Notes on *compilers*');
        assert.equal(row?.published, true);
        assert.equal((await user.reload()).postsCount, 1);

        await page.getByRole('link', { name: 'Edit' }).click();
        await page.getByRole('heading', { name: 'Edit post', level: 1 }).waitFor();
        assert.equal(await page.getByLabel('Title').inputValue(), 'Notes on *compilers*');
        await page.getByLabel('Title').fill('Notes on parsers');
        await page.getByLabel('Body').fill('Now with `code`.');
        await page.getByRole('button', { name: 'Save changes' }).click();
        await page.waitForURL(`${b.baseUrl}/posts/${id}`);
        await flashes.expect(page, 'Your changes are saved.');
        assert.equal(await page.getByRole('heading', { name: 'Notes on parsers', level: 1 }).count(), 1);
        assert.equal(await page.getByRole('article').locator('code', { hasText: 'code' }).count(), 1);
        row = await Post.findByPk(id);
        assert.equal(row?.title, 'Notes on parsers');
        assert.equal(row?.body, 'Now with `code`.');

        // Deleting takes two steps: open the confirmation, then confirm.
        const confirm = page.getByRole('button', { name: 'Yes, delete this post' });
        assert.equal(await confirm.isVisible(), false);
        await page.getByText('Delete…', { exact: true }).click();
        await confirm.click();
        await page.waitForURL(`${b.baseUrl}/posts`);
        await flashes.expect(page, '“Notes on parsers” was deleted.');
        assert.equal(await Post.findByPk(id), null);
        assert.equal((await user.reload()).postsCount, 0);
        assert.equal(await counterMismatches(b.sql), 0);
        flashes.assertAll();
      });

      test(`${js} › a post form sent empty › error summary and field messages, then fixed and saved`, async () => {
        const user = await createUser();
        const page = await newPage();
        await logIn(page, b.baseUrl, user);
        await page.goto(`${b.baseUrl}/posts/new`);
        await page.getByRole('button', { name: 'Save post' }).click();

        const summary = page.getByRole('alert').filter({ hasText: 'Please fix these problems' });
        await summary.waitFor();
        assert.deepEqual(await summary.getByRole('link').allTextContents(), [
          'Give your post a title.',
          'Write something in the body.',
        ]);
        assert.match(await mainText(page), /Error: Give your post a title\./);
        assert.match(await mainText(page), /Error: Write something in the body\./);
        assert.equal(await page.getByLabel('Title').getAttribute('aria-invalid'), 'true');
        assert.equal(await page.getByLabel('Body').getAttribute('aria-invalid'), 'true');
        assert.equal(await Post.count({ where: { authorId: user.id } }), 0);

        // A link in the summary takes you to its field.
        await summary.getByRole('link', { name: 'Write something in the body.' }).click();
        assert.equal((await focused(page))?.id, 'field-body');

        await page.getByLabel('Title').fill('Fixed it');
        await page.getByLabel('Body').fill('Body text at last.');
        await page.getByRole('button', { name: 'Save post' }).click();
        await page.waitForURL(/\/posts\/\d+$/);
        assert.equal(await page.getByRole('heading', { name: 'Fixed it', level: 1 }).count(), 1);
        assert.equal(await page.getByRole('alert').filter({ hasText: 'Please fix' }).count(), 0);
        assert.equal(await Post.count({ where: { authorId: user.id, title: 'Fixed it' } }), 1);
      });

      test(`${js} › a signup form with mistakes › 422 with each problem named, typed values kept, then fixed`, async () => {
        const page = await newPage();
        const username = randomUsername('fix');
        await page.goto(`${b.baseUrl}/signup`);
        await page.getByLabel('Username').fill('No Spaces!');
        await page.getByLabel('Email').fill('not-an-email');
        await page.getByLabel('Password').fill('short');
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/signup'),
          page.getByRole('button', { name: 'Sign up' }).click(),
        ]);
        assert.equal(response.status(), 422);

        const summary = page.getByRole('alert').filter({ hasText: 'Please fix these problems' });
        await summary.waitFor();
        assert.equal(await summary.getByRole('link').count(), 3);
        assert.match(await mainText(page), /Use 3 to 30 characters: letters, digits or underscores\./);
        assert.match(await mainText(page), /Enter an email address like name@example\.com\./);
        // Kept as typed (the username is lowercased as it is normalised).
        assert.equal((await page.getByLabel('Username').inputValue()).toLowerCase(), 'no spaces!');
        assert.equal(await page.getByLabel('Email').inputValue(), 'not-an-email');
        // A password is never sent back to the browser.
        assert.equal(await page.getByLabel('Password').inputValue(), '');
        assert.equal(await User.count({ where: { email: 'not-an-email' } }), 0);

        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Email').fill(`${username}@example.com`);
        await page.getByLabel('Password').fill('correct horse battery staple');
        await page.getByRole('button', { name: 'Sign up' }).click();
        await page.waitForURL(`${b.baseUrl}/users/${username}`);
        assert.equal(await User.count({ where: { username } }), 1);
      });

      test(`${js} › a wrong password › 401 on the login form, still logged out`, async () => {
        const user = await createUser();
        const page = await newPage();
        await page.goto(`${b.baseUrl}/login`);
        await page.getByLabel('Username or email').fill(user.username);
        await page.getByLabel('Password').fill('not-the-password');
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
          page.getByRole('button', { name: 'Log in' }).click(),
        ]);
        assert.equal(response.status(), 401);
        await page.getByRole('alert').filter({ hasText: 'Please fix this problem' }).waitFor();
        assert.match(await mainText(page), /That username or email and password do not match\./);
        assert.equal(await page.getByLabel('Username or email').inputValue(), user.username);
        assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 0);
      });

      test(`${js} › more than 20 published posts › "Older →" and "← Newer" page through them, newest first`, async () => {
        const author = await createUser();
        const tag = javaScriptEnabled ? 'jsOn' : 'jsOff';
        // A second apart and ahead of every other post (the JS-off run's a day further), so
        // these 25 are the newest on the site.
        const start = Date.now() + (javaScriptEnabled ? 1 : 2) * 86_400_000;
        await Promise.all(
          Array.from({ length: 25 }, (_, n) =>
            createPost(b.db, author, { title: `Paged ${tag} ${n + 1}`, publishedAt: new Date(start + (n + 1) * 1000) }),
          ),
        );
        const published = await Post.count({ where: { published: true } });

        const page = await newPage();
        await page.goto(b.baseUrl);
        await page.getByRole('link', { name: 'All posts →' }).click();
        await page.waitForURL(`${b.baseUrl}/posts`);
        const titles = () => page.locator('.post-summary').getByRole('heading').allTextContents();
        let shown = (await titles()).map((t) => t.trim());
        assert.equal(shown.length, 20);
        assert.equal(shown[0], `Paged ${tag} 25`);
        assert.equal(shown[19], `Paged ${tag} 6`);
        assert.equal(await page.getByRole('link', { name: '← Newer' }).count(), 0);

        // The links carry a cursor: bookmarkable, and as cheap deep in the list as at its top.
        await page.getByRole('link', { name: 'Older →' }).click();
        await page.waitForURL(/\/posts\?after=\d+-\d+$/);
        shown = (await titles()).map((t) => t.trim());
        assert.equal(shown.length, Math.min(20, published - 20));
        assert.deepEqual(
          shown.slice(0, 5),
          [5, 4, 3, 2, 1].map((i) => `Paged ${tag} ${i}`),
        );

        await page.getByRole('link', { name: '← Newer' }).click();
        await page.waitForURL(/\/posts\?before=\d+-\d+$/);
        shown = (await titles()).map((t) => t.trim());
        assert.equal(shown[0], `Paged ${tag} 25`);
        assert.equal(shown.length, 20);
        assert.equal(await page.getByRole('link', { name: '← Newer' }).count(), 0);
      });

      test(`${js} › search posts from the search box › only matching posts, query kept in the box`, async () => {
        const author = await createUser();
        // Letters only: full-text search stems words (zebras finds zebra), not words with digits.
        // Ending in "o", the plural's "s" is what the stemmer takes off (a word ending in "s"
        // would make "…ss", which it keeps), so both forms share one stem.
        const word = `zebra${Math.random().toString(36).slice(2, 8).replace(/[0-9]/g, 'q')}o`;
        await createPost(b.db, author, { title: `All about ${word}s` });
        await createPost(b.db, author, { title: 'Unrelated', body: `A ${word.toUpperCase()} in the body.` });
        await createPost(b.db, author, { title: `Draft ${word}`, published: false });
        await createPost(b.db, author, { title: 'Nothing to see' });

        const page = await newPage();
        await page.goto(`${b.baseUrl}/posts`);
        await page.getByRole('searchbox', { name: 'Search posts' }).fill(word);
        await page.getByRole('search').getByRole('button', { name: 'Search' }).click();
        await page.waitForURL((url) => url.searchParams.get('q') === word);
        await page.getByRole('heading', { name: `Posts matching “${word}”`, level: 1 }).waitFor();
        const shown = (await page.locator('.post-summary').getByRole('heading').allTextContents()).map((t) => t.trim());
        assert.deepEqual(shown.sort(), [`All about ${word}s`, 'Unrelated']);
        assert.equal(await page.getByRole('searchbox', { name: 'Search posts' }).inputValue(), word);

        await page.getByRole('searchbox', { name: 'Search posts' }).fill('qqxyzzyqq');
        await page.getByRole('searchbox', { name: 'Search posts' }).press('Enter');
        await page.waitForURL((url) => url.searchParams.get('q') === 'qqxyzzyqq');
        assert.match(await mainText(page), /No published post matches your search\./);
      });

      test(`${js} › follow a post's author link, then find them under Users › the profile lists their posts and count`, async () => {
        const name = `Margaret Hamilton ${javaScriptEnabled ? 'on' : 'off'}`;
        const author = await createUser({ displayName: name, bio: 'Wrote the Apollo software.' });
        const older = await createPost(b.db, author, { title: 'Lunar module notes' });
        await createPost(b.db, author, { title: 'Never finished', published: false });
        const page = await newPage();
        await page.goto(`${b.baseUrl}/posts/${older.id}`);
        await page.getByRole('article').getByRole('link', { name, exact: true }).click();
        await page.waitForURL(`${b.baseUrl}/users/${author.username}`);
        await page.getByRole('heading', { name, exact: true, level: 1 }).waitFor();
        const text = await mainText(page);
        assert.match(text, new RegExp(`@${author.username}`));
        assert.match(text, /Wrote the Apollo software\./);
        assert.equal(await page.getByRole('link', { name: 'Lunar module notes' }).count(), 1);
        assert.doesNotMatch(text, /Never finished/);
        // The stats count every post, drafts included; the list shows only published ones.
        assert.equal((await page.getByRole('definition').first().textContent())?.trim(), '2');
        assert.equal(await page.getByRole('link', { name: 'Edit profile' }).count(), 0);

        await page.getByRole('banner').getByRole('link', { name: 'Users', exact: true }).click();
        await page.waitForURL(`${b.baseUrl}/users`);
        await page.getByRole('searchbox', { name: 'Search by name or username' }).fill(name);
        await page.getByRole('search').getByRole('button', { name: 'Search' }).click();
        await page.waitForURL((url) => url.pathname === '/users' && url.searchParams.get('q') === name);
        assert.deepEqual(await page.getByRole('main').getByRole('listitem').getByRole('link').allTextContents(), [
          name,
        ]);
        await page.getByRole('link', { name, exact: true }).click();
        await page.waitForURL(`${b.baseUrl}/users/${author.username}`);
      });

      test(`${js} › comment on a post, edit the comment, then the post's author deletes it › shown, marked edited, gone with the count`, async () => {
        const flashes = new Flashes();
        const author = await createUser({ displayName: `Author ${js}` });
        const post = await createPost(b.db, author, { title: `Talk about this (${js})` });
        const reader = await createUser({ displayName: `Reader ${js}` });
        const page = await newPage();
        await logIn(page, b.baseUrl, reader);
        await page.goto(`${b.baseUrl}/posts/${post.id}`);
        await page.getByText('No comments yet.').waitFor();

        await page.getByLabel('Your comment').fill('A first thought.\n\n<em>Still</em> plain text.');
        await page.getByRole('button', { name: 'Post comment' }).click();
        await page.waitForURL(/\/posts\/\d+#comment-\d+$/);
        await flashes.expect(page, 'Your comment is posted.');
        const commentId = Number(/#comment-(\d+)$/.exec(page.url())?.[1]);
        const comment = page.locator(`#comment-${commentId}`);
        assert.equal(
          await comment.locator('.comment-body').textContent(),
          'A first thought.\n\n<em>Still</em> plain text.',
        );
        assert.equal(await page.getByRole('heading', { name: '1 comment', level: 2 }).count(), 1);

        await comment.getByRole('link', { name: 'Edit your comment' }).click();
        await page.getByRole('heading', { name: 'Edit your comment', level: 1 }).waitFor();
        await page.getByLabel('Your comment').fill('A second thought.');
        await page.getByRole('button', { name: 'Save comment' }).click();
        await page.waitForURL(new RegExp(`/posts/${post.id}#comment-${commentId}$`));
        await flashes.expect(page, 'Your comment is saved.');
        assert.equal(await comment.locator('.comment-body').textContent(), 'A second thought.');
        assert.match((await comment.locator('.meta').textContent()) ?? '', /edited/);

        const owner = await newPage();
        await logIn(owner, b.baseUrl, author);
        await owner.goto(`${b.baseUrl}/posts/${post.id}`);
        await owner.getByText(`Delete the comment by Reader ${js}…`).click();
        await owner.getByRole('button', { name: 'Yes, delete this comment' }).click();
        await owner.waitForURL(new RegExp(`/posts/${post.id}#comments-title$`));
        await flashes.expect(owner, 'The comment was deleted.');
        assert.equal(await owner.locator(`#comment-${commentId}`).count(), 0);
        assert.equal((await Post.findByPk(post.id))?.commentsCount, 0);
        assert.equal(await counterMismatches(b.sql), 0);
        flashes.assertAll();
      });

      test(`${js} › tag a post, follow its tag, search within the tag › the tag page lists it, the search finds only tagged posts`, async () => {
        const tag = `flow-${javaScriptEnabled ? 'on' : 'off'}-${Date.now().toString(36)}`;
        const writer = await createUser();
        await createPost(b.db, writer, { title: `Untagged sourdough (${js})`, body: 'Sourdough without a tag.' });
        const page = await newPage();
        await logIn(page, b.baseUrl, writer);
        await page.getByRole('link', { name: 'Write a post' }).click();
        await page.getByLabel('Title').fill(`Tagged sourdough (${js})`);
        await page.getByLabel('Body').fill('Sourdough, with a tag.');
        await page.getByLabel('Tags (optional)').fill(`${tag.toUpperCase()}, baking`);
        await page.getByRole('button', { name: 'Save post' }).click();
        await page.waitForURL(/\/posts\/\d+$/);

        const tags = page.getByRole('list', { name: 'Tags' });
        assert.deepEqual(await tags.getByRole('link').allTextContents(), ['baking', tag]);
        await tags.getByRole('link', { name: tag }).click();
        await page.waitForURL(`${b.baseUrl}/tags/${tag}`);
        assert.equal(await page.getByRole('heading', { name: `Posts tagged “${tag}”`, level: 1 }).count(), 1);
        assert.equal(await page.getByRole('link', { name: `Tagged sourdough (${js})` }).count(), 1);

        await page.getByRole('searchbox', { name: `Search posts tagged ${tag}` }).fill('sourdough');
        await page.getByRole('button', { name: 'Search' }).click();
        await page.waitForURL(/\/posts\?q=sourdough/);
        assert.equal(await page.getByRole('link', { name: `Tagged sourdough (${js})` }).count(), 1);
        assert.equal(await page.getByRole('link', { name: `Untagged sourdough (${js})` }).count(), 0);
        assert.equal(await counterMismatches(b.sql), 0);
      });

      test(`${js} › an admin deletes another member's post › gone for everyone, the author's counter drops`, async () => {
        const flashes = new Flashes();
        const author = await createUser();
        const post = await createPost(b.db, author, { title: 'Spam, spam, spam' });
        const keep = await createPost(b.db, author, { title: 'A keeper' });
        assert.equal((await author.reload()).postsCount, 2);

        // Another member sees no way to edit or delete it.
        const member = await newPage();
        await logIn(member, b.baseUrl, await createUser());
        await member.goto(`${b.baseUrl}/posts/${post.id}`);
        assert.equal(await member.getByRole('link', { name: 'Edit' }).count(), 0);
        assert.equal(await member.getByText('Delete…', { exact: true }).count(), 0);

        const admin = await newPage();
        await logIn(admin, b.baseUrl, await createUser({ role: 'admin' }));
        await admin.goto(`${b.baseUrl}/posts/${post.id}`);
        await admin.getByText('Delete…', { exact: true }).click();
        await admin.getByRole('button', { name: 'Yes, delete this post' }).click();
        await admin.waitForURL(`${b.baseUrl}/posts`);
        await flashes.expect(admin, '“Spam, spam, spam” was deleted.');

        assert.equal(await Post.findByPk(post.id), null);
        assert.ok(await Post.findByPk(keep.id));
        assert.equal((await author.reload()).postsCount, 1);
        const gone = await member.goto(`${b.baseUrl}/posts/${post.id}`);
        assert.equal(gone?.status(), 404);
        flashes.assertAll();
      });
    });
  }

  // A person who forgot their password gets back in by mail: the app's own sender delivers
  // the outbox to a real SMTP server, and the person opens the links from the mails.
  describe('account recovery by mail', () => {
    let smtp: TestSmtp;
    let sender: MailSender;
    before(async () => {
      smtp = await startSmtp();
      sender = startTestSender(b.db, smtp);
    });
    after(async () => {
      await sender?.stop();
      await smtp?.stop();
    });

    for (const javaScriptEnabled of [true, false]) {
      const js = javaScriptEnabled ? 'JS on' : 'JS off';

      test(`${js} › sign up, confirm the address from the mail, forget the password, reset it from the mail › logs in with the new one`, async () => {
        const flashes = new Flashes();
        const page = await b.newPage({ javaScriptEnabled });
        const username = randomUsername('mail');
        const email = `${username}@example.com`;
        const newPassword = 'a brand new passphrase of mine';

        await page.goto(`${b.baseUrl}/signup`);
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill('correct horse battery staple');
        await page.getByLabel('Display name').fill('Katherine Johnson');
        await page.getByRole('button', { name: 'Sign up' }).click();
        await page.waitForURL(`${b.baseUrl}/users/${username}`);
        await flashes.expect(page, `We sent a link to ${email}`);
        assert.match(await mainText(page), /Email address not confirmed yet\./);

        // The confirmation mail: its link shows a page with a button; opening it changes nothing.
        const welcome = await smtp.waitForMail(email, { subject: /Confirm your address/, withinMs: 20_000 });
        const confirmLink = linkIn(welcome);
        assert.equal(confirmLink.origin, b.baseUrl);
        assert.match(confirmLink.pathname, /^\/email\/confirm\/[A-Za-z0-9_-]{43}$/);
        await page.goto(confirmLink.href);
        await page.getByRole('heading', { name: 'Confirm your address', level: 1 }).waitFor();
        assert.match(await mainText(page), new RegExp(`Confirm ${email} as the address of the account @${username}`));
        assert.equal((await User.findOne({ where: { username }, rejectOnEmpty: true })).emailConfirmedAt, null);
        await page.getByRole('button', { name: 'Yes, confirm it' }).click();
        await page.waitForURL(`${b.baseUrl}/users/${username}`);
        await flashes.expect(page, `The address ${email} is confirmed for @${username}.`);
        assert.match(await mainText(page), /Email address confirmed\./);
        assert.ok((await User.findOne({ where: { username }, rejectOnEmpty: true })).emailConfirmedAt);

        await page.getByRole('button', { name: 'Log out' }).click();
        await page.waitForURL(`${b.baseUrl}/`);
        await page.getByRole('banner').getByRole('link', { name: 'Log in' }).click();
        await page.getByRole('link', { name: 'Forgot your password?' }).click();
        await page.getByRole('heading', { name: 'Forgot your password?', level: 1 }).waitFor();
        await page.getByLabel('Email').fill(email);
        await page.getByRole('button', { name: 'Send the link' }).click();
        await page.waitForURL(`${b.baseUrl}/login`);
        await flashes.expect(page, `If an account uses ${email}, we have sent it a link to set a new password.`);

        const reset = await smtp.waitForMail(email, { subject: /Set a new password/, withinMs: 20_000 });
        const resetLink = linkIn(reset);
        assert.equal(resetLink.origin, b.baseUrl);
        assert.match(resetLink.pathname, /^\/password\/reset\/[A-Za-z0-9_-]{43}$/);
        await page.goto(resetLink.href);
        await page.getByRole('heading', { name: 'Set a new password', level: 1 }).waitFor();
        assert.match(await mainText(page), new RegExp(`For the account @${username}\\.`));
        await page.getByLabel('New password').fill(newPassword);
        await page.getByRole('button', { name: 'Set the password' }).click();
        await page.waitForURL(`${b.baseUrl}/login`);
        await flashes.expect(page, 'Your new password is set');

        // The old password no longer works; the new one does.
        await page.getByLabel('Username or email').fill(username);
        await page.getByLabel('Password').fill('correct horse battery staple');
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('alert').filter({ hasText: 'Please fix this problem' }).waitFor();
        await page.getByLabel('Username or email').fill(username);
        await page.getByLabel('Password').fill(newPassword);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.waitForURL((url) => url.pathname !== '/login');
        await page.getByRole('button', { name: 'Log out' }).waitFor();
        await flashes.expect(page, 'Welcome back, Katherine Johnson.');

        // Each link works once.
        const used = await page.goto(resetLink.href);
        assert.equal(used?.status(), 410);
        flashes.assertAll();
      });
    }
  });
});
