import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Post, Tag, type User } from '../../src/models/index.js';
import { TAGS_PAGE_SIZE } from '../../src/services/tags.service.js';
import { useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser, hex, PASSWORD } from '../support/factories.js';
import { counterMismatches } from '../support/sql.js';

const t = useTestApp();

const loggedIn = (user: User): Promise<Visitor> => Visitor.loggedIn(t, user);
/** A tag name no other test uses. */
const fresh = (word: string): string => `${word}-${hex(3)}`;
const countOf = async (name: string): Promise<number | undefined> =>
  (await Tag.findOne({ where: { name } }))?.postsCount;
const tagsOf = async (postId: number): Promise<string[]> => {
  const post = await Post.findByPk(postId, { include: [{ model: Tag, as: 'tags' }] });
  return (post?.tags ?? []).map((tag) => tag.name).sort();
};
const unescape = (href: string): string => href.replace(/&amp;/g, '&');
const titlesIn = (html: string): string[] =>
  [...html.matchAll(/<h([23])><a href="\/posts\/\d+">([^<]*)<\/a><\/h\1>/g)].map((m) => m[2]!);

describe('tags on the post form', () => {
  let author: User;
  let browser: Visitor;
  before(async () => {
    author = await createUser();
    browser = await loggedIn(author);
  });

  test('names with spaces, capitals and a repeat › stored trimmed, lowercased, once; shown as links', async () => {
    const [a, b] = [fresh('cooking'), fresh('weeknight-meals')];
    const res = await browser.submit('POST', '/posts', {
      title: 'Tagged',
      body: 'Body',
      published: 'on',
      tags: ` ${a.toUpperCase()} ,${b}, ${a},, `,
    });
    assert.equal(res.status, 303);
    const id = Number(/\/posts\/(\d+)$/.exec(String(res.headers.location))?.[1]);
    assert.deepEqual(await tagsOf(id), [a, b].sort());
    assert.equal(await countOf(a), 1);
    const page = await new Visitor(t).get(`/posts/${id}`);
    assert.match(page.body, new RegExp(`<a href="/tags/${a}" class="tag" rel="tag">${a}</a>`));
    assert.match(page.body, new RegExp(`<a href="/tags/${b}" class="tag" rel="tag">${b}</a>`));
    const edit = await browser.get(`/posts/${id}/edit`);
    assert.match(edit.body, new RegExp(`name="tags" type="text" value="${[a, b].sort().join(', ')}"`));
  });

  for (const [what, tags, message] of [
    ['six tags', 'a1, a2, a3, a4, a5, a6', /Use at most 5 tags\./],
    ['a tag with a space', 'web dev, ok', /“web dev” is not a tag/],
    ['a tag with an accent', 'naïve', /“naïve” is not a tag/],
    ['a tag of 31 characters', 'x'.repeat(31), /is not a tag: use 1 to 30 of a–z, 0–9 and -/],
    ['a tag with an underscore', 'snake_case', /“snake_case” is not a tag/],
  ] as const) {
    test(`${what} › 422 with the message at the field, what was typed kept, nothing written`, async () => {
      const title = `Refused ${hex()}`;
      const res = await browser.submit('POST', '/posts', { title, body: 'Body', published: 'on', tags });
      assert.equal(res.status, 422);
      assert.match(res.body, message);
      assert.match(res.body, /id="field-tags"[^>]*aria-invalid="true"/);
      assert.ok(res.body.includes(`value="${tags}"`), 'the typed tags are not kept');
      assert.equal(await Post.count({ where: { title } }), 0);
    });
  }

  test('exactly 5 tags of 30 characters › accepted', async () => {
    const tags = Array.from({ length: 5 }, (_, i) => `${i}${hex(3)}`.padEnd(30, 'z'));
    const res = await browser.submit('POST', '/posts', {
      title: 'Five',
      body: 'B',
      published: 'on',
      tags: tags.join(','),
    });
    assert.equal(res.status, 303);
  });

  test('editing the tags › the post carries exactly the new ones; the counts follow', async () => {
    const [keep, drop, add] = [fresh('keep'), fresh('drop'), fresh('add')];
    const post = await createPost(t.db, author, { tags: [keep, drop] });
    const res = await browser.submit('PUT', `/posts/${post.id}`, {
      title: post.title,
      body: post.body,
      published: 'on',
      tags: `${keep}, ${add}`,
    });
    assert.equal(res.status, 303);
    assert.deepEqual(await tagsOf(post.id), [add, keep].sort());
    assert.deepEqual([await countOf(keep), await countOf(drop), await countOf(add)], [1, 0, 1]);
    assert.equal(await counterMismatches(t.sql), 0);
  });

  test('a draft, published later, then taken back › counted only while published', async () => {
    const name = fresh('draftish');
    const draft = await createPost(t.db, author, { published: false, tags: [name] });
    assert.equal(await countOf(name), 0);
    const form = { title: draft.title, body: draft.body, tags: name };
    assert.equal((await browser.submit('PUT', `/posts/${draft.id}`, { ...form, published: 'on' })).status, 303);
    assert.equal(await countOf(name), 1);
    assert.equal((await new Visitor(t).get(`/tags/${name}`)).body.includes(draft.title), true);
    assert.equal((await browser.submit('PUT', `/posts/${draft.id}`, form)).status, 303);
    assert.equal(await countOf(name), 0);
    // A tag without published posts still has its page, saying so.
    const empty = await new Visitor(t).get(`/tags/${name}`);
    assert.equal(empty.status, 200);
    assert.equal(empty.body.includes(draft.title), false);
    assert.match(empty.body, /0 published posts/);
    assert.match(empty.body, /No published post carries this tag now\./);
    assert.equal(await counterMismatches(t.sql), 0);
  });

  test('a post deleted, then its author’s account › the counts drop with them', async () => {
    const name = fresh('gone');
    const writer = await createUser();
    const first = await createPost(t.db, writer, { tags: [name] });
    await createPost(t.db, writer, { tags: [name] });
    const own = await loggedIn(writer);
    assert.equal(await countOf(name), 2);
    assert.equal((await own.submit('DELETE', `/posts/${first.id}`)).status, 303);
    assert.equal(await countOf(name), 1);
    const removed = await own.submit('DELETE', `/users/${writer.username}`, { currentPassword: PASSWORD });
    assert.equal(removed.status, 303);
    assert.equal(await countOf(name), 0);
    assert.equal(await counterMismatches(t.sql), 0);
  });

  test('two posts making one new tag at once › both saved, one tag, counted twice', async () => {
    const name = fresh('race');
    const [one, two] = await Promise.all([loggedIn(await createUser()), loggedIn(await createUser())]);
    const tokens = await Promise.all([one.csrfToken(), two.csrfToken()]);
    const answers = await Promise.all(
      [one, two].map((visitor, i) =>
        visitor.submit(
          'POST',
          '/posts',
          { title: `Race ${i}`, body: 'B', published: 'on', tags: name },
          { csrf: tokens[i] },
        ),
      ),
    );
    assert.deepEqual(
      answers.map((res) => res.status),
      [303, 303],
    );
    assert.equal(await Tag.count({ where: { name } }), 1);
    assert.equal(await countOf(name), 2);
  });

  test('posts sharing tags, published and tagged at the same moment › no deadlock, every count exact', async () => {
    const names = [fresh('x'), fresh('y'), fresh('z')];
    const writers = await Promise.all(Array.from({ length: 8 }, () => createUser()));
    const drafts = await Promise.all(writers.map((w) => createPost(t.db, w, { published: false, tags: names })));
    // Each publication outside any transaction of the app's, as an admin's SQL would be.
    await Promise.all([
      ...drafts.map((draft) => draft.update({ published: true, publishedAt: new Date() })),
      ...writers.map((w) => createPost(t.db, w, { tags: [...names].reverse() })),
    ]);
    assert.deepEqual(await Promise.all(names.map(countOf)), [16, 16, 16]);
    assert.equal(await counterMismatches(t.sql), 0);
  });

  test('the database refuses a malformed tag name (23514) and a post tagged twice with one tag (23505)', async () => {
    await assert.rejects(
      t.sql.query(`INSERT INTO tags (name) VALUES ('Not Valid')`),
      (e: { code?: string }) => e.code === '23514',
    );
    const post = await createPost(t.db, author, { tags: [fresh('once')] });
    await assert.rejects(
      t.sql.query(`INSERT INTO post_tags (post_id, tag_id) SELECT post_id, tag_id FROM post_tags WHERE post_id = $1`, [
        post.id,
      ]),
      (e: { code?: string }) => e.code === '23505',
    );
  });
});

