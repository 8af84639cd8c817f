// Full-text search of published posts (GET /posts?q=): words found by their stems, "phrases",
// `or` and `-word`; title matches ranked first; best matches paged by number and newest first
// paged by cursor; snippets whose only markup is <mark>; drafts never found; refused and
// stop-word-only searches; a fixed number of statements; a slow search answered with 503;
// and the migration that keeps each post's words beside it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DomUtils, parseDocument } from 'htmlparser2';
import pg from 'pg';
import { QueryTypes, type Transaction } from 'sequelize';
import * as searchMigration from '../../migrations/20261201000100-add-posts-search.js';
import { Post, type User } from '../../src/models/index.js';
import { useTestApp } from '../support/app.js';
import { type Reply } from '../support/http.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser } from '../support/factories.js';

const t = useTestApp();

type HtmlElement = ReturnType<typeof DomUtils.findAll>[number];

/** One result as a visitor sees it: the post it links to, its title and snippet, and their marks. */
interface Hit {
  id: number;
  title: string;
  titleMarks: string[];
  /** The names of the elements inside the title link. */
  titleElements: string[];
  snippet: string;
  snippetMarks: string[];
  /** The names of the elements inside the snippet paragraph. */
  snippetElements: string[];
}

const elementsIn = (element: HtmlElement | null): HtmlElement[] =>
  element ? DomUtils.findAll(() => true, element.children) : [];
const marksIn = (element: HtmlElement | null): string[] =>
  elementsIn(element)
    .filter((inner) => inner.name === 'mark')
    .map((mark) => DomUtils.textContent(mark));

function hitsIn(html: string): Hit[] {
  const doc = parseDocument(html);
  const articles = DomUtils.findAll(
    (element) => element.name === 'article' && (element.attribs.class ?? '').split(' ').includes('search-hit'),
    doc.children,
  );
  return articles.map((article) => {
    const heading = DomUtils.findOne((element) => element.name === 'h2', article.children);
    const link = heading && DomUtils.findOne((element) => element.name === 'a', heading.children);
    assert.ok(link, `a result without a title link: ${DomUtils.getOuterHTML(article)}`);
    const id = /^\/posts\/(\d+)$/.exec(link.attribs.href ?? '')?.[1];
    assert.ok(id, `a title link to ${link.attribs.href}`);
    const snippet = DomUtils.findOne(
      (element) => element.name === 'p' && element.attribs.class === 'excerpt',
      article.children,
    );
    return {
      id: Number(id),
      title: DomUtils.textContent(link),
      titleMarks: marksIn(link),
      titleElements: elementsIn(link).map((element) => element.name),
      snippet: snippet ? DomUtils.textContent(snippet) : '',
      snippetMarks: marksIn(snippet),
      snippetElements: elementsIn(snippet).map((element) => element.name),
    };
  });
}

const searchPath = (q: string, query: Record<string, string> = {}): string =>
  `/posts?${new URLSearchParams({ q, ...query }).toString()}`;

/** GET a search page, expect 200; its results. */
async function search(
  q: string,
  options: { query?: Record<string, string>; browser?: Visitor } = {},
): Promise<{ res: Reply; hits: Hit[] }> {
  const path = searchPath(q, options.query);
  const res = await (options.browser ?? new Visitor(t)).get(path);
  assert.equal(res.status, 200, `GET ${path} answered ${res.status}`);
  return { res, hits: hitsIn(res.body) };
}

/** The ids of the posts a search finds on its first page, in the order shown. */
async function found(q: string, options: { query?: Record<string, string>; browser?: Visitor } = {}) {
  return (await search(q, options)).hits.map((hit) => hit.id);
}

const linkIn = (html: string, rel: 'next' | 'prev'): string | undefined =>
  new RegExp(`href="([^"]+)" rel="${rel}"`).exec(html)?.[1]?.replace(/&amp;/g, '&');

/** The search field of a page. */
const searchFieldIn = (html: string): HtmlElement | null =>
  DomUtils.findOne(
    (element) => element.name === 'input' && element.attribs.id === 'search-q',
    parseDocument(html).children,
  );

async function sql<T extends object>(query: string, bind: unknown[] = []): Promise<T[]> {
  return t.db.sequelize.query<T>(query, { bind, type: QueryTypes.SELECT });
}

/** The query strings of the two orders of results: best match, newest first. */
const BOTH_ORDERS: Record<string, string>[] = [{}, { order: 'newest' }];
const day = (n: number): Date => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000);
const sorted = (ids: number[]): number[] => [...ids].sort((a, b) => a - b);

