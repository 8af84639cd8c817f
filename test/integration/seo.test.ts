// What search engines and link previews read of a page: its title and description, the
// canonical URL, the order of its headings, and Open Graph and Twitter card tags on posts
// and profiles (never on drafts or error pages), every value escaped.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { DomUtils, parseDocument } from 'htmlparser2';
import type { Post, User } from '../../src/models/index.js';
import { serveApp, useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createComment, createPost, createUser, hex } from '../support/factories.js';

const t = useTestApp();
const PUBLIC_URL = 'https://posts.example.org';

interface Head {
  title: string;
  descriptions: string[];
  canonicals: string[];
  /** Every <meta property=…> and <meta name=twitter:…>, by name: its content, as a browser reads it. */
  meta: Map<string, string[]>;
  /** The page's headings' levels, in document order. */
  headings: number[];
}

/** What a page's markup says, parsed as a browser would (entities decoded). */
function headOf(html: string): Head {
  const document = parseDocument(html, { decodeEntities: true });
  const elements = (name: string) => DomUtils.getElementsByTagName(name, document);
  const meta = new Map<string, string[]>();
  for (const element of elements('meta')) {
    const key = element.attribs.property ?? element.attribs.name;
    if (!key || !/^(og:|article:|profile:|twitter:)/.test(key)) continue;
    meta.set(key, [...(meta.get(key) ?? []), element.attribs.content ?? '']);
  }
  return {
    title: DomUtils.textContent(elements('title')[0]!),
    descriptions: elements('meta')
      .filter((element) => element.attribs.name === 'description')
      .map((element) => element.attribs.content ?? ''),
    canonicals: elements('link')
      .filter((element) => element.attribs.rel === 'canonical')
      .map((element) => element.attribs.href ?? ''),
    meta,
    headings: DomUtils.findAll((element) => /^h[1-6]$/.test(element.name), document.children).map((element) =>
      Number(element.name[1]),
    ),
  };
}

/** Whether the headings start at one h1 and never skip a level going down. */
function headingProblems(levels: number[]): string | undefined {
  if (levels[0] !== 1) return `starts at h${levels[0]}`;
  if (levels.filter((level) => level === 1).length > 1) return 'more than one h1';
  for (let i = 1; i < levels.length; i++) {
    if (levels[i]! > levels[i - 1]! + 1) return `h${levels[i - 1]} then h${levels[i]}`;
  }
  return undefined;
}

let author: User;
let post: Post;
let tag: string;
let origin: string;

let setUp: Promise<void> | undefined;
/** The posts, people and tag the pages show: made once, by whichever suite comes first. */
const seeded = (): Promise<void> => (setUp ??= seed());

async function seed(): Promise<void> {
  origin = `http://127.0.0.1:${t.port}`;
  tag = `seo-${hex(3)}`;
  author = await createUser({ displayName: 'Search Engine Writer', bio: 'Writes about   being found.\nOften.' });
  post = await createPost(t.db, author, {
    title: 'How search engines find a post',
    body: 'The **first lines** of a post are what a link to it shows.\n\nMore after that.',
    tags: [tag],
  });
  const reader = await createUser();
  await createComment(t.db, post, reader, 'A comment under it.');
  // Enough posts for /posts, the tag and the profile to page.
  for (let i = 0; i < 21; i++) await createPost(t.db, author, { title: `Filler ${i}`, tags: [tag] });
}

