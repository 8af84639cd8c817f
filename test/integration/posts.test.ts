import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Post, User } from '../../src/models/index.js';
import { useTestApp } from '../support/app.js';
import { counterMismatches } from '../support/sql.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser, PASSWORD } from '../support/factories.js';

const t = useTestApp();

const loggedIn = (user: User): Promise<Visitor> => Visitor.loggedIn(t, user);

describe('GET / and GET /posts', () => {
  let author: User;
  before(async () => {
    author = await createUser({ displayName: 'Ada Lovelace' });
    // 25 published posts, one a minute apart, and a draft that must never be listed.
    const start = Date.UTC(2026, 0, 1);
    for (let i = 1; i <= 25; i++) {
      await createPost(t.db, author, { title: `Listed post ${i}`, publishedAt: new Date(start + i * 60_000) });
    }
    await createPost(t.db, author, { title: 'Secret draft', published: false });
  });

  test('home › shows the latest published posts with their authors', async () => {
    const res = await new Visitor(t).get('/');
    assert.equal(res.status, 200);
    assert.match(res.body, /Listed post 25/);
    assert.match(res.body, /Ada Lovelace/);
    assert.doesNotMatch(res.body, /Secret draft/);
  });

  test('index › lists 20 a page, newest first, with a link to the next page', async () => {
    const res = await new Visitor(t).get('/posts');
    assert.equal(res.status, 200);
    assert.equal(res.body.match(/class="post-summary"/g)?.length, 20);
    assert.ok(res.body.indexOf('Listed post 25') < res.body.indexOf('Listed post 24'));
    assert.doesNotMatch(res.body, /Listed post 5</);
    assert.match(res.body, /href="\/posts\?after=\d+-\d+" rel="next"/);
    assert.doesNotMatch(res.body, /rel="prev"/);
    assert.doesNotMatch(res.body, /Secret draft/);
  });

  test('index › the next page holds the rest and links back', async () => {
    const browser = new Visitor(t);
    const first = await browser.get('/posts');
    const next = /href="(\/posts\?after=[^"]+)" rel="next"/.exec(first.body)?.[1];
    assert.ok(next, 'no next link');
    const res = await browser.get(next.replace(/&amp;/g, '&'));
    assert.equal(res.status, 200);
    assert.match(res.body, /Listed post 5</);
    assert.match(res.body, /Listed post 1</);
    assert.doesNotMatch(res.body, /Listed post 6</);
    assert.match(res.body, /href="\/posts\?before=\d+-\d+" rel="prev"/);
    assert.doesNotMatch(res.body, /rel="next"/);
  });

  test('index › ?page=2, as old bookmarks have it, still opens the second page', async () => {
    const res = await new Visitor(t).get('/posts?page=2');
    assert.equal(res.status, 200);
    assert.match(res.body, /Listed post 5</);
    assert.match(res.body, /href="\/posts\?before=\d+-\d+" rel="prev"/);
  });

  for (const page of ['3', '0', '-1', 'abc', '1.5', '51', '99999999999', "1' OR '1'='1"]) {
    test(`index › page ${JSON.stringify(page)} past the end or malformed › 404 page`, async () => {
      const res = await new Visitor(t).get(`/posts?page=${encodeURIComponent(page)}`);
      assert.equal(res.status, 404);
      assert.match(res.body, /Page not found/);
    });
  }

  test('index › ?q= finds posts by title and body, and keeps the query in the form', async () => {
    const walker = await createUser();
    await createPost(t.db, walker, { title: 'Hiking in the Alps', body: 'Lots of snow.' });
    await createPost(t.db, walker, { title: 'Bread', body: 'A sourdough starter needs hiking boots? No.' });
    const res = await new Visitor(t).get('/posts?q=HIKING');
    assert.equal(res.status, 200);
    assert.match(res.body, /<mark>Hiking<\/mark> in the Alps/);
    assert.match(res.body, />Bread</);
    assert.match(res.body, /needs <mark>hiking<\/mark> boots/);
    assert.doesNotMatch(res.body, /Listed post/);
    assert.match(res.body, /value="HIKING"/);
  });

  test('index › ?q= of punctuation alone › says it has no word to search for', async () => {
    const writer = await createUser();
    await createPost(t.db, writer, { title: 'Discount of 100% today' });
    const literal = await new Visitor(t).get(`/posts?q=${encodeURIComponent('100%')}`);
    assert.match(literal.body, /Discount of <mark>100<\/mark>% today/);
    const punctuation = await new Visitor(t).get(`/posts?q=${encodeURIComponent('%_%')}`);
    assert.equal(punctuation.status, 200);
    assert.match(punctuation.body, /only very common words/);
  });

  test('index › a search with no match says so', async () => {
    const res = await new Visitor(t).get('/posts?q=zebra-quantum');
    assert.equal(res.status, 200);
    assert.match(res.body, /No published post matches your search/);
  });
});