describe('GET /posts?q= › words', () => {
  let author: User;
  before(async () => {
    author = await createUser({ displayName: 'Word Writer' });
  });

  test('GET /posts?q= › another form of a word › finds the post by its stem, not by a substring', async () => {
    const running = await createPost(t.db, author, { title: 'Training log', body: 'Running along the canal.' });
    const cats = await createPost(t.db, author, { title: 'Cats', body: 'Two of them, asleep.' });
    // A substring search would find these; a search by word must not.
    await createPost(t.db, author, { title: 'Rune stones', body: 'Carvings from the north.' });
    await createPost(t.db, author, { title: 'Catalogue', body: 'Every item we sell.' });

    for (const q of ['run', 'runs', 'running', 'RUN']) assert.deepEqual(await found(q), [running.id], q);
    for (const q of ['cat', 'cats']) assert.deepEqual(await found(q), [cats.id], q);
    const { res, hits } = await search('run');
    assert.match(res.body, /<h1>Posts matching “run”<\/h1>/);
    assert.deepEqual(hits[0]?.snippetMarks, ['Running']);
  });

  test('GET /posts?q= › a phrase in quotes › finds only posts with the words side by side', async () => {
    const sideBySide = await createPost(t.db, author, { title: 'A quiet morning walk', body: 'Along the river.' });
    const apart = await createPost(t.db, author, { title: 'The morning was quiet', body: 'Nobody about.' });

    const { res, hits } = await search('"quiet morning"');
    assert.deepEqual(
      hits.map((hit) => hit.id),
      [sideBySide.id],
    );
    assert.deepEqual(hits[0]?.titleMarks, ['quiet', 'morning']);
    // Few posts hold both words: the phrase was looked for in all of them.
    assert.doesNotMatch(res.body, /newest were searched/);
    // Without the quotes, both words anywhere will do.
    const loose = await search('quiet morning');
    assert.deepEqual(sorted(loose.hits.map((hit) => hit.id)), sorted([sideBySide.id, apart.id]));
  });

  test('GET /posts?q= › a phrase whose first word ends the title and whose second starts the body › not found', async () => {
    const split = await createPost(t.db, author, { title: 'Still and quiet', body: 'Morning came late.' });
    assert.ok((await found('quiet morning')).includes(split.id));
    assert.ok(!(await found('"quiet morning"')).includes(split.id), 'the title and the body were read as one text');
  });

  test('GET /posts?q= › two words joined by or › finds posts with either; without or, both are needed', async () => {
    const apple = await createPost(t.db, author, { title: 'Apple crumble', body: 'Oats and butter.' });
    const pear = await createPost(t.db, author, { title: 'Baked fruit', body: 'A pear, halved.' });
    const both = await createPost(t.db, author, { title: 'Autumn salad', body: 'Apples and pears, sliced thin.' });
    await createPost(t.db, author, { title: 'Plum jam', body: 'Plums and sugar.' });

    assert.deepEqual(sorted(await found('apple or pear')), sorted([apple.id, pear.id, both.id]));
    assert.deepEqual(sorted(await found('apple OR pear')), sorted([apple.id, pear.id, both.id]));
    assert.deepEqual(await found('apple pear'), [both.id]);
  });

  test('GET /posts?q= › a word with a minus sign › leaves out the posts that hold it', async () => {
    const sourdough = await createPost(t.db, author, { title: 'Sourdough bread', body: 'Wheat, water, salt.' });
    const banana = await createPost(t.db, author, { title: 'Banana bread', body: 'Ripe bananas.' });
    await createPost(t.db, author, { title: 'Rye bread', body: 'Dense and dark.' });
    await createPost(t.db, author, { title: 'Seeded bread', body: 'With a little rye flour.' });

    assert.equal((await found('bread')).length, 4);
    assert.deepEqual(sorted(await found('bread -rye')), sorted([sourdough.id, banana.id]));
  });

  test('GET /posts?q= › only very common words › 200, says so, lists nothing and shows no error', async () => {
    await createPost(t.db, author, { title: 'The end of the road', body: 'And then some.' });
    for (const query of BOTH_ORDERS) {
      const { res, hits } = await search('the and of', { query });
      assert.match(res.body, /Your search has only very common words/);
      assert.deepEqual(hits, []);
      assert.doesNotMatch(res.body, /No published post matches/);
      assert.doesNotMatch(res.body, /search-q-error|aria-invalid/);
      assert.equal(searchFieldIn(res.body)?.attribs.value, 'the and of');
    }
    // No page follows the first, as for any other search.
    for (const url of ['/posts?q=the&page=2', '/posts?q=the&order=newest&after=1-2']) {
      assert.equal((await new Visitor(t).get(url)).status, 404, url);
    }
  });
});