describe('GET /tags/:name', () => {
  const name = fresh('paged');
  before(async () => {
    const writer = await createUser();
    const start = Date.UTC(2026, 0, 1);
    for (let i = 1; i <= 25; i++) {
      const post = await createPost(t.db, writer, { title: `Tagged post ${i}`, tags: [name, 'other'] });
      await post.update({ publishedAt: new Date(start + i * 60_000) });
    }
    await createPost(t.db, writer, { title: 'Tagged draft', published: false, tags: [name] });
    await createPost(t.db, writer, { title: 'Untagged post' });
  });

  test('the first page › 20 published posts with the tag, newest first, a link to the older ones', async () => {
    const res = await new Visitor(t).get(`/tags/${name}`);
    assert.equal(res.status, 200);
    assert.match(res.body, new RegExp(`<h1>Posts tagged “${name}”</h1>`));
    assert.match(res.body, /25 published posts/);
    const titles = titlesIn(res.body);
    assert.deepEqual(
      titles,
      Array.from({ length: 20 }, (_, i) => `Tagged post ${25 - i}`),
    );
    assert.match(
      res.body,
      new RegExp(`<link rel="alternate" type="application/atom\\+xml"[^>]*href="/tags/${name}/posts.atom"`),
    );
    const next = /href="([^"]+)" rel="next"/.exec(res.body)?.[1];
    assert.ok(next);
    const older = await new Visitor(t).get(unescape(next));
    assert.deepEqual(titlesIn(older.body), [
      'Tagged post 5',
      'Tagged post 4',
      'Tagged post 3',
      'Tagged post 2',
      'Tagged post 1',
    ]);
  });

  test('the name in capitals › the same page', async () => {
    const res = await new Visitor(t).get(`/tags/${name.toUpperCase()}`);
    assert.equal(res.status, 200);
    assert.equal(titlesIn(res.body).length, 20);
  });

  for (const path of [
    '/tags/no-such-tag-here',
    '/tags/not%20a%20tag',
    `/tags/${'x'.repeat(31)}`,
    `/tags/${name}?after=abc`,
    // Past its oldest post: as past the end of any list.
    `/tags/${name}?after=1-1`,
  ]) {
    test(`${path} › 404`, async () => {
      assert.equal((await new Visitor(t).get(path)).status, 404);
    });
  }

  test('its Atom feed › the newest tagged posts, no draft, no untagged post', async () => {
    const res = await new Visitor(t).get(`/tags/${name}/posts.atom`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/atom\+xml/);
    const titles = [...res.body.matchAll(/<entry>[\s\S]*?<title[^>]*>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?<\/title>/g)].map(
      (m) => m[1],
    );
    assert.equal(titles.length, 20);
    assert.equal(titles[0], 'Tagged post 25');
    assert.ok(!titles.includes('Tagged draft') && !titles.includes('Untagged post'));
  });
});