describe('GET /posts/:id', () => {
  test('renders the Markdown body, sanitized', async () => {
    const author = await createUser();
    const post = await createPost(t.db, author, {
      title: 'Formatting <b>test</b>',
      body: '## Heading\n\n**strong** [link](https://example.com) <script>alert(1)</script> [x](javascript:alert(1))',
    });
    const res = await new Visitor(t).get(`/posts/${post.id}`);
    assert.equal(res.status, 200);
    assert.match(res.body, /<h2>Heading<\/h2>/);
    assert.match(res.body, /<strong>strong<\/strong>/);
    assert.match(res.body, /<a href="https:\/\/example.com" rel="nofollow noopener noreferrer">link<\/a>/);
    assert.match(res.body, /Formatting &lt;b&gt;test&lt;\/b&gt;/);
    assert.doesNotMatch(res.body, /<script>alert/);
    assert.doesNotMatch(res.body, /javascript:/);
  });

  for (const id of ['0', 'abc', '1e3', '-5', '2147483648', '12abc']) {
    test(`malformed id ${id} › 404`, async () => {
      const res = await new Visitor(t).get(`/posts/${id}`);
      assert.equal(res.status, 404);
    });
  }

  test('unknown id › 404', async () => {
    const res = await new Visitor(t).get('/posts/2147483647');
    assert.equal(res.status, 404);
    assert.match(res.body, /could not find that post/);
  });

  test('a draft › 404 for anonymous visitors and other members, shown to its author and admins', async () => {
    const author = await createUser();
    const draft = await createPost(t.db, author, { title: 'Half-written', published: false });
    assert.equal((await new Visitor(t).get(`/posts/${draft.id}`)).status, 404);
    assert.equal((await (await loggedIn(await createUser())).get(`/posts/${draft.id}`)).status, 404);
    const own = await (await loggedIn(author)).get(`/posts/${draft.id}`);
    assert.equal(own.status, 200);
    assert.match(own.body, /Half-written/);
    const admin = await (await loggedIn(await createUser({ role: 'admin' }))).get(`/posts/${draft.id}`);
    assert.equal(admin.status, 200);
  });
});

