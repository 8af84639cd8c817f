import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { serveApp, useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser } from '../support/factories.js';

const ATOM = 'http://www.w3.org/2005/Atom';
// RFC 3339 date-time, as Atom (RFC 4287 §3.3) requires.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const t = useTestApp({ publicUrl: 'https://posts.example.org' });

function children(parent: Element, name: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).namespaceURI === ATOM && (node as Element).localName === name) {
      found.push(node as Element);
    }
  }
  return found;
}

function one(parent: Element, name: string, where: string): Element {
  const found = children(parent, name);
  assert.equal(found.length, 1, `${where}: exactly one atom:${name}, found ${found.length}`);
  return found[0]!;
}

const text = (element: Element): string => element.textContent ?? '';

function assertAbsoluteIri(value: string, where: string): void {
  assert.match(value, /^[a-z][a-z0-9+.-]*:\S+$/i, `${where}: ${value} is not an absolute IRI`);
}

/**
 * Checks an Atom document against the rules of RFC 4287 that a generator can break:
 * well-formed XML, the Atom namespace, the required and unique elements of the feed and of
 * each entry, absolute unique ids, RFC 3339 dates, a self link, and authorship.
 */
function validateAtom(xml: string): { feed: Element; entries: Element[] } {
  const errors: string[] = [];
  const doc = new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') errors.push(message);
    },
  }).parseFromString(xml, 'application/xml');
  assert.deepEqual(errors, [], 'well-formed XML');
  const feed = doc.documentElement as unknown as Element;
  assert.equal(feed.localName, 'feed');
  assert.equal(feed.namespaceURI, ATOM);

  assertAbsoluteIri(text(one(feed, 'id', 'feed')), 'feed id');
  assert.ok(text(one(feed, 'title', 'feed')).trim(), 'feed title not empty');
  assert.match(text(one(feed, 'updated', 'feed')), RFC3339, 'feed updated');
  const links = children(feed, 'link');
  const self = links.filter((link) => link.getAttribute('rel') === 'self');
  assert.equal(self.length, 1, 'one rel="self" link');
  assertAbsoluteIri(self[0]!.getAttribute('href') ?? '', 'self link');
  const alternates = links.filter((link) => (link.getAttribute('rel') ?? 'alternate') === 'alternate');
  assert.ok(alternates.length <= 1, 'at most one alternate link per type and language');

  const entries = children(feed, 'entry');
  const feedHasAuthor = children(feed, 'author').length > 0;
  const ids = new Set<string>();
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1}`;
    const id = text(one(entry, 'id', where));
    assertAbsoluteIri(id, `${where} id`);
    assert.ok(!ids.has(id), `${where}: id ${id} is not unique`);
    ids.add(id);
    const title = one(entry, 'title', where);
    assert.ok(['text', 'html', 'xhtml', null].includes(title.getAttribute('type')), `${where} title type`);
    assert.match(text(one(entry, 'updated', where)), RFC3339, `${where} updated`);
    const published = children(entry, 'published');
    assert.ok(published.length <= 1, `${where}: at most one published`);
    if (published[0]) assert.match(text(published[0]), RFC3339, `${where} published`);
    const content = children(entry, 'content');
    assert.ok(content.length <= 1, `${where}: at most one content`);
    // Without content, an entry must link to its alternate page (RFC 4287 §4.1.2).
    const entryAlternates = children(entry, 'link').filter(
      (link) => (link.getAttribute('rel') ?? 'alternate') === 'alternate',
    );
    assert.ok(content.length === 1 || entryAlternates.length > 0, `${where}: content or an alternate link`);
    for (const link of entryAlternates) assertAbsoluteIri(link.getAttribute('href') ?? '', `${where} link`);
    if (!feedHasAuthor) {
      const authors = children(entry, 'author');
      assert.ok(authors.length > 0, `${where}: an author (the feed has none)`);
      for (const author of authors) assert.ok(text(one(author, 'name', `${where} author`)).trim());
    }
  });
  return { feed, entries };
}

describe('GET /posts.atom', () => {
  // First, while this file's database has no posts yet.
  test('an empty site › a valid feed with no entries; without PUBLIC_URL, links from the request', async () => {
    const withoutPublicUrl = await serveApp(t.db);
    const res = await new Visitor(withoutPublicUrl)
      .get('/posts.atom', { headers: { Host: 'localhost:3000' } })
      .finally(() => withoutPublicUrl.close());
    const { feed, entries } = validateAtom(res.body);
    assert.equal(entries.length, 0);
    assert.equal(text(one(feed, 'id', 'feed')), 'http://localhost:3000/posts.atom');
  });

  test('the latest published posts, newest first, as valid Atom with absolute links from PUBLIC_URL', async () => {
    const author = await createUser({ displayName: 'Feed Writer' });
    await createPost(t.db, author, { title: 'Older', publishedAt: new Date('2026-01-01T00:00:00Z') });
    await createPost(t.db, author, {
      title: 'Newer',
      body: '**strong** words',
      publishedAt: new Date('2026-02-01T00:00:00Z'),
    });
    await createPost(t.db, author, { title: 'A draft', published: false });

    const res = await new Visitor(t).get('/posts.atom');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/atom\+xml/);
    const { feed, entries } = validateAtom(res.body);
    assert.equal(text(one(feed, 'id', 'feed')), 'https://posts.example.org/posts.atom');
    const titles = entries.map((entry) => text(one(entry, 'title', 'entry')));
    assert.deepEqual(titles.slice(0, 2), ['Newer', 'Older']);
    assert.ok(!titles.includes('A draft'));
    const content = text(one(entries[0]!, 'content', 'entry'));
    assert.match(content, /<strong>strong<\/strong>/);
    assert.equal(text(one(one(entries[0]!, 'author', 'entry'), 'name', 'author')), 'Feed Writer');
    assert.equal(res.headers['set-cookie'], undefined);
  });

  test('hostile titles and bodies › still well-formed, titles shown as text, bodies sanitized', async () => {
    const author = await createUser();
    await createPost(t.db, author, {
      title: '<script>alert(1)</script> & "quotes" ]]>',
      body: 'Ends a CDATA section: ]]> and <img src=x onerror=alert(1)> <script>alert(2)</script>',
      publishedAt: new Date(Date.now() + 60_000),
    });
    const res = await new Visitor(t).get('/posts.atom');
    const { entries } = validateAtom(res.body);
    const title = one(entries[0]!, 'title', 'entry');
    // type="html": the text must be escaped markup, so readers display it literally.
    assert.equal(title.getAttribute('type'), 'html');
    assert.equal(text(title), '&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34; ]]&#62;');
    const content = text(one(entries[0]!, 'content', 'entry'));
    assert.match(content, /Ends a CDATA section: \]\]&gt;/);
    assert.doesNotMatch(content, /<script|onerror/);
  });
});

describe('GET /users/:username/posts.atom', () => {
  test('that user’s published posts only, with the user as the feed’s author', async () => {
    const author = await createUser({ displayName: 'Only Me' });
    const other = await createUser();
    await createPost(t.db, author, { title: 'Mine' });
    await createPost(t.db, author, { title: 'My draft', published: false });
    await createPost(t.db, other, { title: 'Not mine' });
    const res = await new Visitor(t).get(`/users/${author.username.toUpperCase()}/posts.atom`);
    assert.equal(res.status, 200);
    const { feed, entries } = validateAtom(res.body);
    assert.equal(text(one(feed, 'id', 'feed')), `https://posts.example.org/users/${author.username}/posts.atom`);
    assert.equal(text(one(one(feed, 'author', 'feed'), 'name', 'author')), 'Only Me');
    assert.deepEqual(
      entries.map((entry) => text(one(entry, 'title', 'entry'))),
      ['Mine'],
    );
  });

  test('an unknown or malformed username › 404', async () => {
    assert.equal((await new Visitor(t).get('/users/nobody_here/posts.atom')).status, 404);
    assert.equal((await new Visitor(t).get('/users/a/posts.atom')).status, 404);
  });
});

describe('feed links in <head>', () => {
  test('every page links the site feed; a profile also links its own', async () => {
    const author = await createUser();
    const home = await new Visitor(t).get('/');
    assert.match(home.body, /<link rel="alternate" type="application\/atom\+xml" title="[^"]+" href="\/posts\.atom">/);
    const profile = await new Visitor(t).get(`/users/${author.username}`);
    assert.match(
      profile.body,
      new RegExp(
        `<link rel="alternate" type="application/atom\\+xml" title="[^"]+" href="/users/${author.username}/posts\\.atom">`,
      ),
    );
  });
});