describe('every page: a title, a description, a canonical URL, headings in order', () => {
  before(seeded);
  const pages: [string, () => string][] = [
    ['home', () => '/'],
    ['posts', () => '/posts'],
    ['posts, a later page', () => '/posts?page=2'],
    ['a post', () => `/posts/${post.id}`],
    ['a profile', () => `/users/${author.username}`],
    ['tags', () => '/tags'],
    ['a tag', () => `/tags/${tag}`],
    ['users', () => '/users'],
    ['a search', () => '/posts?q=search'],
    ['log in', () => '/login'],
    ['sign up', () => '/signup'],
    ['forgotten password', () => '/password/forgot'],
  ];
  for (const [name, pathOf] of pages) {
    test(`${name} › one meaningful title and description, one canonical link, no heading skipped`, async () => {
      const path = pathOf();
      const res = await new Visitor(t).get(path);
      assert.equal(res.status, 200, path);
      const head = headOf(res.body);
      assert.match(head.title, /\S · Users and posts$/);
      assert.equal(head.descriptions.length, 1);
      assert.ok(head.descriptions[0]!.length >= 20, `a description of some length: “${head.descriptions[0]}”`);
      assert.equal(head.canonicals.length, 1);
      assert.ok(head.canonicals[0]!.startsWith(`${origin}/`), head.canonicals[0]);
      assert.equal(headingProblems(head.headings), undefined, `${path}: headings ${head.headings.join(' ')}`);
    });
  }

  test('a post › its excerpt as the description, its own URL as canonical', async () => {
    const head = headOf((await new Visitor(t).get(`/posts/${post.id}`)).body);
    assert.deepEqual(head.descriptions, ['The first lines of a post are what a link to it shows. More after that.']);
    assert.deepEqual(head.canonicals, [`${origin}/posts/${post.id}`]);
  });

  test('a profile › its bio as the description; without one, a sentence of its dates', async () => {
    const head = headOf((await new Visitor(t).get(`/users/${author.username}`)).body);
    assert.deepEqual(head.descriptions, ['Writes about being found. Often.']);
    const quiet = await createUser({ displayName: 'Quiet Reader' });
    const month = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
    const quietHead = headOf((await new Visitor(t).get(`/users/${quiet.username}`)).body);
    assert.deepEqual(quietHead.descriptions, [
      `Quiet Reader writes on Users and posts, a member since ${month.format(quiet.createdAt)}.`,
    ]);
  });

  test('the canonical URL › the name in its own case, only the query that chooses the content, in one order', async () => {
    const next = /href="([^"]+)" rel="next"/.exec((await new Visitor(t).get('/posts')).body)?.[1];
    assert.ok(next);
    const after = new URL(next.replace(/&amp;/g, '&'), origin).searchParams.get('after')!;
    for (const [path, canonical] of [
      [`/users/${author.username.toUpperCase()}?utm_source=chat`, `/users/${author.username}`],
      [`/tags/${tag.toUpperCase()}`, `/tags/${tag}`],
      [`/posts?after=${after}&ref=x`, `/posts?after=${after}`],
      ['/posts?order=newest&utm_medium=x&q=search', '/posts?q=search&order=newest'],
      [`/posts/${post.id}?fbclid=abc`, `/posts/${post.id}`],
    ]) {
      const head = headOf((await new Visitor(t).get(path!)).body);
      assert.deepEqual(head.canonicals, [`${origin}${canonical}`], path);
    }
  });

  test('with PUBLIC_URL › canonical and share links on it, whatever the Host header', async () => {
    const served = await serveApp(t.db, { publicUrl: PUBLIC_URL });
    try {
      const res = await new Visitor(served.port).get(`/posts/${post.id}`, { headers: { Host: 'evil.example' } });
      const head = headOf(res.body);
      assert.deepEqual(head.canonicals, [`${PUBLIC_URL}/posts/${post.id}`]);
      assert.deepEqual(head.meta.get('og:url'), [`${PUBLIC_URL}/posts/${post.id}`]);
    } finally {
      await served.close();
    }
  });

  test('anonymous pages kept by the page cache › each host gets the canonical of its own origin', async () => {
    const served = await serveApp(t.db, { pageCacheMs: 60_000 });
    try {
      for (const host of ['a.example', 'b.example', 'a.example']) {
        const res = await new Visitor(served.port).get('/tags', { headers: { Host: host } });
        assert.deepEqual(headOf(res.body).canonicals, [`http://${host}/tags`], host);
      }
    } finally {
      await served.close();
    }
  });

  test('an error page › no canonical link, no share tags', async () => {
    const res = await new Visitor(t).get('/posts/999999999');
    assert.equal(res.status, 404);
    const head = headOf(res.body);
    assert.deepEqual(head.canonicals, []);
    assert.equal(head.meta.size, 0);
    assert.equal(head.descriptions.length, 1);
  });
});