describe('writing a post', () => {
  test('GET /posts/new anonymous › 303 to login, which returns there afterwards', async () => {
    const browser = new Visitor(t);
    const res = await browser.get('/posts/new');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/login?returnTo=%2Fposts%2Fnew');
    const user = await createUser();
    const login = await browser.submit('POST', '/login', {
      login: user.username,
      password: PASSWORD,
      returnTo: '/posts/new',
    });
    assert.equal(login.headers.location, '/posts/new');
  });

  test('POST /posts › creates the post, bumps posts_count in the same transaction, 303 to it', async () => {
    const author = await createUser();
    const browser = await loggedIn(author);
    const res = await browser.submit('POST', '/posts', {
      title: '  My first post  ',
      body: 'Hello *world*',
      published: 'on',
    });
    assert.equal(res.status, 303);
    const post = await Post.findOne({ where: { authorId: author.id } });
    assert.ok(post);
    assert.equal(res.headers.location, `/posts/${post.id}`);
    assert.equal(post.title, 'My first post');
    assert.equal(post.published, true);
    assert.ok(post.publishedAt);
    await author.reload();
    assert.equal(author.postsCount, 1);
    const page = await browser.get(`/posts/${post.id}`);
    assert.match(page.body, /Your post is published/);
    assert.match(page.body, /<em>world<\/em>/);
  });

  test('POST /posts without the box ticked › saves a draft', async () => {
    const author = await createUser();
    const browser = await loggedIn(author);
    const res = await browser.submit('POST', '/posts', { title: 'Draft', body: 'Later' });
    assert.equal(res.status, 303);
    const post = await Post.findOne({ where: { authorId: author.id } });
    assert.equal(post?.published, false);
    assert.equal(post?.publishedAt, null);
  });

  const invalid: [string, Record<string, string>, RegExp][] = [
    ['a blank title', { title: '   ', body: 'text' }, /Give your post a title/],
    ['a title over 200 characters', { title: 'x'.repeat(201), body: 'text' }, /Keep the title to 200 characters/],
    ['an empty body', { title: 'Title', body: ' \n ' }, /Write something in the body/],
    [
      'a body over 100,000 characters',
      { title: 'Title', body: 'x'.repeat(100_001) },
      /Keep the body to 100,000 characters/,
    ],
  ];
  for (const [situation, fields, message] of invalid) {
    test(`POST /posts with ${situation} › 422, the form again with the message and the input kept`, async () => {
      const author = await createUser();
      const browser = await loggedIn(author);
      const res = await browser.submit('POST', '/posts', { ...fields, published: 'on' });
      assert.equal(res.status, 422);
      assert.match(res.body, message);
      assert.match(res.body, /aria-invalid="true"/);
      if (fields.title && fields.title.trim() && fields.title.length < 50)
        assert.match(res.body, new RegExp(`value="${fields.title}"`));
      assert.match(res.body, /name="published" value="on" checked/);
      assert.equal(await Post.count({ where: { authorId: author.id } }), 0);
      await author.reload();
      assert.equal(author.postsCount, 0);
    });
  }

  test('POST /posts with a field repeated (an array) › 422, not a 500', async () => {
    const browser = await loggedIn(await createUser());
    const token = await browser.csrfToken();
    const res = await browser.request({
      method: 'POST',
      path: '/posts',
      form: `_csrf=${token}&title=a&title=b&body=x`,
    });
    assert.equal(res.status, 422);
  });
});

