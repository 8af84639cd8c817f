// A post's HTML and excerpt are made when it is saved and read as stored; a post the current
// renderer has not stored (rendered_with behind) is rendered on read until `npm run
// posts:render` stores it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { RENDERER_VERSION, renderMarkdown, toExcerpt } from '../../src/rendering/markdown.js';
import { useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser } from '../support/factories.js';
import { ROOT } from '../support/server.js';

const t = useTestApp();

const BODY = 'Some **bold** words, a [link](https://example.com/a), and `x < 10 && y > 3`.\n\nA second paragraph.';

interface Stored {
  body_html: string | null;
  excerpt: string | null;
  rendered_with: number;
  updated_at: Date;
}

async function stored(id: number): Promise<Stored> {
  const { rows } = await t.sql.query<Stored>(
    'SELECT body_html, excerpt, rendered_with, updated_at FROM posts WHERE id = $1',
    [id],
  );
  return rows[0]!;
}

/** A post as a bulk load or an older renderer leaves it: nothing stored for the current renderer. */
async function makeStale(id: number): Promise<void> {
  await t.sql.query('UPDATE posts SET body_html = NULL, excerpt = NULL, rendered_with = 0 WHERE id = $1', [id]);
}

async function renderCommand(): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/render-posts.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: t.url, NODE_ENV: 'development' },
  });
  return stdout;
}

describe('stored HTML and excerpts', () => {
  test('POST /posts › the HTML and the excerpt are stored with the renderer version', async () => {
    const author = await createUser();
    const browser = await Visitor.loggedIn(t, author);
    const res = await browser.submit('POST', '/posts', { title: 'Stored at save', body: BODY, published: 'on' });
    assert.equal(res.status, 303);
    const id = Number(/\/posts\/(\d+)$/.exec(String(res.headers.location))?.[1]);
    const row = await stored(id);
    assert.equal(row.rendered_with, RENDERER_VERSION);
    assert.equal(row.body_html, renderMarkdown(BODY));
    assert.equal(row.excerpt, toExcerpt(BODY));
  });

  test('PUT /posts/:id › a new body stores new HTML and a new excerpt', async () => {
    const author = await createUser();
    const post = await createPost(t.db, author, { title: 'To be edited' });
    const res = await (
      await Visitor.loggedIn(t, author)
    ).submit('PUT', `/posts/${post.id}`, {
      title: 'Edited',
      body: 'An *entirely* new body.',
      published: 'on',
    });
    assert.equal(res.status, 303);
    const row = await stored(post.id);
    assert.equal(row.body_html, '<p>An <em>entirely</em> new body.</p>\n');
    assert.equal(row.excerpt, 'An entirely new body.');
  });

  test('a post page, its list entry and the feed › read as stored, not rendered again', async () => {
    const author = await createUser();
    const post = await createPost(t.db, author, { title: 'Read as stored', body: BODY });
    // What is stored is what is shown: a stored text the body could not give proves it.
    await t.sql.query(
      `UPDATE posts SET body_html = '<p>Stored HTML marker</p>', excerpt = 'Stored excerpt marker' WHERE id = $1`,
      [post.id],
    );
    const visitor = new Visitor(t);
    assert.match((await visitor.get(`/posts/${post.id}`)).body, /<p>Stored HTML marker<\/p>/);
    assert.match(
      (await visitor.get(`/users/${author.username}`)).body,
      /<p class="excerpt">Stored excerpt marker<\/p>/,
    );
    assert.match((await visitor.get(`/users/${author.username}/posts.atom`)).body, /Stored HTML marker/);
  });

  test('a post the current renderer has not stored › its page, list entry and feed made from its body', async () => {
    const author = await createUser();
    const post = await createPost(t.db, author, { title: 'Stale post', body: BODY });
    await makeStale(post.id);
    const visitor = new Visitor(t);
    const page = (await visitor.get(`/posts/${post.id}`)).body;
    assert.ok(page.includes(renderMarkdown(BODY).trim()), 'the page does not show the body rendered');
    const profile = (await visitor.get(`/users/${author.username}`)).body;
    assert.match(
      profile,
      /<p class="excerpt">Some bold words, a link, and x &lt; 10 &amp;&amp; y &gt; 3\. A second paragraph\.<\/p>/,
    );
    assert.match((await visitor.get(`/users/${author.username}/posts.atom`)).body, /<strong>bold<\/strong>/);
    // Reading stores nothing: the command does.
    assert.equal((await stored(post.id)).rendered_with, 0);
  });

  test('npm run posts:render › stores every stale post, leaves updated_at alone, then has nothing left to do', async () => {
    const author = await createUser();
    const posts = [];
    for (let i = 0; i < 3; i++)
      posts.push(await createPost(t.db, author, { title: `Batch ${i}`, body: `Body *${i}*.` }));
    for (const post of posts) await makeStale(post.id);
    const before = await Promise.all(posts.map((post) => stored(post.id)));

    const first = await renderCommand();
    const count = Number(/Stored the HTML and excerpt of (\d+) posts/.exec(first)?.[1]);
    assert.ok(count >= 3, first);
    for (const [i, post] of posts.entries()) {
      const row = await stored(post.id);
      assert.equal(row.rendered_with, RENDERER_VERSION);
      assert.equal(row.body_html, `<p>Body <em>${i}</em>.</p>\n`);
      assert.equal(row.excerpt, `Body ${i}.`);
      assert.equal(row.updated_at.getTime(), before[i]!.updated_at.getTime(), 'rendering is not an edit');
    }
    // Then vacuumed: every page of posts all-visible again, as index-only scans need.
    const pages = await t.sql.query<{ pages: number; visible: number }>(
      `SELECT relpages AS pages, relallvisible AS visible FROM pg_class WHERE relname = 'posts'`,
    );
    assert.ok(pages.rows[0]!.pages > 0);
    assert.equal(pages.rows[0]!.visible, pages.rows[0]!.pages);
    assert.match(await renderCommand(), /Stored the HTML and excerpt of 0 posts/);
    const { rows } = await t.sql.query('SELECT 1 FROM posts WHERE rendered_with <> $1', [RENDERER_VERSION]);
    assert.equal(rows.length, 0);
  });

  test('the database › refuses a post marked rendered without its HTML or excerpt', async () => {
    const post = await createPost(t.db, await createUser(), { title: 'Constraint' });
    await assert.rejects(
      t.sql.query('UPDATE posts SET body_html = NULL, rendered_with = 1 WHERE id = $1', [post.id]),
      /check constraint/,
    );
  });
});
