import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Comment, Post, User } from '../../src/models/index.js';
import { COMMENTS_PAGE_SIZE } from '../../src/services/comments.service.js';
import { serveApp, useTestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createComment, createPost, createUser, hex, PASSWORD } from '../support/factories.js';
import type { Reply } from '../support/http.js';
import { addComments, counterMismatches, scalar } from '../support/sql.js';

const t = useTestApp();

const loggedIn = (user: User): Promise<Visitor> => Visitor.loggedIn(t, user);
const commentsCount = async (post: Post): Promise<number> => (await Post.findByPk(post.id))!.commentsCount;
const commentsOf = (post: Post): Promise<number> => Comment.count({ where: { postId: post.id } });
/** The ids of the comments a post's page shows, in order. */
const shownIds = (html: string): number[] => [...html.matchAll(/<li id="comment-(\d+)"/g)].map((m) => Number(m[1]));
const unescape = (href: string): string => href.replace(/&amp;/g, '&');
const linkIn = (html: string, rel: 'prev' | 'next'): string | undefined => {
  const href = new RegExp(`href="([^"]+)" rel="${rel}"`).exec(html)?.[1];
  return href === undefined ? undefined : unescape(href);
};
const withoutAnchor = (url: string): string => url.replace(/#.*$/, '');

describe('POST /posts/:id/comments', () => {
  let author: User;
  let post: Post;
  before(async () => {
    author = await createUser({ displayName: 'Ada Lovelace' });
    post = await createPost(t.db, author, { title: 'A post to talk about' });
  });

  test('a member’s comment › 303 to it in the thread; shown under the post as typed; counted', async () => {
    const reader = await createUser({ displayName: 'Grace Hopper' });
    const browser = await loggedIn(reader);
    const body = 'First line <b>not bold</b>\n\nSecond paragraph & more.';
    const res = await browser.submit('POST', `/posts/${post.id}/comments`, { body });
    assert.equal(res.status, 303);
    const comment = await Comment.findOne({ where: { postId: post.id, authorId: reader.id } });
    assert.ok(comment, 'no comment written');
    assert.equal(comment.body, body);
    assert.equal(res.headers.location, `/posts/${post.id}#comment-${comment.id}`);
    assert.equal(await commentsCount(post), await commentsOf(post));

    const page = await browser.get(`/posts/${post.id}`);
    assert.equal(page.status, 200);
    assert.match(page.body, /Your comment is posted\./);
    assert.ok(shownIds(page.body).includes(comment.id));
    // Plain text: the markup shows as text, the line breaks are kept for the stylesheet.
    assert.ok(page.body.includes('First line &lt;b&gt;not bold&lt;/b&gt;\n\nSecond paragraph &amp; more.'));
    assert.match(page.body, new RegExp(`href="/users/${reader.username}">Grace Hopper</a>`));
    assert.match(page.body, new RegExp(`href="/posts/${post.id}/comments/${comment.id}" class="comment-link"`));
  });

  for (const [what, body, message] of [
    ['an empty comment', '', /Write something in your comment\./],
    ['only spaces and newlines', '  \n\n  ', /Write something in your comment\./],
    ['5,001 characters', 'x'.repeat(5001), /Keep your comment to 5,000 characters\./],
    ['a control character', 'bell \u0007 here', /Remove the control characters\./],
  ] as const) {
    test(`${what} › 422, the post page with the message and what was typed, nothing written`, async () => {
      const browser = await loggedIn(await createUser());
      const before = await commentsOf(post);
      const res = await browser.submit('POST', `/posts/${post.id}/comments`, { body });
      assert.equal(res.status, 422);
      assert.match(res.body, /<h1>A post to talk about/);
      assert.match(res.body, message);
      assert.match(res.body, /id="field-comment"[^>]*aria-invalid="true"/);
      if (body.trim() !== '') assert.ok(res.body.includes(`>${body.replace('\u0007', '\u0007')}</textarea>`));
      assert.equal(await commentsOf(post), before);
      assert.equal(await commentsCount(post), before);
    });
  }

  test('exactly 5,000 characters › accepted', async () => {
    const browser = await loggedIn(await createUser());
    const res = await browser.submit('POST', `/posts/${post.id}/comments`, { body: 'y'.repeat(5000) });
    assert.equal(res.status, 303);
  });

  test('the body sent twice › 422, nothing written', async () => {
    const browser = await loggedIn(await createUser());
    const before = await commentsOf(post);
    const token = await browser.csrfToken();
    const res = await browser.request({
      method: 'POST',
      path: `/posts/${post.id}/comments`,
      form: `_csrf=${encodeURIComponent(token)}&body=a&body=b`,
    });
    assert.equal(res.status, 422);
    assert.equal(await commentsOf(post), before);
  });

  test('anonymous › 303 to the login page, nothing written', async () => {
    const before = await commentsOf(post);
    const res = await new Visitor(t).submit('POST', `/posts/${post.id}/comments`, { body: 'Hello' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/login');
    assert.equal(await commentsOf(post), before);
  });

  test('without a CSRF token, or a wrong one › 403, nothing written', async () => {
    const browser = await loggedIn(await createUser());
    const before = await commentsOf(post);
    for (const csrf of [null, 'not-the-token']) {
      const res = await browser.submit('POST', `/posts/${post.id}/comments`, { body: 'Hello' }, { csrf });
      assert.equal(res.status, 403);
    }
    assert.equal(await commentsOf(post), before);
  });

  test('a draft › 403 for its author, 404 for anyone else; nothing written', async () => {
    const draft = await createPost(t.db, author, { published: false });
    const own = await (await loggedIn(author)).submit('POST', `/posts/${draft.id}/comments`, { body: 'Hi' });
    assert.equal(own.status, 403);
    assert.match(own.body, /Comments open once the post is published\./);
    const other = await (
      await loggedIn(await createUser())
    ).submit('POST', `/posts/${draft.id}/comments`, {
      body: 'Hi',
    });
    assert.equal(other.status, 404);
    assert.equal(await commentsOf(draft), 0);
  });

  for (const id of ['2147483647', '0', 'abc', '1e3', '99999999999']) {
    test(`an unknown or malformed post id (${id}) › 404`, async () => {
      const res = await (await loggedIn(await createUser())).submit('POST', `/posts/${id}/comments`, { body: 'Hi' });
      assert.equal(res.status, 404);
    });
  }

  test('the post page › the form for members, a login link for visitors, no form under a draft', async () => {
    const member = await (await loggedIn(await createUser())).get(`/posts/${post.id}`);
    assert.match(member.body, new RegExp(`<form method="post" action="/posts/${post.id}/comments"`));
    const visitor = await new Visitor(t).get(`/posts/${post.id}`);
    assert.doesNotMatch(visitor.body, /action="\/posts\/\d+\/comments"/);
    assert.match(visitor.body, new RegExp(`href="/login\\?returnTo=%2Fposts%2F${post.id}">Log in</a> to comment`));
    const draft = await createPost(t.db, author, { published: false });
    const own = await (await loggedIn(author)).get(`/posts/${draft.id}`);
    assert.doesNotMatch(own.body, /action="\/posts\/\d+\/comments"/);
    assert.match(own.body, /Comments open once the post is published\./);
  });

  test('over the limit per account › 429, nothing written; another account still comments', async () => {
    const app = await serveApp(t.db, { commentLimitPerAccount: 2 });
    try {
      const target = await createPost(t.db, author);
      const busy = await Visitor.loggedIn(app, await createUser());
      for (let i = 0; i < 2; i++) {
        assert.equal((await busy.submit('POST', `/posts/${target.id}/comments`, { body: `n ${i}` })).status, 303);
      }
      const third = await busy.submit('POST', `/posts/${target.id}/comments`, { body: 'one too many' });
      assert.equal(third.status, 429);
      assert.match(String(third.headers['retry-after']), /^\d+$/);
      const other = await Visitor.loggedIn(app, await createUser());
      assert.equal((await other.submit('POST', `/posts/${target.id}/comments`, { body: 'mine' })).status, 303);
      assert.equal(await commentsOf(target), 3);
      assert.equal(await commentsCount(target), 3);
    } finally {
      await app.close();
    }
  });
});

describe('a long thread', () => {
  const TOTAL = 2 * COMMENTS_PAGE_SIZE + 20;
  let post: Post;
  let ids: number[];
  before(async () => {
    const author = await createUser();
    post = await createPost(t.db, author);
    await addComments(t.sql, post.id, (await createUser()).id, TOTAL);
    ids = (await Comment.findAll({ where: { postId: post.id }, order: [['createdAt', 'ASC']] })).map((c) => c.id);
  });

  test('the first page › the 50 oldest, oldest first, a link to the later ones and none back', async () => {
    const res = await new Visitor(t).get(`/posts/${post.id}`);
    assert.equal(res.status, 200);
    assert.match(res.body, new RegExp(`${TOTAL} comments`));
    assert.deepEqual(shownIds(res.body), ids.slice(0, COMMENTS_PAGE_SIZE));
    assert.ok(linkIn(res.body, 'next'));
    assert.equal(linkIn(res.body, 'prev'), undefined);
  });

  test('following “later” to the end, then “earlier” back › every comment once, in order', async () => {
    const browser = new Visitor(t);
    const seen: number[] = [];
    let url: string | undefined = `/posts/${post.id}`;
    let last = '';
    while (url) {
      const res = await browser.get(withoutAnchor(url));
      assert.equal(res.status, 200, url);
      seen.push(...shownIds(res.body));
      last = res.body;
      url = linkIn(res.body, 'next');
    }
    assert.deepEqual(seen, ids);
    const back = await browser.get(withoutAnchor(linkIn(last, 'prev')!));
    assert.deepEqual(shownIds(back.body), ids.slice(COMMENTS_PAGE_SIZE, 2 * COMMENTS_PAGE_SIZE));
  });

  for (const query of [
    'after=9999999999999999-1',
    'before=1-1',
    'after=abc',
    'after=1-1&before=1-1',
    'after=1-99999999999',
  ]) {
    test(`?${query} › 404`, async () => {
      const res = await new Visitor(t).get(`/posts/${post.id}?${query}`);
      assert.equal(res.status, 404);
    });
  }

  test('a comment’s stable link › 302 to the page that shows it, at its anchor', async () => {
    const browser = new Visitor(t);
    for (const index of [0, COMMENTS_PAGE_SIZE - 1, COMMENTS_PAGE_SIZE, TOTAL - 1]) {
      const id = ids[index]!;
      const res = await browser.get(`/posts/${post.id}/comments/${id}`);
      assert.equal(res.status, 302);
      const location = String(res.headers.location);
      assert.ok(location.endsWith(`#comment-${id}`), location);
      if (index < COMMENTS_PAGE_SIZE) assert.equal(location, `/posts/${post.id}#comment-${id}`);
      const page = await browser.get(withoutAnchor(location));
      assert.ok(shownIds(page.body).includes(id), `comment ${index} not on ${location}`);
    }
  });

  test('a comment’s link under another post, or an unknown comment › 404', async () => {
    const other = await createPost(t.db, await createUser());
    assert.equal((await new Visitor(t).get(`/posts/${other.id}/comments/${ids[0]}`)).status, 404);
    assert.equal((await new Visitor(t).get(`/posts/${post.id}/comments/2147483647`)).status, 404);
    assert.equal((await new Visitor(t).get(`/posts/${post.id}/comments/x1`)).status, 404);
  });
});

describe('editing and deleting a comment', () => {
  type Who = 'anonymous' | 'commenter' | 'postAuthor' | 'other' | 'admin';
  interface Scene {
    post: Post;
    postAuthor: User;
    commenter: User;
    comment: Comment;
    browser: Visitor;
  }
  async function arrange(who: Who): Promise<Scene> {
    const postAuthor = await createUser();
    const commenter = await createUser();
    const post = await createPost(t.db, postAuthor);
    const comment = await createComment(t.db, post, commenter, 'What I first said.');
    const actor =
      who === 'commenter'
        ? commenter
        : who === 'postAuthor'
          ? postAuthor
          : who === 'other'
            ? await createUser()
            : who === 'admin'
              ? await createUser({ role: 'admin' })
              : undefined;
    return { post, postAuthor, commenter, comment, browser: actor ? await loggedIn(actor) : new Visitor(t) };
  }
  const url = (s: Scene): string => `/posts/${s.post.id}/comments/${s.comment.id}`;
  const body = async (s: Scene): Promise<string | undefined> => (await Comment.findByPk(s.comment.id))?.body;

  const editing: Record<Who, number> = { anonymous: 303, commenter: 200, postAuthor: 403, other: 403, admin: 403 };
  for (const [who, status] of Object.entries(editing) as [Who, number][]) {
    test(`GET …/edit › ${who} › ${status}`, async () => {
      const s = await arrange(who);
      const res = await s.browser.get(`${url(s)}/edit`);
      assert.equal(res.status, status);
      if (status === 200) assert.match(res.body, />What I first said\.<\/textarea>/);
      if (status === 303) assert.equal(res.headers.location, `/login?returnTo=${encodeURIComponent(`${url(s)}/edit`)}`);
    });

    test(`PUT a comment › ${who} › ${status === 200 ? 303 : status}`, async () => {
      const s = await arrange(who);
      const res = await s.browser.submit('PUT', url(s), { body: 'What I meant.' });
      if (status === 200) {
        assert.equal(res.status, 303);
        assert.equal(res.headers.location, `/posts/${s.post.id}#comment-${s.comment.id}`);
        assert.equal(await body(s), 'What I meant.');
        const page = await s.browser.get(`/posts/${s.post.id}`);
        assert.match(page.body, /What I meant\./);
        assert.match(page.body, /class="comment-link">[^]*?<\/a> · edited/);
      } else {
        assert.equal(res.status, status);
        assert.equal(await body(s), 'What I first said.');
      }
    });
  }

  test('PUT with a blank comment › 422, the edit form with the message, nothing changed', async () => {
    const s = await arrange('commenter');
    const res = await s.browser.submit('PUT', url(s), { body: '   ' });
    assert.equal(res.status, 422);
    assert.match(res.body, /Write something in your comment\./);
    assert.equal(await body(s), 'What I first said.');
  });

  test('an unedited comment › not marked edited', async () => {
    const s = await arrange('other');
    const page = await s.browser.get(`/posts/${s.post.id}`);
    assert.doesNotMatch(page.body, / · edited/);
  });

  const deleting: Record<Who, number> = { anonymous: 303, commenter: 303, postAuthor: 303, other: 403, admin: 303 };
  for (const [who, status] of Object.entries(deleting) as [Who, number][]) {
    test(`DELETE a comment › ${who} › ${status}${who === 'anonymous' ? ' to the login page' : ''}`, async () => {
      const s = await arrange(who);
      const page = await s.browser.get(`/posts/${s.post.id}`);
      const res = await s.browser.submit('DELETE', url(s));
      assert.equal(res.status, status);
      const allowed = status === 303 && who !== 'anonymous';
      // The page offers the button exactly to whom the request is allowed.
      assert.equal(page.body.includes(`action="${url(s)}"`), allowed, 'delete button');
      assert.equal(await body(s), allowed ? undefined : 'What I first said.');
      assert.equal(await commentsCount(s.post), allowed ? 0 : 1);
      if (allowed) assert.equal(res.headers.location, `/posts/${s.post.id}#comments-title`);
    });
  }

  test('deleting a comment twice › the second is a 404, the count stays exact', async () => {
    const s = await arrange('commenter');
    const [first, second] = await Promise.all([s.browser.submit('DELETE', url(s)), s.browser.submit('DELETE', url(s))]);
    assert.deepEqual([first.status, second.status].sort(), [303, 404]);
    assert.equal(await commentsCount(s.post), 0);
  });

  test('a comment under a draft › 404 to others, as the draft is', async () => {
    const s = await arrange('other');
    await s.post.update({ published: false, publishedAt: null });
    assert.equal((await s.browser.get(url(s))).status, 404);
    assert.equal((await s.browser.submit('DELETE', url(s))).status, 404);
    assert.equal(await body(s), 'What I first said.');
  });
});

describe('comments_count', () => {
  test('concurrent comments and deletes on one post › the count is exact afterwards', async () => {
    const post = await createPost(t.db, await createUser());
    const people = await Promise.all(Array.from({ length: 6 }, () => createUser()));
    const browsers = await Promise.all(people.map((person) => loggedIn(person)));
    const early = await Promise.all(people.map((person) => createComment(t.db, post, person)));
    // Each session's token first: requests racing to make a session's first token would
    // each keep their own, and all but the last would be refused.
    const tokens = await Promise.all(browsers.map((browser) => browser.csrfToken()));
    const posted: Promise<Reply>[] = [];
    for (let round = 0; round < 5; round++) {
      for (const [i, browser] of browsers.entries()) {
        posted.push(browser.submit('POST', `/posts/${post.id}/comments`, { body: `r${round}` }, { csrf: tokens[i] }));
      }
    }
    const deleted = early.map((comment, i) =>
      browsers[i]!.submit('DELETE', `/posts/${post.id}/comments/${comment.id}`, {}, { csrf: tokens[i] }),
    );
    const answers = await Promise.all([...posted, ...deleted]);
    assert.ok(
      answers.every((res) => res.status === 303),
      answers.map((res) => res.status).join(' '),
    );
    assert.equal(await commentsOf(post), 30);
    assert.equal(await commentsCount(post), 30);
    assert.equal(await counterMismatches(t.sql), 0);
  });

  test('a commenter’s account deleted › their comments go and every post’s count follows', async () => {
    const commenter = await createUser();
    const [a, b] = [await createPost(t.db, await createUser()), await createPost(t.db, await createUser())];
    for (const post of [a, a, b]) await createComment(t.db, post, commenter);
    await createComment(t.db, a, await createUser());
    const own = await createPost(t.db, commenter);
    await createComment(t.db, own, await createUser());
    const browser = await loggedIn(commenter);
    const res = await browser.submit('DELETE', `/users/${commenter.username}`, { currentPassword: PASSWORD });
    assert.equal(res.status, 303);
    assert.equal(await Comment.count({ where: { authorId: commenter.id } }), 0);
    assert.equal(await commentsCount(a), 1);
    assert.equal(await commentsCount(b), 0);
    assert.equal(await Post.findByPk(own.id), null);
    assert.equal(await counterMismatches(t.sql), 0);
  });

  test('an account deleted while it comments › each comment posted, refused (its session ended) or not found; the counts exact', async () => {
    const commenter = await createUser();
    const post = await createPost(t.db, await createUser());
    const browser = await loggedIn(commenter);
    const admin = await loggedIn(await createUser({ role: 'admin' }));
    const writes = Array.from({ length: 10 }, (_, i) =>
      browser.submit('POST', `/posts/${post.id}/comments`, { body: `c${i}` }),
    );
    const removal = admin.submit('DELETE', `/users/${commenter.username}`);
    const answers = await Promise.all([...writes, removal]);
    for (const res of answers) assert.ok([303, 403, 404].includes(res.status), String(res.status));
    assert.equal(await User.findByPk(commenter.id), null);
    assert.equal(await commentsOf(post), 0);
    assert.equal(await commentsCount(post), 0);
    assert.equal(await counterMismatches(t.sql), 0);
  });

  test('the database refuses a negative count (23514)', async () => {
    const post = await createPost(t.db, await createUser());
    await assert.rejects(
      t.sql.query('UPDATE posts SET comments_count = -1 WHERE id = $1', [post.id]),
      (error: { code?: string }) => error.code === '23514',
    );
    assert.equal(await scalar<number>(t.sql, 'SELECT comments_count FROM posts WHERE id = $1', [post.id]), 0);
  });

  test('a post deleted › its comments go with it', async () => {
    const author = await createUser();
    const post = await createPost(t.db, author);
    await createComment(t.db, post, await createUser(), `bye ${hex()}`);
    const res = await (await loggedIn(author)).submit('DELETE', `/posts/${post.id}`);
    assert.equal(res.status, 303);
    assert.equal(await commentsOf(post), 0);
  });
});