describe('GET /tags', () => {
  test('the tags of published posts › most used first, then by name; unused ones left out; paged', async () => {
    const writer = await createUser();
    const prefix = `t${hex(2)}`;
    // 26 posts of 5 tags: 105 tags, the first used by every post, the rest by one each.
    for (let p = 0; p < 26; p++) {
      const names = [
        `${prefix}-top`,
        ...Array.from({ length: 4 }, (_, i) => `${prefix}-${String(p * 4 + i).padStart(3, '0')}`),
      ];
      await createPost(t.db, writer, { tags: names });
    }
    await createPost(t.db, writer, { published: false, tags: [`${prefix}-unused`] });
    const browser = new Visitor(t);
    const first = await browser.get('/tags');
    assert.equal(first.status, 200);
    const shown = (html: string): string[] =>
      [...html.matchAll(/<a href="\/tags\/([a-z0-9-]+)" class="tag" rel="tag">/g)].map((m) => m[1]!);
    const firstNames = shown(first.body);
    assert.equal(firstNames.length, TAGS_PAGE_SIZE);
    const mine = firstNames.filter((n) => n.startsWith(prefix));
    assert.equal(mine[0], `${prefix}-top`);
    assert.deepEqual(mine.slice(1), [...mine.slice(1)].sort());
    assert.match(first.body, new RegExp(`${prefix}-top</a> <span class="count">26 posts</span>`));
    const all = [...firstNames];
    let next = /href="([^"]+)" rel="next"/.exec(first.body)?.[1];
    while (next) {
      const page = await browser.get(unescape(next));
      assert.equal(page.status, 200);
      all.push(...shown(page.body));
      next = /href="([^"]+)" rel="next"/.exec(page.body)?.[1];
    }
    assert.equal(new Set(all).size, all.length, 'a tag shown twice');
    assert.ok(all.includes(`${prefix}-103`));
    assert.ok(!all.includes(`${prefix}-unused`));
  });

  test('a malformed cursor › 404', async () => {
    assert.equal((await new Visitor(t).get('/tags?after=abc')).status, 404);
    assert.equal((await new Visitor(t).get('/tags?after=1-a&before=1-b')).status, 404);
  });
});