describe('editing and deleting a post', () => {
  let author: User;
  let other: User;
  before(async () => {
    author = await createUser();
    other = await createUser();
  });

  test('GET /posts/:id/edit › the author gets the form filled in', async () => {
    const post = await createPost(t.db, author, { title: 'Editable' });
    const res = await (await loggedIn(author)).get(`/posts/${post.id}/edit`);
    assert.equal(res.status, 200);
    assert.match(res.body, /value="Editable"/);
    assert.match(res.body, /name="_method" value="PUT"/);
  });

  test('PUT /posts/:id › the author saves changes, 303 to the post', async () => {
    const post = await createPost(t.db, author, { title: 'Before' });
    const res = await (
      await loggedIn(author)
    ).submit('PUT', `/posts/${post.id}`, { title: 'After', body: 'New body', published: 'on' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/posts/${post.id}`);
    await post.reload();
    assert.equal(post.title, 'After');
    assert.equal(post.body, 'New body');
  });

  test('PUT /posts/:id › unpublishing clears published_at; publishing again sets it', async () => {
    const post = await createPost(t.db, author);
    const browser = await loggedIn(author);
    await browser.submit('PUT', `/posts/${post.id}`, { title: 'T', body: 'B' });
    await post.reload();
    assert.equal(post.published, false);
    assert.equal(post.publishedAt, null);
    await browser.submit('PUT', `/posts/${post.id}`, { title: 'T', body: 'B', published: 'on' });
    await post.reload();
    assert.equal(post.published, true);
    assert.ok(post.publishedAt);
  });

  test('PUT /posts/:id with invalid input › 422 and the post is unchanged', async () => {
    const post = await createPost(t.db, author, { title: 'Stable' });
    const res = await (await loggedIn(author)).submit('PUT', `/posts/${post.id}`, { title: '', body: 'changed' });
    assert.equal(res.status, 422);
    assert.match(res.body, /value="" /);
    assert.match(res.body, />changed<\/textarea>/);
    await post.reload();
    assert.equal(post.title, 'Stable');
  });

  test('PUT /posts/:id by another member › 403 and the post is unchanged', async () => {
    const post = await createPost(t.db, author, { title: 'Mine' });
    const res = await (
      await loggedIn(other)
    ).submit('PUT', `/posts/${post.id}`, { title: 'Hijacked', body: 'x', published: 'on' });
    assert.equal(res.status, 403);
    assert.match(res.body, /Only the author or an admin/);
    await post.reload();
    assert.equal(post.title, 'Mine');
  });

  test('DELETE /posts/:id › the author deletes it and posts_count drops in the same transaction', async () => {
    const writer = await createUser();
    const post = await createPost(t.db, writer);
    await createPost(t.db, writer);
    const res = await (await loggedIn(writer)).submit('DELETE', `/posts/${post.id}`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/posts');
    assert.equal(await Post.findByPk(post.id), null);
    await writer.reload();
    assert.equal(writer.postsCount, 1);
  });

  test('DELETE twice at once › one deletes, the other gets 404, the counter drops once', async () => {
    const writer = await createUser();
    const post = await createPost(t.db, writer);
    await createPost(t.db, writer);
    const [a, b] = [await loggedIn(writer), await loggedIn(writer)];
    const results = await Promise.all([
      a.submit('DELETE', `/posts/${post.id}`),
      b.submit('DELETE', `/posts/${post.id}`),
    ]);
    const statuses = results.map((r) => r.status).sort();
    assert.ok(statuses[0] === 303 && (statuses[1] === 404 || statuses[1] === 303), `got ${statuses.join(',')}`);
    await writer.reload();
    assert.equal(writer.postsCount, 1);
  });
});

describe('CSRF', () => {
  const cases: [string, 'POST' | 'PUT' | 'DELETE', (id: number) => string][] = [
    ['POST /posts', 'POST', () => '/posts'],
    ['PUT /posts/:id', 'PUT', (id) => `/posts/${id}`],
    ['DELETE /posts/:id', 'DELETE', (id) => `/posts/${id}`],
  ];
  for (const [route, method, path] of cases) {
    for (const [how, csrf] of [
      ['without a token', null],
      ['with a wrong token', 'f'.repeat(64)],
    ] as const) {
      test(`${route} ${how} › 403 and nothing written`, async () => {
        const author = await createUser();
        const post = await createPost(t.db, author, { title: 'Original' });
        const browser = await loggedIn(author);
        const res = await browser.submit(
          method,
          path(post.id),
          { title: 'Changed', body: 'x', published: 'on' },
          { csrf },
        );
        assert.equal(res.status, 403);
        assert.match(res.body, /form has expired/);
        await post.reload();
        assert.equal(post.title, 'Original');
        assert.equal(await Post.count({ where: { authorId: author.id } }), 1);
      });
    }
  }
});

test('after everything above, every posts_count is exact', async () => {
  assert.equal(await counterMismatches(t.sql), 0);
  assert.ok((await User.count()) > 0);
});

describe('previewing a post (no JavaScript needed)', () => {
  test('POST /posts with Preview › 200, the form again with the sanitized rendering beside it, nothing saved', async () => {
    const author = await createUser();
    const browser = await loggedIn(author);
    const res = await browser.submit('POST', '/posts', {
      title: 'Draft title',
      body: '**bold** <script>alert(1)</script>',
      preview: '1',
    });
    assert.equal(res.status, 200);
    assert.match(res.body, /<h2 id="preview-title">Preview<\/h2>/);
    assert.match(res.body, /<strong>bold<\/strong>/);
    assert.doesNotMatch(res.body, /<script>alert/);
    assert.match(res.body, /value="Draft title"/);
    assert.match(res.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/textarea>/);
    assert.equal(await Post.count({ where: { authorId: author.id } }), 0);
  });

  test('PUT /posts/:id with Preview › the post is unchanged', async () => {
    const author = await createUser();
    const post = await createPost(t.db, author, { title: 'Saved title', body: 'saved' });
    const res = await (
      await loggedIn(author)
    ).submit('PUT', `/posts/${post.id}`, {
      title: 'Changed',
      body: '# Changed',
      preview: '1',
    });
    assert.equal(res.status, 200);
    assert.match(res.body, /<h1>Changed<\/h1>/);
    await post.reload();
    assert.equal(post.title, 'Saved title');
  });

  test('Preview with an invalid title › 422 with the error, and the preview still shown', async () => {
    const browser = await loggedIn(await createUser());
    const res = await browser.submit('POST', '/posts', { title: '', body: '_soon_', preview: '1' });
    assert.equal(res.status, 422);
    assert.match(res.body, /Give your post a title/);
    assert.match(res.body, /<em>soon<\/em>/);
  });
});