describe('GET /posts?q= › ranking and pages', () => {
  let author: User;
  before(async () => {
    author = await createUser({ displayName: 'Rank Writer' });
  });

  test('GET /posts?q= › best match › title matches first, even older ones, then the more frequent, then the newest', async () => {
    const inTitle = await createPost(t.db, author, {
      title: 'Kohlrabi',
      body: 'A pale green vegetable.',
      publishedAt: day(1),
    });
    const thrice = await createPost(t.db, author, {
      title: 'Garden notes',
      body: 'Kohlrabi again: kohlrabi soup, kohlrabi slaw.',
      publishedAt: day(20),
    });
    const once = await createPost(t.db, author, {
      title: 'Market day',
      body: 'Bought one kohlrabi and some leeks.',
      publishedAt: day(30),
    });
    // Title matches of the same rank: the newest first.
    const olderTwin = await createPost(t.db, author, {
      title: 'Kohlrabi soup',
      body: 'Simmered.',
      publishedAt: day(2),
    });
    const newerTwin = await createPost(t.db, author, {
      title: 'Kohlrabi soup',
      body: 'Simmered.',
      publishedAt: day(3),
    });

    const { res, hits } = await search('kohlrabi');
    assert.deepEqual(
      hits.map((hit) => hit.id),
      [newerTwin.id, olderTwin.id, inTitle.id, thrice.id, once.id],
    );
    assert.doesNotMatch(res.body, /rel="next"/);
    // Newest first ignores the rank.
    assert.deepEqual(await found('kohlrabi', { query: { order: 'newest' } }), [
      once.id,
      thrice.id,
      newerTwin.id,
      olderTwin.id,
      inTitle.id,
    ]);
  });

  test('GET /posts?q= › best match › a title match comes before a body that outranks it', async () => {
    const inTitle = await createPost(t.db, author, { title: 'Salsify', body: 'A root.', publishedAt: day(1) });
    const inBody = await createPost(t.db, author, {
      title: 'Winter roots',
      body: 'Salsify and parsnip, parsnip and salsify, salsify parsnip.',
      publishedAt: day(2),
    });
    const ranks = await sql<{ id: number }>(
      `SELECT id FROM posts WHERE id IN ($1, $2)
        ORDER BY ts_rank(search_vector, websearch_to_tsquery('english', 'salsify or parsnip')) DESC`,
      [inTitle.id, inBody.id],
    );
    assert.deepEqual(
      ranks.map((row) => row.id),
      [inBody.id, inTitle.id],
      'the body match should rank higher by ts_rank alone',
    );
    assert.deepEqual(await found('salsify or parsnip'), [inTitle.id, inBody.id]);
  });

  describe('45 matches', () => {
    // Either word will do: bodies holding both outrank titles holding one, yet come after them.
    const QUERY = 'quince or loquat';
    let byDate: number[];
    let byRank: number[];
    before(async () => {
      for (let i = 1; i <= 45; i++) {
        await createPost(t.db, author, {
          title: i % 5 === 0 ? `Quince preserve ${i}` : `Preserve ${i}`,
          body:
            i % 5 === 0
              ? 'Sugar and lemon.'
              : Array.from({ length: (i % 4) + 1 }, () => 'quince, loquat').join(' and '),
          publishedAt: day(i % 11),
        });
      }
      // Microsecond ties (a Date holds milliseconds): the id must break them.
      await t.db.sequelize.query(
        `UPDATE posts SET published_at = timestamptz '2026-02-01 12:00:00.000001' + (id % 7) * interval '1 microsecond'
          WHERE author_id = $1 AND title LIKE '%Preserve%' AND id % 3 = 0`,
        { bind: [author.id] },
      );
      const query = `websearch_to_tsquery('english', $1)`;
      byDate = (
        await sql<{ id: number }>(
          `SELECT id FROM posts WHERE published AND search_vector @@ ${query} ORDER BY published_at DESC, id DESC`,
          [QUERY],
        )
      ).map((row) => row.id);
      byRank = (
        await sql<{ id: number }>(
          `SELECT id FROM posts WHERE published AND search_vector @@ ${query}
            ORDER BY ts_filter(search_vector, '{a}') @@ ${query} DESC, ts_rank(search_vector, ${query}) DESC,
                     published_at DESC, id DESC`,
          [QUERY],
        )
      ).map((row) => row.id);
      const byRankAlone = (
        await sql<{ id: number }>(
          `SELECT id FROM posts WHERE published AND search_vector @@ ${query}
            ORDER BY ts_rank(search_vector, ${query}) DESC, published_at DESC, id DESC`,
          [QUERY],
        )
      ).map((row) => row.id);
      assert.equal(byDate.length, 45);
      assert.notDeepEqual(byRank, byDate);
      assert.notDeepEqual(sorted(byRankAlone.slice(0, 20)), sorted(byRank.slice(0, 20)));
    });

    /** Follows the `rel` links from `start` to the end: the ids of each page, and the URLs visited. */
    async function walk(start: string, rel: 'next' | 'prev'): Promise<{ pages: number[][]; urls: string[] }> {
      const pages: number[][] = [];
      const urls: string[] = [];
      const browser = new Visitor(t);
      for (let url: string | undefined = start; url !== undefined;) {
        const res = await browser.get(url);
        assert.equal(res.status, 200, `${url} answered ${res.status}`);
        urls.push(url);
        pages.push(hitsIn(res.body).map((hit) => hit.id));
        url = linkIn(res.body, rel);
        assert.ok(pages.length < 10, 'the links go round in circles');
      }
      return { pages, urls };
    }

    test('GET /posts?q=&order=newest › the next links visit every match once, newest first; the previous links come back', async () => {
      const forward = await walk(searchPath(QUERY, { order: 'newest' }), 'next');
      assert.deepEqual(
        forward.pages.map((ids) => ids.length),
        [20, 20, 5],
      );
      assert.deepEqual(forward.pages.flat(), byDate);
      for (const url of forward.urls.slice(1))
        assert.match(url, /^\/posts\?q=quince\+or\+loquat&order=newest&after=\d+-\d+$/);

      const backward = await walk(forward.urls.at(-1)!, 'prev');
      assert.deepEqual(backward.pages.reverse().flat(), byDate);
      const first = await search(QUERY, { query: { order: 'newest' } });
      assert.match(first.res.body, /<option value="newest" selected>Newest first<\/option>/);
    });

    test('GET /posts?q= › best match › pages by number through every match once, in rank order; past the end › 404', async () => {
      const forward = await walk(searchPath(QUERY), 'next');
      const numbered = ['', '&page=2', '&page=3'].map((page) => `/posts?q=quince+or+loquat${page}`);
      assert.deepEqual(forward.urls, numbered);
      assert.deepEqual(
        forward.pages.map((ids) => ids.length),
        [20, 20, 5],
      );
      assert.deepEqual(forward.pages.flat(), byRank);
      const backward = await walk(numbered[2]!, 'prev');
      assert.deepEqual(backward.urls, [...numbered].reverse());

      const third = await new Visitor(t).get(numbered[2]!);
      assert.match(third.body, /Page 3/);
      assert.match(third.body, /Best matches among the 200 newest posts that match/);
      const past = await new Visitor(t).get('/posts?q=quince+or+loquat&page=4');
      assert.equal(past.status, 404);
      assert.match(past.body, /Page not found/);
    });

    const refused: [string, string][] = [
      ['a cursor with the best-match order', 'q=quince&after=1-2'],
      ['a backward cursor with the best-match order', 'q=quince&before=1-2'],
      ['an order other than newest', 'q=quince&order=oldest'],
      ['a malformed cursor', 'q=quince&order=newest&after=abc'],
      ['a page and a cursor', 'q=quince&order=newest&page=2&after=1-2'],
      ['a page past the last one allowed', 'q=quince&page=51'],
      ['a repeated q', 'q=quince&q=preserve'],
      ['a repeated order', 'q=quince&order=newest&order=newest'],
    ];
    test('GET /posts?q=quince&order= › the Best match choice of the form (an empty order) › best match', async () => {
      const res = await new Visitor(t).get('/posts?q=quince&order=');
      assert.equal(res.status, 200);
      assert.match(res.body, /<option value="" selected>Best match<\/option>/);
    });

    for (const [situation, query] of refused) {
      test(`GET /posts?${query} › ${situation} › 404 page`, async () => {
        const res = await new Visitor(t).get(`/posts?${query}`);
        assert.equal(res.status, 404);
        assert.match(res.body, /Page not found/);
      });
    }
  });
});

