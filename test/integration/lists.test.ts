// Lists page by cursor: every post once, in order, both ways; cursors that stay
// valid; searching posts; users found by any part of their names.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { QueryTypes } from 'sequelize';
import type { User } from '../../src/models/index.js';
import { useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser } from '../support/factories.js';

const t = useTestApp();

const titlesIn = (html: string): string[] =>
  [...html.matchAll(/<h[23]><a href="\/posts\/\d+">([^<]*)<\/a>/g)].map((match) => match[1]!);
const linkIn = (html: string, rel: 'next' | 'prev'): string | undefined =>
  new RegExp(`href="([^"]+)" rel="${rel}"`).exec(html)?.[1]?.replace(/&amp;/g, '&');

async function sql<T extends object>(query: string, bind: unknown[] = []): Promise<T[]> {
  return t.db.sequelize.query<T>(query, { bind, type: QueryTypes.SELECT });
}

/** Follows the `rel` links from `start` to the end; the titles of each page, in order. */
async function walk(browser: Visitor, start: string, rel: 'next' | 'prev'): Promise<string[][]> {
  const pages: string[][] = [];
  for (let url: string | undefined = start; url !== undefined;) {
    const res = await browser.get(url);
    assert.equal(res.status, 200, `${url} answered ${res.status}`);
    pages.push(titlesIn(res.body));
    url = linkIn(res.body, rel);
    assert.ok(pages.length < 20, 'the links go round in circles');
  }
  return pages;
}

describe('posts by cursor', () => {
  let author: User;
  let expected: string[];
  before(async () => {
    author = await createUser({ displayName: 'Keyset Writer' });
    for (let i = 1; i <= 47; i++) await createPost(t.db, author, { title: `Keyset ${i}`, published: i % 8 !== 0 });
    // Microseconds (a Date holds milliseconds) and ties: the id must break them.
    await t.db.sequelize.query(
      `UPDATE posts SET published_at = timestamptz '2026-03-01 12:00:00.000001' + (id % 9) * interval '1 microsecond'
        WHERE author_id = $1 AND published`,
      { bind: [author.id] },
    );
    expected = (
      await sql<{ title: string }>(`SELECT title FROM posts WHERE published ORDER BY published_at DESC, id DESC`)
    ).map((row) => row.title);
    assert.ok(expected.length > 40);
  });

  test('the next links visit every published post once, newest first; the previous links come back', async () => {
    const browser = new Visitor(t);
    const forward = await walk(browser, '/posts', 'next');
    assert.deepEqual(forward.flat(), expected);
    assert.deepEqual(
      forward.map((page) => page.length),
      [20, 20, expected.length - 40],
    );
    const lastPage = await browser.get('/posts');
    const lastUrl = linkIn((await browser.get(linkIn(lastPage.body, 'next')!)).body, 'next')!;
    const backward = await walk(browser, lastUrl, 'prev');
    assert.deepEqual(backward.reverse().flat(), expected);
  });

  test('a post published meanwhile does not shift the next page', async () => {
    const browser = new Visitor(t);
    const first = await browser.get('/posts');
    await createPost(t.db, author, { title: 'Published meanwhile' });
    const second = await browser.get(linkIn(first.body, 'next')!);
    assert.deepEqual(titlesIn(second.body), expected.slice(20, 40));
    await t.db.sequelize.query(`DELETE FROM posts WHERE title = 'Published meanwhile'`);
    await t.db.sequelize.query(`UPDATE users SET posts_count = posts_count - 1 WHERE id = $1`, { bind: [author.id] });
  });

  test('a bookmarked page still opens after the post its cursor names is deleted', async () => {
    const first = await new Visitor(t).get('/posts');
    const next = linkIn(first.body, 'next')!;
    const cursorPost = expected[19]!;
    const [row] = await sql<{ id: number }>(`SELECT id FROM posts WHERE title = $1`, [cursorPost]);
    await t.db.sequelize.query(`UPDATE posts SET published = false, published_at = NULL WHERE id = $1`, {
      bind: [row!.id],
    });
    try {
      const res = await new Visitor(t).get(next);
      assert.equal(res.status, 200);
      assert.deepEqual(titlesIn(res.body), expected.slice(20, 40));
    } finally {
      await t.db.sequelize.query(
        `UPDATE posts SET published = true, published_at = timestamptz '2026-03-01 12:00:00.000001' + (id % 9) * interval '1 microsecond'
          WHERE id = $1`,
        { bind: [row!.id] },
      );
    }
  });

  test('past the last post › 404 page', async () => {
    const [last] = await sql<{ cursor: string }>(
      `SELECT (extract(epoch FROM published_at) * 1000000)::bigint || '-' || id AS cursor
         FROM posts WHERE published ORDER BY published_at, id LIMIT 1`,
    );
    const res = await new Visitor(t).get(`/posts?after=${last!.cursor}`);
    assert.equal(res.status, 404);
    assert.match(res.body, /Page not found/);
  });

  const malformed = [
    'after=abc',
    'after=1-0',
    'after=-1-5',
    'after=1-2-3',
    'after=01-5',
    'after=12345678901234567-1',
    'after=1-12345678901',
    // Ten digits, but past an integer id: PostgreSQL would refuse the cast.
    'after=1-3000000000',
    'before=1-2147483648',
    'after=1-2&after=1-3',
    'after=1-2&before=1-3',
    'page=2&after=1-2',
    'before=',
    'page=51',
  ];
  for (const query of malformed) {
    test(`/posts?${query} › 404 page`, async () => {
      const res = await new Visitor(t).get(`/posts?${query}`);
      assert.equal(res.status, 404);
      assert.match(res.body, /Page not found/);
    });
  }

  test('a profile pages by cursor too; its owner sees drafts, ordered by when they were written', async () => {
    const stranger = await walk(new Visitor(t), `/users/${author.username}`, 'next');
    const published = expected.filter((title) => title.startsWith('Keyset '));
    assert.deepEqual(stranger.flat(), published);

    const owner = await Visitor.loggedIn(t, author);
    const own = (await walk(owner, `/users/${author.username}`, 'next')).flat();
    const written = (
      await sql<{ title: string }>(`SELECT title FROM posts WHERE author_id = $1 ORDER BY created_at DESC, id DESC`, [
        author.id,
      ])
    ).map((row) => row.title);
    assert.equal(own.length, 47);
    assert.deepEqual(own, written);
  });
});

