// What crawlers read: /robots.txt, and the sitemap index with its files, checked against the
// sitemaps.org schemas with libxml2 (xmllint, built to WebAssembly: nothing to install).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import robotsParser from 'robots-parser';
import { validateXML } from 'xmllint-wasm';
import type { Post, User } from '../../src/models/index.js';
import { SITEMAP_URLS } from '../../src/services/sitemaps.service.js';
import { serveApp, useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser, hex } from '../support/factories.js';

const t = useTestApp();

const SITEMAP_XSD = fs.readFileSync(path.resolve(__dirname, '../../node_modules/sitemap/schema/sitemap.xsd'), 'utf8');
const SITEINDEX_XSD = fs.readFileSync(path.resolve(__dirname, '../support/schemas/siteindex.xsd'), 'utf8');

/** Fails, with libxml2's messages, unless `xml` is valid against `schema` ('sitemap' or 'siteindex'). */
async function assertValid(xml: string, schema: 'sitemap' | 'siteindex', where: string): Promise<void> {
  const sitemapXsd = { fileName: 'sitemap.xsd', contents: SITEMAP_XSD };
  const result = await validateXML({
    xml: [{ fileName: 'document.xml', contents: xml }],
    schema: [schema === 'sitemap' ? sitemapXsd : { fileName: 'siteindex.xsd', contents: SITEINDEX_XSD }],
    preload: schema === 'sitemap' ? [] : [sitemapXsd],
  });
  assert.ok(result.valid, `${where} is not valid against ${schema}.xsd:\n${result.rawOutput}`);
}

/** Each <loc> of a sitemap or an index, with the <lastmod> beside it. */
const entriesOf = (xml: string): { loc: string; lastmod?: string }[] =>
  [...xml.matchAll(/<(?:url|sitemap)><loc>([^<]*)<\/loc>(?:<lastmod>([^<]*)<\/lastmod>)?/g)].map((m) => ({
    loc: m[1]!.replace(/&amp;/g, '&'),
    ...(m[2] && { lastmod: m[2] }),
  }));

let origin: string;
let writer: User;
let silent: User;
let published: Post[];
let draft: Post;
let tag: string;

let setUp: Promise<void> | undefined;
/** The people, posts and tags the files list: made once, by whichever suite comes first. */
const seeded = (): Promise<void> => (setUp ??= seed());

async function seed(): Promise<void> {
  origin = `http://127.0.0.1:${t.port}`;
  tag = `mapped-${hex(3)}`;
  writer = await createUser({ username: `writer_${hex(3)}` });
  // Someone with only a draft: no page worth listing.
  silent = await createUser();
  draft = await createPost(t.db, silent, { published: false, title: 'Unlisted draft', tags: [`drafted-${hex(3)}`] });
  // Ids on both sides of the first file's end, so that the posts take two files.
  await t.sql.query(`SELECT setval('posts_id_seq', $1)`, [SITEMAP_URLS - 2]);
  published = [];
  for (let i = 0; i < 4; i++) published.push(await createPost(t.db, writer, { title: `Mapped ${i}`, tags: [tag] }));
}

describe('/robots.txt', () => {
  before(seeded);
  test('allows the public pages, keeps crawlers off forms and account pages, names the sitemap', async () => {
    const res = await new Visitor(t).get('/robots.txt');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const lines = res.body.trim().split('\n');
    assert.equal(lines[0], 'User-agent: *');
    assert.ok(lines.includes('Allow: /'));
    // Read as Lighthouse reads it (robots-parser), for any crawler.
    const robots = robotsParser(`${origin}/robots.txt`, res.body);
    const blocked = (path: string): boolean | undefined => robots.isDisallowed(origin + path, 'Googlebot');
    for (const path of [
      '/posts/new',
      '/posts/12/edit',
      '/posts/12/comments/3/edit',
      '/users/ann/edit',
      '/users/ann/password',
      '/password/forgot',
      '/email/confirm',
      '/logout',
      '/login?returnTo=%2Fposts%2F12',
      '/signup?returnTo=%2F',
      '/posts?q=budget',
      '/posts?tag=baking&q=bread',
      '/users?q=ann',
      '/metrics',
    ]) {
      assert.equal(blocked(path), true, `${path} is disallowed`);
    }
    // The public pages, and the doors in (people look for them by name).
    for (const path of [
      '/',
      '/posts',
      '/posts?page=2',
      '/posts/12',
      '/users/ann',
      '/tags/baking',
      '/login',
      '/signup',
    ]) {
      assert.equal(blocked(path), false, `${path} is allowed`);
    }
    assert.deepEqual(robots.getSitemaps(), [`${origin}/sitemap.xml`]);
    assert.equal(lines.at(-1), `Sitemap: ${origin}/sitemap.xml`);
  });

  test('with PUBLIC_URL › the sitemap on it, whatever the Host header', async () => {
    const served = await serveApp(t.db, { publicUrl: 'https://posts.example.org' });
    try {
      const res = await new Visitor(served.port).get('/robots.txt', { headers: { Host: 'evil.example' } });
      assert.match(res.body, /\nSitemap: https:\/\/posts\.example\.org\/sitemap\.xml\n$/);
    } finally {
      await served.close();
    }
  });
});