describe('GET /posts?q= › snippets and titles', () => {
  let author: User;
  before(async () => {
    author = await createUser({ displayName: 'Snippet Writer' });
  });

  test('GET /posts?q= › a match in title and body › the word is marked in both, the snippet is the passage around it', async () => {
    const before = Array.from({ length: 60 }, (_, i) => `early${i}`).join(' ');
    const after = Array.from({ length: 60 }, (_, i) => `late${i}`).join(' ');
    const post = await createPost(t.db, author, {
      title: 'Seville marmalade',
      body: `${before} the bitter marmalade needs pectin ${after}`,
    });
    const { res, hits } = await search('marmalade');
    const [hit] = hits;
    assert.ok(hit);
    assert.equal(hit.id, post.id);
    assert.match(res.body, /<a href="\/posts\/\d+">Seville <mark>marmalade<\/mark><\/a>/);
    assert.equal(hit.title, 'Seville marmalade');
    assert.deepEqual(hit.titleMarks, ['marmalade']);
    assert.deepEqual(hit.snippetMarks, ['marmalade']);
    assert.match(hit.snippet, /the bitter marmalade needs pectin/);
    assert.doesNotMatch(hit.snippet, /early0 |late59/, 'the snippet is the whole body');
  });

  test('GET /posts?q= › a match in the title only › the snippet is the start of the body, unmarked', async () => {
    await createPost(t.db, author, { title: 'Fig chutney', body: 'Start of the body. More text follows here.' });
    const { hits } = await search('fig');
    assert.equal(hits.length, 1);
    assert.deepEqual(hits[0]?.titleMarks, ['Fig']);
    assert.deepEqual(hits[0]?.snippetMarks, []);
    assert.match(hits[0]?.snippet ?? '', /^Start of the body\./);
  });

  test('GET /posts?q= › a title with Markdown characters › shown as typed, as on the post itself', async () => {
    // A title is plain text, not Markdown: these characters are part of it.
    const title = 'Sorrel: **bold** claims, `npm test`, [a link](https://example.com) and ## 5 * 3';
    const post = await createPost(t.db, author, { title, body: 'Lemony leaves.' });
    const shown = await new Visitor(t).get(`/posts/${post.id}`);
    const heading = DomUtils.findOne((element) => element.name === 'h1', parseDocument(shown.body).children);
    assert.equal(heading && DomUtils.textContent(heading), title);
    const { hits } = await search('sorrel');
    assert.deepEqual(
      hits.map((hit) => hit.id),
      [post.id],
    );
    assert.equal(hits[0]?.title, title);
    assert.deepEqual(hits[0]?.titleMarks, ['Sorrel']);
  });

  const HOSTILE = [
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    '&lt;b&gt;bold&lt;/b&gt; &amp;',
    '</a></h2><script>alert(1)</script>',
    '<mark>fake</mark>',
    // The characters the search itself uses to mark matches, typed by the author.
    '\uE000fake\uE001 \uE001 \uE000',
    '\uE000<script>alert(1)</script>\uE001',
  ];
  const collapse = (text: string): string =>
    text
      .replace(/[\uE000\uE001]/g, '')
      .replace(/\s+/g, ' ')
      .trim();

  test('GET /posts?q= › hostile titles and bodies › only <mark> elements come out, the text shown as typed', async () => {
    const browser = await Visitor.loggedIn(t, author);
    const token = await browser.csrfToken();
    const expected = new Map<number, { title: string; body: string }>();
    for (const [index, payload] of HOSTILE.entries()) {
      const title = `${payload} walnut ${index}`;
      const body = `${payload} about walnut pickling ${payload}`;
      const res = await browser.submit('POST', '/posts', { title, body, published: 'on' }, { csrf: token });
      assert.equal(res.status, 303, `POST /posts with ${JSON.stringify(payload)} answered ${res.status}`);
      const id = Number(/^\/posts\/(\d+)$/.exec(String(res.headers.location))?.[1]);
      const post = await Post.findByPk(id);
      assert.equal(post?.title, title, 'the title was not stored as typed');
      expected.set(id, { title, body });
    }

    for (const query of BOTH_ORDERS) {
      const { res, hits } = await search('walnut', { query });
      assert.deepEqual(sorted(hits.map((hit) => hit.id)), sorted([...expected.keys()]));
      for (const hit of hits) {
        const { title, body } = expected.get(hit.id)!;
        const where = `the result for ${JSON.stringify(title)}`;
        assert.deepEqual(
          hit.titleElements.filter((name) => name !== 'mark'),
          [],
          `${where}: elements in its title`,
        );
        assert.deepEqual(
          hit.snippetElements.filter((name) => name !== 'mark'),
          [],
          `${where}: elements in its snippet`,
        );
        assert.deepEqual(hit.titleMarks, ['walnut'], `${where}: title marks`);
        assert.deepEqual(hit.snippetMarks, ['walnut'], `${where}: snippet marks`);
        assert.equal(collapse(hit.title), collapse(title), `${where}: the title as shown`);
        // A snippet shows passages of the body as text, without what PostgreSQL's parser takes
        // for tags (as the excerpts of /posts leave them out): each word is one the author wrote.
        assert.match(hit.snippet, /about walnut pickling/, `${where}: snippet`);
        for (const word of collapse(hit.snippet).replace(/ … /g, ' ').split(' ')) {
          assert.ok(collapse(body).includes(word), `${where}: ${JSON.stringify(word)} is not in the body`);
        }
      }
      const doc = parseDocument(res.body);
      const injected = DomUtils.findAll(
        (element) =>
          ['script', 'img', 'svg', 'b'].includes(element.name) ||
          Object.keys(element.attribs).some((name) => name.startsWith('on')),
        doc.children,
      );
      assert.deepEqual(
        injected.map((element) => DomUtils.getOuterHTML(element)),
        [],
      );
      // Only the results' marks: the typed <mark>fake</mark> stays text.
      assert.equal(DomUtils.findAll((element) => element.name === 'mark', doc.children).length, hits.length * 2);
    }
  });
});