describe('searching posts', () => {
  before(async () => {
    const writer = await createUser();
    await createPost(t.db, writer, { title: 'Vacuuming large tables', body: 'Notes on autovacuum thresholds.' });
    await createPost(t.db, writer, { title: 'Weekend notes', body: 'We talked about VACUUMING the garage.' });
    await createPost(t.db, writer, { title: 'Draft on vacuuming', body: 'vacuuming', published: false });
    await createPost(t.db, writer, { title: 'Sourdough', body: 'A starter, flour and water: 100% bread_dough.' });
  });

  /** The titles of a results page, without their highlight marks. */
  const resultTitlesIn = (html: string): string[] =>
    [...html.matchAll(/<h2><a href="\/posts\/\d+">(.*?)<\/a>/g)].map((match) => match[1]!.replace(/<\/?mark>/g, ''));

  const search = async (q: string): Promise<string[]> => {
    const res = await new Visitor(t).get(`/posts?q=${encodeURIComponent(q)}`);
    assert.equal(res.status, 200);
    return resultTitlesIn(res.body);
  };

  test('finds the word in titles and bodies, any case, title matches first, drafts never', async () => {
    assert.deepEqual(await search('vacuuming'), ['Vacuuming large tables', 'Weekend notes']);
    assert.deepEqual(await search('VACUUM'), ['Vacuuming large tables', 'Weekend notes']);
  });

  test('punctuation in the query is not syntax: it separates words', async () => {
    assert.deepEqual(await search('100%'), ['Sourdough']);
    assert.deepEqual(await search('bread_'), ['Sourdough']);
    assert.deepEqual(await search('vac%ing'), []);
  });

  test('results page by number; a cursor with the best-match order › 404', async () => {
    const writer = await createUser();
    for (let i = 1; i <= 23; i++) await createPost(t.db, writer, { title: `Quasar ${i}`, body: 'quasar' });
    const first = await new Visitor(t).get('/posts?q=quasar');
    assert.equal(resultTitlesIn(first.body).length, 20);
    assert.match(first.body, /Page 1/);
    assert.equal(linkIn(first.body, 'next'), '/posts?q=quasar&page=2');
    const second = await new Visitor(t).get('/posts?q=quasar&page=2');
    assert.equal(resultTitlesIn(second.body).length, 3);
    assert.equal(linkIn(second.body, 'prev'), '/posts?q=quasar');
    assert.equal((await new Visitor(t).get('/posts?q=quasar&page=3')).status, 404);
    assert.equal((await new Visitor(t).get('/posts?q=quasar&after=1-2')).status, 404);
  });
});

describe('users found by any part of their names', () => {
  test('a fragment of a username or display name, any case', async () => {
    const user = await createUser({ username: 'trigram_fan_1', displayName: 'Margarethe Oyelaran' });
    for (const q of ['GRAM_FA', 'oyela', 'garethe oye']) {
      const res = await new Visitor(t).get(`/users?q=${encodeURIComponent(q)}`);
      assert.equal(res.status, 200);
      assert.match(res.body, new RegExp(`@${user.username}<`), q);
    }
  });

  test('LIKE wildcards in the query are literal', async () => {
    await createUser({ username: 'under_score_9' });
    // As wildcards, each would match under_score_9.
    for (const q of ['u%9', 'under_scor_', 'under%']) {
      const res = await new Visitor(t).get(`/users?q=${encodeURIComponent(q)}`);
      assert.doesNotMatch(res.body, /@under_score_9</, q);
    }
    const literal = await new Visitor(t).get(`/users?q=${encodeURIComponent('r_s')}`);
    assert.match(literal.body, /@under_score_9</);
    const percent = await new Visitor(t).get(`/users?q=${encodeURIComponent('%')}`);
    assert.match(percent.body, /No user matches your search/);
  });
});