describe('/sitemap.xml and its files', () => {
  before(seeded);
  test('the index › valid against the schema; the list pages, then each kind’s files that hold something', async () => {
    const res = await new Visitor(t).get('/sitemap.xml');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/xml/);
    await assertValid(res.body, 'siteindex', '/sitemap.xml');
    assert.deepEqual(
      entriesOf(res.body).map((entry) => entry.loc),
      [
        `${origin}/sitemaps/pages.xml`,
        `${origin}/sitemaps/posts-1.xml`,
        `${origin}/sitemaps/posts-2.xml`,
        `${origin}/sitemaps/users-1.xml`,
        `${origin}/sitemaps/tags-1.xml`,
      ],
    );
  });

  test('every file it names › 200, valid against the schema, at most 50,000 URLs', async () => {
    const index = await new Visitor(t).get('/sitemap.xml');
    for (const { loc } of entriesOf(index.body)) {
      const res = await new Visitor(t).get(new URL(loc).pathname);
      assert.equal(res.status, 200, loc);
      assert.match(String(res.headers['content-type']), /^application\/xml/);
      await assertValid(res.body, 'sitemap', loc);
      assert.ok(entriesOf(res.body).length <= SITEMAP_URLS);
    }
  });

  test('the list pages', async () => {
    const res = await new Visitor(t).get('/sitemaps/pages.xml');
    assert.deepEqual(
      entriesOf(res.body).map((entry) => entry.loc),
      ['/', '/posts', '/tags', '/users'].map((page) => origin + page),
    );
  });

  test('the posts › each published post once, in the file of its id, with its last change; no draft', async () => {
    const [first, second] = await Promise.all(
      ['/sitemaps/posts-1.xml', '/sitemaps/posts-2.xml'].map(async (url) =>
        entriesOf((await new Visitor(t).get(url)).body),
      ),
    );
    const listed = [...first!, ...second!];
    const expected = await t.sql.query<{ id: number; updated_at: Date }>(
      'SELECT id, updated_at FROM posts WHERE published ORDER BY id',
    );
    assert.deepEqual(
      listed,
      expected.rows.map((row) => ({ loc: `${origin}/posts/${row.id}`, lastmod: row.updated_at.toISOString() })),
    );
    assert.ok(first!.every((entry) => Number(entry.loc.split('/').at(-1)) <= SITEMAP_URLS));
    assert.ok(second!.every((entry) => Number(entry.loc.split('/').at(-1)) > SITEMAP_URLS));
    assert.ok(second!.length >= 2, 'the posts past the first file’s end are in the second');
    assert.ok(!listed.some((entry) => entry.loc.endsWith(`/posts/${draft.id}`)));
    assert.ok(published.every((post) => listed.some((entry) => entry.loc === `${origin}/posts/${post.id}`)));
  });

  test('the people › only those with a published post; the tags › only those published posts carry', async () => {
    const people = entriesOf((await new Visitor(t).get('/sitemaps/users-1.xml')).body).map((entry) => entry.loc);
    assert.ok(people.includes(`${origin}/users/${writer.username}`));
    assert.ok(!people.includes(`${origin}/users/${silent.username}`));
    const tags = entriesOf((await new Visitor(t).get('/sitemaps/tags-1.xml')).body);
    const mapped = tags.find((entry) => entry.loc === `${origin}/tags/${tag}`);
    assert.ok(mapped?.lastmod, 'the tag, as of its newest post');
    assert.ok(!tags.some((entry) => entry.loc.includes('/tags/drafted-')));
  });

  test('a file › cacheable: ETag and Last-Modified, 304 when asked again; a change gives a new ETag', async () => {
    const first = await new Visitor(t).get('/sitemaps/posts-2.xml');
    const etag = String(first.headers.etag);
    assert.ok(first.headers['last-modified']);
    assert.match(String(first.headers['cache-control']), /max-age=\d+/);
    const again = await new Visitor(t).get('/sitemaps/posts-2.xml', { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    await createPost(t.db, writer, { title: 'One more' });
    const changed = await new Visitor(t).get('/sitemaps/posts-2.xml', { headers: { 'If-None-Match': etag } });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.etag, etag);
    const index = await new Visitor(t).get('/sitemap.xml');
    const indexAgain = await new Visitor(t).get('/sitemap.xml', {
      headers: { 'If-None-Match': String(index.headers.etag) },
    });
    assert.equal(indexAgain.status, 304);
  });

  for (const url of [
    '/sitemaps/posts-3.xml',
    '/sitemaps/posts-0.xml',
    '/sitemaps/posts-01.xml',
    '/sitemaps/posts-x.xml',
    '/sitemaps/comments-1.xml',
    '/sitemaps/users-99.xml',
  ]) {
    test(`${url} › 404`, async () => {
      assert.equal((await new Visitor(t).get(url)).status, 404);
    });
  }
});