describe('GET /posts?q= › drafts and changes', () => {
  test('GET /posts?q= › a draft › never found, also by its author; publishing, editing, unpublishing and deleting change results at once', async () => {
    const author = await createUser({ displayName: 'Draft Writer' });
    const browser = await Visitor.loggedIn(t, author);
    const token = await browser.csrfToken();
    const anonymous = new Visitor(t);
    const body = 'Stewed with cream and sugar.';

    const created = await browser.submit('POST', '/posts', { title: 'Gooseberry fool', body }, { csrf: token });
    assert.equal(created.status, 303);
    const id = Number(/^\/posts\/(\d+)$/.exec(String(created.headers.location))?.[1]);
    assert.equal((await Post.findByPk(id))?.published, false);
    assert.deepEqual(await found('gooseberry', { browser: anonymous }), []);
    assert.deepEqual(await found('gooseberry', { browser }), []);
    assert.deepEqual(await found('gooseberry', { browser, query: { order: 'newest' } }), []);
    assert.deepEqual(await found('"gooseberry fool"', { browser }), []);

    const edit = (fields: Record<string, string>) =>
      browser.submit('PUT', `/posts/${id}`, { title: 'Gooseberry fool', body, ...fields }, { csrf: token });

    assert.equal((await edit({ published: 'on' })).status, 303);
    assert.equal((await Post.findByPk(id))?.published, true);
    assert.deepEqual(await found('gooseberry', { browser: anonymous }), [id]);

    assert.equal((await edit({ title: 'Elderflower fool', published: 'on' })).status, 303);
    assert.equal((await Post.findByPk(id))?.title, 'Elderflower fool');
    assert.deepEqual(await found('gooseberry', { browser: anonymous }), []);
    assert.deepEqual(await found('elderflower', { browser: anonymous }), [id]);

    assert.equal((await edit({ title: 'Elderflower fool', body: 'Now with rhubarb.', published: 'on' })).status, 303);
    assert.deepEqual(await found('cream', { browser: anonymous }), []);
    assert.deepEqual(await found('rhubarb', { browser: anonymous }), [id]);

    assert.equal((await edit({ title: 'Elderflower fool' })).status, 303);
    assert.equal((await Post.findByPk(id))?.published, false);
    assert.deepEqual(await found('elderflower', { browser: anonymous }), []);
    assert.deepEqual(await found('elderflower', { browser }), []);

    assert.equal((await edit({ title: 'Elderflower fool', published: 'on' })).status, 303);
    assert.deepEqual(await found('elderflower', { browser: anonymous }), [id]);
    assert.equal((await browser.submit('DELETE', `/posts/${id}`, {}, { csrf: token })).status, 303);
    assert.equal(await Post.findByPk(id), null);
    assert.deepEqual(await found('elderflower', { browser: anonymous }), []);
  });
});