describe('search narrowed to a tag', () => {
  const name = fresh('garden');
  let tagged: Post;
  let untagged: Post;
  before(async () => {
    const writer = await createUser();
    tagged = await createPost(t.db, writer, { title: 'Tomato blight notes', tags: [name] });
    untagged = await createPost(t.db, writer, { title: 'Tomato soup' });
  });

  const ids = (html: string): number[] => [...html.matchAll(/<h2><a href="\/posts\/(\d+)">/g)].map((m) => Number(m[1]));

  test('?q=&tag= › only the matches carrying the tag, in either order; the page says so and links to all', async () => {
    for (const order of ['', 'newest']) {
      const res = await new Visitor(t).get(`/posts?q=tomato&tag=${name}&order=${order}`);
      assert.equal(res.status, 200);
      assert.deepEqual(ids(res.body), [tagged.id]);
      assert.match(res.body, new RegExp(`<h1>Posts tagged “${name}” matching “tomato”</h1>`));
      assert.match(res.body, /<input type="hidden" name="tag" value="[a-z0-9-]+">/);
      assert.match(res.body, /href="\/posts\?q=tomato[^"]*">Search all posts<\/a>/);
    }
    const all = await new Visitor(t).get('/posts?q=tomato');
    assert.deepEqual(ids(all.body).sort(), [tagged.id, untagged.id].sort());
  });

  test('a tag no post ever had › no result, not an error', async () => {
    const res = await new Visitor(t).get('/posts?q=tomato&tag=never-used-tag');
    assert.equal(res.status, 200);
    assert.match(res.body, /No published post matches your search\./);
  });

  test('a malformed tag › 404; a tag without a search › its page', async () => {
    assert.equal((await new Visitor(t).get('/posts?q=tomato&tag=not%20a%20tag')).status, 404);
    const res = await new Visitor(t).get(`/posts?tag=${name}`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `/tags/${name}`);
  });

  test('a tag’s page › a search box that searches within the tag', async () => {
    const res = await new Visitor(t).get(`/tags/${name}`);
    assert.match(res.body, /<form class="search" method="get" action="\/posts" role="search">/);
    assert.match(res.body, new RegExp(`<input type="hidden" name="tag" value="${name}">`));
  });
});