describe('link previews: Open Graph and Twitter cards', () => {
  before(seeded);
  test('a published post › an article with its title, excerpt, URL, date and author', async () => {
    const head = headOf((await new Visitor(t).get(`/posts/${post.id}`)).body);
    assert.deepEqual(Object.fromEntries(head.meta), {
      'og:type': ['article'],
      'og:site_name': ['Users and posts'],
      'og:title': [post.title],
      'og:description': ['The first lines of a post are what a link to it shows. More after that.'],
      'og:url': [`${origin}/posts/${post.id}`],
      'article:published_time': [post.publishedAt!.toISOString()],
      'article:author': [`${origin}/users/${author.username}`],
      'twitter:card': ['summary'],
      'twitter:title': [post.title],
      'twitter:description': ['The first lines of a post are what a link to it shows. More after that.'],
    });
  });

  test('a profile › a profile card with the name, description and username', async () => {
    const head = headOf((await new Visitor(t).get(`/users/${author.username}`)).body);
    assert.deepEqual(head.meta.get('og:type'), ['profile']);
    assert.deepEqual(head.meta.get('og:title'), ['Search Engine Writer']);
    assert.deepEqual(head.meta.get('og:description'), ['Writes about being found. Often.']);
    assert.deepEqual(head.meta.get('og:url'), [`${origin}/users/${author.username}`]);
    assert.deepEqual(head.meta.get('profile:username'), [author.username]);
    assert.deepEqual(head.meta.get('twitter:card'), ['summary']);
  });

  test('a draft, seen by its author › no share tags; by anyone else › a 404 without them', async () => {
    const draft = await createPost(t.db, author, { title: 'A secret draft title', published: false });
    const own = await Visitor.loggedIn(t, author);
    const mine = await own.get(`/posts/${draft.id}`);
    assert.equal(mine.status, 200);
    assert.equal(headOf(mine.body).meta.size, 0);
    for (const visitor of [new Visitor(t), await Visitor.loggedIn(t, await createUser())]) {
      const res = await visitor.get(`/posts/${draft.id}`);
      assert.equal(res.status, 404);
      assert.equal(headOf(res.body).meta.size, 0);
      assert.ok(!res.body.includes('A secret draft title'));
    }
  });

  test('pages that are neither › no share tags', async () => {
    for (const path of ['/', '/posts', '/tags', `/tags/${tag}`, '/users', '/login']) {
      assert.equal(headOf((await new Visitor(t).get(path)).body).meta.size, 0, path);
    }
  });

  test('hostile titles, names and bios › every value escaped, read back exactly as typed', async () => {
    const hostile = [
      `"><script>alert(1)</script>`,
      `' onmouseover='alert(1)`,
      `</title><meta property="og:title" content="spoofed">`,
      `&lt;b&gt; & "quotes" & 'apostrophes'`,
    ];
    for (const text of hostile) {
      const writer = await createUser({ displayName: text.slice(0, 50), bio: text });
      const hostilePost = await createPost(t.db, writer, { title: text, body: text });
      const postHead = headOf((await new Visitor(t).get(`/posts/${hostilePost.id}`)).body);
      assert.deepEqual(postHead.meta.get('og:title'), [text]);
      assert.deepEqual(postHead.meta.get('twitter:title'), [text]);
      assert.equal(postHead.title, `${text} · Users and posts`);
      const profileHead = headOf((await new Visitor(t).get(`/users/${writer.username}`)).body);
      assert.deepEqual(profileHead.meta.get('og:title'), [text.slice(0, 50)]);
      assert.deepEqual(profileHead.descriptions, [text]);
      assert.deepEqual(profileHead.meta.get('og:description'), [text]);
    }
  });
});