describe('GET /posts?q= and /users?q= › limits', () => {
  const LONG = 'x'.repeat(201);
  const WORDS = (n: number): string => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

  /** A refused search: 422, the form re-rendered with the text as typed and the message beside it. */
  function assertRefused(res: Reply, typed: string, message: RegExp): void {
    assert.equal(res.status, 422);
    const field = searchFieldIn(res.body);
    assert.equal(field?.attribs.value, typed);
    assert.equal(field?.attribs['aria-invalid'], 'true');
    assert.equal(field?.attribs['aria-describedby'], 'search-q-error');
    const error = DomUtils.findOne(
      (element) => element.attribs.id === 'search-q-error',
      parseDocument(res.body).children,
    );
    assert.ok(error, 'no #search-q-error');
    assert.match(DomUtils.textContent(error), message);
  }

  before(async () => {
    await createPost(t.db, await createUser({ username: 'xxxxlimit' }), { title: 'Limits', body: WORDS(13) });
  });

  test('GET /posts?q= › 201 characters › 422, the text kept in the field, a message and no results', async () => {
    const res = await new Visitor(t).get(searchPath(LONG));
    assertRefused(res, LONG, /Keep your search to 200 characters\./);
    assert.match(res.body, /<h1>Search posts<\/h1>/);
    assert.deepEqual(hitsIn(res.body), []);
    assert.doesNotMatch(res.body, /No published post matches|very common words|rel="next"/);
    // 200 is still a search.
    await search('x'.repeat(200));
  });

  test('GET /posts?q= › 13 words › 422 with a message; 12 words search', async () => {
    const res = await new Visitor(t).get(searchPath(WORDS(13)));
    assertRefused(res, WORDS(13), /Search for at most 12 words\./);
    assert.deepEqual(hitsIn(res.body), []);
    const twelve = await search(WORDS(12));
    assert.equal(twelve.hits.length, 1);
  });

  test('GET /users?q= › 201 characters › 422, the text kept in the field, a message and no users', async () => {
    const res = await new Visitor(t).get(`/users?q=${LONG}`);
    assertRefused(res, LONG, /Keep your search to 200 characters\./);
    assert.doesNotMatch(res.body, /xxxxlimit|class="user-name"/);
    const fine = await new Visitor(t).get('/users?q=xxxxlimit');
    assert.equal(fine.status, 200);
    assert.match(fine.body, /@xxxxlimit/);
  });

  const repeated: [string, string][] = [
    ['GET /posts?q=a&q=b', '/posts?q=a&q=b'],
    ['GET /users?q=a&q=b', '/users?q=a&q=b'],
    ['GET /posts?q=<201 characters>&q=b', `/posts?q=${LONG}&q=b`],
  ];
  for (const [name, path] of repeated) {
    test(`${name} › a repeated q › 404 page`, async () => {
      const res = await new Visitor(t).get(path);
      assert.equal(res.status, 404);
      assert.match(res.body, /Page not found/);
    });
  }
});

describe('GET /posts?q= › statements', () => {
  interface Statement {
    sql: string;
    transaction: Transaction | undefined;
  }
  const seen: Statement[] = [];
  let reader: User;
  let member: Visitor;

  before(async () => {
    t.db.sequelize.addHook('afterQuery', 'searchStatements', (options, query) => {
      seen.push({
        sql: (query as unknown as { sql: string }).sql,
        transaction: (options as { transaction?: Transaction }).transaction,
      });
    });
    reader = await createUser({ displayName: 'Budget reader' });
    member = await Visitor.loggedIn(t, reader);
    // A successful login gives back its rate-limit hit after answering: let that finish first.
    for (let waited = 0; !seen.some(({ sql }) => sql.includes('rate_limits')) && waited < 2000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  after(() => {
    t.db.sequelize.removeHook('afterQuery', 'searchStatements');
  });

  async function measure(browser: Visitor, path: string): Promise<Statement[]> {
    seen.length = 0;
    const res = await browser.get(path);
    assert.equal(res.status, 200, `${path} answered ${res.status}`);
    return [...seen];
  }

  async function addDamsons(count: number): Promise<void> {
    const author = await createUser();
    for (let i = 0; i < count; i++) {
      await createPost(t.db, author, {
        title: i % 2 ? `Damson gin ${i}` : `Hedgerow ${i}`,
        body: `Damson ${'filler '.repeat(200)} damson`,
      });
    }
  }

  const PAGES = [
    '/posts?q=damson',
    '/posts?q=damson&page=2',
    '/posts?q=damson&order=newest',
    '/posts?q=%22damson+gin%22',
    '/posts?q=%22damson+gin%22&order=newest',
    '/posts?q=damson+-hedgerow',
  ];

  test('GET /posts?q= › any search › a fixed number of statements, the same with 10× the matches, none reading whole bodies', async () => {
    await addDamsons(25);
    const small = new Map<string, Statement[]>();
    for (const path of PAGES) small.set(path, await measure(new Visitor(t), path));
    await addDamsons(250);
    for (const path of PAGES) {
      const anonymous = await measure(new Visitor(t), path);
      const loggedIn = await measure(member, path);
      const where = (who: string, statements: Statement[]) =>
        `${path} ${who}:\n${statements.map((statement) => statement.sql).join('\n')}`;
      assert.equal(anonymous.length, small.get(path)!.length, where('with more data', anonymous));
      // A read-only transaction: its timeout and the query's parse, the planner's estimate of
      // the posts holding its words, the search, the end.
      assert.equal(anonymous.length, 5, where('anonymous', anonymous));
      const [begin, parse, estimate, main, commit] = anonymous;
      assert.match(begin!.sql, /^START TRANSACTION/);
      assert.match(parse!.sql, /set_config\('statement_timeout', \$1, true\).*websearch_to_tsquery/s);
      assert.match(estimate!.sql, /^EXPLAIN \(FORMAT JSON\) SELECT/);
      assert.match(main!.sql, /search_vector @@ \$1::tsquery/);
      assert.match(commit!.sql, /^COMMIT/);
      for (const statement of [estimate, main]) {
        if (statement) assert.ok(statement.transaction === parse!.transaction, 'a statement outside the transaction');
      }
      assert.ok(parse!.transaction, 'the search ran outside a transaction');
      for (const { sql: statement } of anonymous) {
        assert.doesNotMatch(statement.replace(/left\(p\.body, \d+\)/g, ''), /\bp\.body\b/, where('body', anonymous));
        assert.doesNotMatch(statement, /password_hash|email/);
      }
      // Logged in, the same: the session store reads the account with the session.
      assert.equal(loggedIn.length, anonymous.length, where('logged in', loggedIn));
    }
  });
});

describe('GET /posts?q= › a search that takes too long', () => {
  const metric = async (): Promise<number> => {
    const res = await new Visitor(t).get('/metrics');
    assert.equal(res.status, 200);
    const value = /^search_timeouts_total (\d+)$/m.exec(res.body)?.[1];
    assert.ok(value !== undefined, 'no search_timeouts_total in /metrics');
    return Number(value);
  };

  test('GET /posts?q= › cut short by its statement timeout › 503 page with Retry-After, counted; answered once the database is free', async () => {
    const post = await createPost(t.db, await createUser(), { title: 'Tamarind paste', body: 'Sour.' });
    const timeouts = await metric();
    // Another session holds posts: the search waits for the lock until its own timeout (1 s
    // in the test settings, 10 s for other statements).
    const locker = new pg.Client({ connectionString: t.url });
    await locker.connect();
    let res: Reply;
    let waited: number;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE posts IN ACCESS EXCLUSIVE MODE');
      const start = Date.now();
      res = await new Visitor(t).get('/posts?q=tamarind');
      waited = Date.now() - start;
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    assert.equal(res.status, 503);
    assert.ok(waited >= 900 && waited < 5000, `answered after ${waited} ms`);
    assert.match(String(res.headers['retry-after']), /^\d+$/);
    assert.match(res.body, /This search took too long/);
    assert.match(res.body, /<nav class="site-nav"/);
    assert.doesNotMatch(res.body, /class="stack"|statement timeout|canceling|SequelizeDatabaseError|\n\s+at /);
    assert.equal(await metric(), timeouts + 1);

    // The short timeout was the search transaction's own: every pooled connection is back to 10 s.
    const settings = await Promise.all(
      Array.from({ length: 5 }, () =>
        t.db.sequelize.transaction(async (transaction) => {
          const [row] = await t.db.sequelize.query<{ statement_timeout: string }>(
            `SELECT current_setting('statement_timeout') AS statement_timeout, pg_sleep(0.05)`,
            { type: QueryTypes.SELECT, transaction },
          );
          return row?.statement_timeout;
        }),
      ),
    );
    assert.deepEqual(settings, Array(5).fill('10s'));

    assert.deepEqual(await found('tamarind'), [post.id]);
    assert.equal(await metric(), timeouts + 1);
  });
});

describe('GET /posts?q= › a phrase of words that many posts hold', () => {
  const BULK = 10_050;
  let author: User;
  let old: Post;
  let recent: Post;
  before(async () => {
    author = await createUser({ displayName: 'Bulk Writer' });
    old = await createPost(t.db, author, {
      title: 'Hazel coppice',
      body: 'Cut every seven years near Wychwood.',
      publishedAt: new Date('2020-01-01T00:00:00Z'),
    });
    // Newer posts holding both words, never side by side: more than the window holds.
    await t.db.sequelize.query(
      `INSERT INTO posts (author_id, title, body, published, published_at)
       SELECT $1, 'Bulk ' || n, 'coppice, then hazel ' || n, true, timestamptz '2021-01-01' + n * interval '1 minute'
         FROM generate_series(1, $2::int) AS n`,
      { bind: [author.id, BULK] },
    );
    await t.db.sequelize.query('UPDATE users SET posts_count = posts_count + $2 WHERE id = $1', {
      bind: [author.id, BULK],
    });
    // The planner's estimate of how many posts hold the words comes from the statistics.
    await t.db.sequelize.query('ANALYZE posts');
    recent = await createPost(t.db, author, { title: 'Hazel coppice walk', body: 'Bluebells.' });
  });

  test('GET /posts?q="…" › more than 5,000 posts hold its words › looked for among the 5,000 newest only, and the page says so', async () => {
    for (const query of BOTH_ORDERS) {
      const { res, hits } = await search('"hazel coppice"', { query });
      assert.deepEqual(
        hits.map((hit) => hit.id),
        [recent.id],
      );
      assert.match(res.body, /only the 5,000 newest were searched/);
    }
    const [row] = await sql<{ count: number }>(
      `SELECT count(*)::int AS count FROM posts
        WHERE published AND search_vector @@ websearch_to_tsquery('english', '"hazel coppice"')`,
    );
    assert.equal(row?.count, 2, 'the old post does hold the phrase');
  });

  test('GET /posts?q="…"&tag= › narrowed to a tag › the tag’s own newest posts are searched, the old one found too', async () => {
    await t.db.sequelize.query(
      `WITH tag AS (INSERT INTO tags (name) VALUES ('woodland') RETURNING id)
       INSERT INTO post_tags (post_id, tag_id) SELECT unnest($1::int[]), id FROM tag`,
      { bind: [[old.id, recent.id]] },
    );
    for (const query of BOTH_ORDERS) {
      const { res, hits } = await search('"hazel coppice"', { query: { ...query, tag: 'Woodland' } });
      const ids = hits.map((hit) => hit.id);
      assert.deepEqual(
        query.order ? ids : sorted(ids),
        query.order ? [recent.id, old.id] : sorted([recent.id, old.id]),
      );
      assert.match(res.body, /Only posts tagged <a href="\/tags\/woodland"/);
    }
  });

  test('GET /posts?q=hazel -coppice › a word nearly every post holding it excludes › the newest 5,000 only, not every post', async () => {
    const { res, hits } = await search('hazel -coppice');
    assert.deepEqual(hits, []);
    assert.match(res.body, /only the 5,000 newest were searched/);
  });

  test('GET /posts?q=-coppice › only an exclusion, which the index cannot serve › the newest 5,000 only', async () => {
    const { res } = await search('-coppice');
    assert.equal(res.status, 200);
    assert.match(res.body, /only the 5,000 newest were searched/);
  });

  test('GET /posts?q="…" rare › few posts hold all its words › looked for in every post, no note', async () => {
    const { res, hits } = await search('"hazel coppice" wychwood');
    assert.deepEqual(
      hits.map((hit) => hit.id),
      [old.id],
    );
    assert.doesNotMatch(res.body, /newest were searched/);
  });
});

// Last: it takes the search column away and back on this file's database.
describe('migration 20261201000100-add-posts-search', () => {
  const count = async (query: string): Promise<number> => {
    const [row] = await sql<{ count: number }>(query);
    return Number(row?.count);
  };
  const schemaObjects = async () => ({
    column: await count(
      `SELECT count(*) AS count FROM information_schema.columns WHERE table_name = 'posts' AND column_name = 'search_vector'`,
    ),
    trigger: await count(`SELECT count(*) AS count FROM pg_trigger WHERE tgname = 'posts_search_vector'`),
    functions: await count(
      `SELECT count(*) AS count FROM pg_proc WHERE proname IN ('post_search_vector', 'posts_set_search_vector')`,
    ),
    index: await count(`SELECT count(*) AS count FROM pg_indexes WHERE indexname = 'posts_search_idx'`),
  });

  test('migration › down then up › removes the column, trigger and functions, then rebuilds every vector', async () => {
    const queryInterface = t.db.sequelize.getQueryInterface();
    const author = await createUser();
    const before = await createPost(t.db, author, { title: 'Persimmon pudding', body: 'Baked slowly.' });
    assert.deepEqual(await schemaObjects(), { column: 1, trigger: 1, functions: 2, index: 1 });

    await searchMigration.down(queryInterface);
    assert.deepEqual(await schemaObjects(), { column: 0, trigger: 0, functions: 0, index: 0 });
    // Posts are still written without the column.
    const whileDown = await createPost(t.db, author, { title: 'Medlar jelly', body: 'Persimmon too.' });
    assert.ok(await Post.findByPk(before.id));

    await searchMigration.up(queryInterface);
    assert.deepEqual(await schemaObjects(), { column: 1, trigger: 1, functions: 2, index: 1 });
    assert.equal(
      await count(
        `SELECT count(*) AS count FROM posts
          WHERE search_vector IS DISTINCT FROM post_search_vector(title, body)`,
      ),
      0,
    );
    assert.deepEqual(sorted(await found('persimmon')), sorted([before.id, whileDown.id]));
    assert.deepEqual(await found('medlar'), [whileDown.id]);
    const after = await createPost(t.db, author, { title: 'Medlar cheese', body: 'Firm.' });
    assert.deepEqual(await found('medlar cheese'), [after.id]);
  });
});
