import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { DomUtils } from 'htmlparser2';
import { QueryTypes } from 'sequelize';
import { Comment, Post, User } from '../../src/models/index.js';
import { useTestApp } from '../support/app.js';
import { counterMismatches } from '../support/sql.js';
import { type Reply } from '../support/http.js';
import { Visitor } from '../support/browser.js';
import { createPost, createUser, PASSWORD, hex } from '../support/factories.js';
import {
  assertFieldValue,
  assertSafeHtml,
  assertShowsText,
  fieldValue,
  type HtmlDocument,
  htmlProblems,
  SAME_SITE_PATH,
} from '../support/html-safety.js';

const t = useTestApp();

const loggedIn = (user: User): Promise<Visitor> => Visitor.loggedIn(t, user);

// ---------------------------------------------------------------------------------------
// The HTML safety oracle
// ---------------------------------------------------------------------------------------

/** GET `path`, expect `status`, and check the page with the oracle. */
async function visit(browser: Visitor, path: string, status = 200): Promise<{ res: Reply; doc: HtmlDocument }> {
  const res = await browser.get(path);
  assert.equal(res.status, status, `GET ${path} answered ${res.status}, expected ${status}`);
  return { res, doc: assertSafeHtml(res.body, `GET ${path}`) };
}

function assertStatus(res: Reply, expected: number | number[], what: string): void {
  const allowed = Array.isArray(expected) ? expected : [expected];
  assert.ok(allowed.includes(res.status), `${what} answered ${res.status}, expected ${allowed.join(' or ')}`);
}

function assertNoServerError(res: Reply, what: string): void {
  assert.ok(res.status < 500, `${what} answered ${res.status}`);
}

const page = (body: string): string =>
  `<!doctype html><html><head><title>t</title><link rel="stylesheet" href="/static/site.css"></head><body>${body}</body></html>`;

/**
 * Full-text search drops what its parser reads as markup (<script>…</script> holds no
 * word): a results page lists a post exactly when PostgreSQL says the query matches it.
 */
async function assertListedAsMatched(html: string, q: string, postId: number): Promise<void> {
  const [verdict] = await t.db.sequelize.query<{ matches: boolean }>(
    `SELECT search_vector @@ websearch_to_tsquery('english', $1) AS matches FROM posts WHERE id = $2`,
    { bind: [q, postId], type: QueryTypes.SELECT },
  );
  const listed = html.includes(`href="/posts/${postId}"`);
  assert.equal(listed, verdict!.matches, `q=${q}: ${listed ? 'listed' : 'did not list'} post ${postId}`);
}

describe('the HTML safety oracle', () => {
  const unsafe: [string, string, RegExp][] = [
    ['a script element', '<script>alert(1)</script>', /<script> element/],
    ['a script after a closed textarea', '<textarea></textarea><script>alert(1)</script>', /<script> element/],
    ['an event handler', '<p onclick="alert(1)">x</p>', /event handler attribute onclick/],
    ['an attribute breakout', '<input value="" onmouseover="alert(1)">', /event handler attribute onmouseover/],
    ['a javascript: link', '<a href="javascript:alert(1)">x</a>', /href with a javascript/],
    ['a mixed-case javascript: link', '<a href=" JaVaScRiPt:alert(1)">x</a>', /href with a javascript/],
    ['an entity-encoded javascript: link', '<a href="&#106;avascript:alert(1)">x</a>', /href with a javascript/],
    ['a tab inside javascript:', '<a href="jav&#x09;ascript:alert(1)">x</a>', /href with a javascript/],
    ['a control character before javascript:', '<a href="\u0001javascript:alert(1)">x</a>', /href/],
    ['a vbscript: link', '<a href="vbscript:msgbox(1)">x</a>', /href with a javascript/],
    ['a data: image', '<img src="data:image/svg+xml,<svg onload=alert(1)>">', /src with a javascript/],
    ['an svg beyond inert shapes', '<svg><circle r="1"></circle></svg>', /<svg> containing <circle>/],
    ['an svg with a script', '<svg><script>alert(1)</script></svg>', /<script> element/],
    ['an svg with a handler', '<svg onload="alert(1)"><rect/></svg>', /event handler attribute onload/],
    [
      'an svg with a foreign object',
      '<svg><foreignObject><p>x</p></foreignObject></svg>',
      /<svg> containing <foreignobject>/i,
    ],
    ['a math element with xlink:href', '<math><mi xlink:href="javascript:alert(1)">x</mi></math>', /<math>.*|xlink/],
    ['an iframe', '<iframe src="https://example.com"></iframe>', /<iframe> element/],
    ['an object', '<object data="x.swf"></object>', /<object> element/],
    ['an embed', '<embed src="x.swf">', /<embed> element/],
    ['a base element', '<base href="https://evil.example/">', /<base> element/],
    ['a meta refresh', '<meta http-equiv="refresh" content="0;url=https://evil.example">', /<meta http-equiv>/],
    ['a form posting off site', '<form action="https://evil.example/steal"></form>', /<form> whose action/],
    ['a form posting to a protocol-relative URL', '<form action="//evil.example"></form>', /<form> whose action/],
    ['a form without an action', '<form method="post"></form>', /<form> whose action/],
    ['a button with formaction', '<button formaction="javascript:alert(1)">x</button>', /formaction/],
    ['a style element', '<style>body{display:none}</style>', /<style> element/],
    ['a style attribute', '<div style="background:url(x)">x</div>', /style attribute/],
  ];
  for (const [situation, snippet, message] of unsafe) {
    test(`a page with ${situation} › fails with a message naming it`, () => {
      assert.throws(() => assertSafeHtml(page(snippet), 'the sample'), message);
    });
  }

  const safe: [string, string][] = [
    [
      'an inert chart',
      '<svg viewBox="0 0 10 10" role="img"><title>Chart</title><line x1="0" y1="9" x2="10" y2="9"/><rect x="1" y="1" width="2" height="8"><title>1 post</title></rect><text x="0" y="10">Jan</text></svg>',
    ],
    ['escaped markup as text', '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>'],
    ['an escaped attribute breakout', '<input value="&quot; onmouseover=&quot;alert(1)">'],
    ['handler-like text', '<p>onclick=alert(1) javascript:alert(1)</p>'],
    ['an https link whose path says javascript:', '<a href="https://example.com/javascript:alert(1)">x</a>'],
    ['a form posting to this site', '<form method="post" action="/posts"><button>Go</button></form>'],
  ];
  for (const [situation, snippet] of safe) {
    test(`a page with ${situation} › passes`, () => {
      assert.deepEqual(htmlProblems(page(snippet)), []);
    });
  }

  test('the real home, signup, login and new-post pages › pass', async () => {
    await createPost(t.db, await createUser());
    const anonymous = new Visitor(t);
    for (const path of ['/', '/posts', '/users', '/signup', '/login']) await visit(anonymous, path);
    const member = await loggedIn(await createUser());
    for (const path of ['/', '/posts/new']) await visit(member, path);
  });
});

// ---------------------------------------------------------------------------------------
// XSS payloads in every text field, on every page that shows it
// ---------------------------------------------------------------------------------------

const DATA_HTML = 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==';

const XSS_PAYLOADS = [
  '<script>alert(1)</script>',
  '"><script>alert(1)</script>',
  "'><img src=x onerror=alert(1)>",
  '<img src=x onerror=alert(1)>',
  '<svg onload=alert(1)>',
  '<svg><script>alert(1)</script></svg>',
  'javascript:alert(1)',
  '[x](javascript:alert(1))',
  '[x](JaVaScRiPt:alert(1))',
  '[x](&#106;avascript:alert(1))',
  '<a href="jav&#x09;ascript:alert(1)">x</a>',
  '<a href="&#x6A;&#x61;vascript&colon;alert(1)">x</a>',
  '<a href=" javascript:alert(1)">x</a>',
  '<iframe src=javascript:alert(1)>',
  '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
  '<div style="background:url(javascript:alert(1))">x</div>',
  '" onmouseover="alert(1)',
  "' autofocus onfocus='alert(1)",
  '</textarea><script>alert(1)</script>',
  '</title><script>alert(1)</script>',
  '%3Cscript%3Ealert(1)%3C/script%3E',
  '&lt;script&gt;alert(1)&lt;/script&gt;',
  '<scr<script>ipt>alert(1)</script>',
  `[x](${DATA_HTML})`,
  `<a href="${DATA_HTML}">x</a>`,
  '![x](javascript:alert(1))',
  '![x](https://example.com/x.png"onerror="alert(1))',
  '[x](https://example.com "t\\" onmouseover=\\"alert(1)")',
  '[x](vbscript:msgbox(1))',
  '<details open ontoggle=alert(1)>',
  '<a href="https://example.com" onclick="alert(1)">x</a>',
  '<form action="https://evil.example"><button>x</button></form>',
  '<base href="https://evil.example/">',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<object data="javascript:alert(1)"></object>',
  '<embed src="javascript:alert(1)">',
  '<style>body{display:none}</style>',
  // Unicode-escaped variants: JavaScript escapes typed as text, and full-width brackets.
  '\\u003cscript\\u003ealert(1)\\u003c/script\\u003e',
  '＜script＞alert(1)＜/script＞',
  '<img src=x onerror=\\u0061lert(1)>',
];

const DISPLAY_NAME_MAX = 50;

for (const [index, payload] of XSS_PAYLOADS.entries()) {
  describe(`XSS payload ${index + 1} ${JSON.stringify(payload)}`, () => {
    let author: User;
    let browser: Visitor;
    let token: string;
    let authorsPost: Post;
    before(async () => {
      author = await createUser({ displayName: 'Payload Tester' });
      authorsPost = await createPost(t.db, author, { title: `Plain post ${hex()}` });
      browser = await loggedIn(author);
      token = await browser.csrfToken();
    });

    test('in a post title and body › every page showing the post is safe, the title shown as text', async () => {
      const created = await browser.submit(
        'POST',
        '/posts',
        { title: payload, body: payload, published: 'on' },
        { csrf: token },
      );
      assert.equal(created.status, 303, `POST /posts answered ${created.status}`);
      const post = await Post.findOne({ where: { authorId: author.id, title: payload } });
      assert.ok(post, 'the post was not stored with the title as typed');
      assert.equal(post.body, payload);

      const anonymous = new Visitor(t);
      for (const path of [`/posts/${post.id}`, '/posts', '/', `/users/${author.username}`]) {
        const { res, doc } = await visit(anonymous, path);
        assertShowsText(res.body, doc, payload, `GET ${path}`);
      }
      // The author's view adds the delete confirmation, which quotes the title.
      const own = await visit(browser, `/posts/${post.id}`);
      assertShowsText(own.res.body, own.doc, payload, `GET /posts/${post.id} as the author`);

      const edit = await visit(browser, `/posts/${post.id}/edit`);
      assertFieldValue(edit.doc, 'title', payload, 'the edit form');
      assertFieldValue(edit.doc, 'body', payload, 'the edit form');

      const search = `/posts?q=${encodeURIComponent(payload)}`;
      const found = await visit(anonymous, search);
      assertFieldValue(found.doc, 'q', payload, `GET ${search}`);
      await assertListedAsMatched(found.res.body, payload, post.id);

      // Deleting flashes the title on the next page.
      const deleted = await browser.submit('DELETE', `/posts/${post.id}`, {}, { csrf: token });
      assert.equal(deleted.status, 303);
      const flashed = await visit(browser, '/posts');
      assertShowsText(flashed.res.body, flashed.doc, `“${payload}” was deleted`, 'the flash after deleting');
    });

    test('in a comment › the thread shows it as text; the edit form and a refused form keep it safely', async () => {
      const posted = await browser.submit(
        'POST',
        `/posts/${authorsPost.id}/comments`,
        { body: payload },
        { csrf: token },
      );
      assert.equal(posted.status, 303, `POST …/comments answered ${posted.status}`);
      const comment = await Comment.findOne({ where: { postId: authorsPost.id, body: payload } });
      assert.ok(comment, 'the comment was not stored as typed');
      const thread = await visit(new Visitor(t), `/posts/${authorsPost.id}`);
      assertShowsText(thread.res.body, thread.doc, payload, 'the thread');
      const edit = await visit(browser, `/posts/${authorsPost.id}/comments/${comment.id}/edit`);
      assertFieldValue(edit.doc, 'body', payload, 'the comment edit form');
      // Too long: the post page again, with what was typed in the form.
      const refused = await browser.submit(
        'POST',
        `/posts/${authorsPost.id}/comments`,
        { body: `${payload}${' x'.repeat(2500)}` },
        { csrf: token },
      );
      assert.equal(refused.status, 422);
      assertFieldValue(
        assertSafeHtml(refused.body, 'the refused comment'),
        'body',
        `${payload}${' x'.repeat(2500)}`,
        'the 422',
      );
    });

    test('in a search query and in URLs › the echo and the 404 pages are safe', async () => {
      const anonymous = new Visitor(t);
      for (const path of [`/posts?q=${encodeURIComponent(payload)}`, `/users?q=${encodeURIComponent(payload)}`]) {
        const { res, doc } = await visit(anonymous, path);
        assertFieldValue(doc, 'q', payload, `GET ${path}`);
        assertShowsText(res.body, doc, payload, `GET ${path}`);
      }
      for (const path of [
        `/posts/${encodeURIComponent(payload)}`,
        `/users/${encodeURIComponent(payload)}`,
        `/nowhere/${encodeURIComponent(payload)}`,
        `/posts?page=${encodeURIComponent(payload)}`,
      ]) {
        await visit(anonymous, path, 404);
      }
    });

    test('in profile fields › the profile, lists, posts and edit form are safe, text shown as text', async () => {
      const profile = { displayName: 'Payload Tester', email: author.email, bio: '', website: '', github: '' };
      const profilePath = `/users/${author.username}`;
      const anonymous = new Visitor(t);

      const bio = await browser.submit('PUT', profilePath, { ...profile, bio: payload }, { csrf: token });
      assert.equal(bio.status, 303, `PUT ${profilePath} with the bio answered ${bio.status}`);
      await author.reload();
      assert.equal(author.bio, payload);
      const shownBio = await visit(anonymous, profilePath);
      assertShowsText(shownBio.res.body, shownBio.doc, payload, `GET ${profilePath} (bio)`);
      assertFieldValue((await visit(browser, `${profilePath}/edit`)).doc, 'bio', payload, 'the profile form');

      const name = await browser.submit('PUT', profilePath, { ...profile, displayName: payload }, { csrf: token });
      if (payload.length > DISPLAY_NAME_MAX) {
        assert.equal(name.status, 422, `a ${payload.length}-character display name answered ${name.status}`);
        const doc = assertSafeHtml(name.body, `PUT ${profilePath} 422`);
        assertFieldValue(doc, 'displayName', payload, 'the 422 profile form');
      } else {
        assert.equal(name.status, 303, `PUT ${profilePath} with the display name answered ${name.status}`);
        await author.reload();
        assert.equal(author.displayName, payload);
        const pages: [Visitor, string][] = [
          [anonymous, profilePath],
          [anonymous, `/users?q=${author.username}`],
          [anonymous, `/posts/${authorsPost.id}`],
          [anonymous, '/'],
          // Logged in, the layout's navigation shows the display name too.
          [browser, '/'],
          [browser, profilePath],
        ];
        for (const [viewer, path] of pages) {
          const { res, doc } = await visit(viewer, path);
          assertShowsText(res.body, doc, payload, `GET ${path}`);
        }
        await visit(anonymous, '/users');
        assertFieldValue((await visit(browser, `${profilePath}/edit`)).doc, 'displayName', payload, 'the form');
      }

      for (const link of ['website', 'github']) {
        const res = await browser.submit('PUT', profilePath, { ...profile, [link]: payload }, { csrf: token });
        assert.equal(res.status, 422, `a ${link} of ${JSON.stringify(payload)} answered ${res.status}`);
        const doc = assertSafeHtml(res.body, `PUT ${profilePath} 422 (${link})`);
        assertFieldValue(doc, link, payload, `the 422 profile form (${link})`);
      }
      await author.reload();
      assert.deepEqual(author.profile, {}, 'a non-http link was stored');
      await visit(anonymous, profilePath);
    });

    test('in signup fields › the 422 re-render is safe, a valid display name is shown as text', async () => {
      const username = `x_${hex()}`;
      const valid = { username, email: `${username}@example.com`, password: PASSWORD, displayName: '' };

      for (const field of ['username', 'email'] as const) {
        const res = await new Visitor(t).submit('POST', '/signup', { ...valid, [field]: payload });
        assert.equal(res.status, 422, `POST /signup with the ${field} answered ${res.status}`);
        const doc = assertSafeHtml(res.body, `POST /signup 422 (${field})`);
        // Usernames and emails are folded to lower case before they are shown again.
        assert.equal(fieldValue(doc, field)?.toLowerCase(), payload.toLowerCase(), `the ${field} field`);
      }
      assert.equal(await User.count({ where: { username } }), 0);

      const visitor = new Visitor(t);
      const res = await visitor.submit('POST', '/signup', { ...valid, displayName: payload });
      if (payload.length > DISPLAY_NAME_MAX) {
        assert.equal(res.status, 422, `POST /signup with a long display name answered ${res.status}`);
        assertFieldValue(assertSafeHtml(res.body, 'POST /signup 422'), 'displayName', payload, 'the 422 form');
        return;
      }
      assert.equal(res.status, 303, `POST /signup with the display name answered ${res.status}`);
      assert.equal(res.headers.location, `/users/${username}`);
      const user = await User.findOne({ where: { username } });
      assert.equal(user?.displayName, payload);
      // The welcome flash quotes the display name as well as the profile heading.
      const profile = await visit(visitor, `/users/${username}`);
      assertShowsText(profile.res.body, profile.doc, `Welcome, ${payload}!`, 'the welcome flash');
    });

    test('in the login form and its returnTo › every re-render is safe, the login kept as text', async () => {
      const visitor = new Visitor(t);
      const failed = await visitor.submit('POST', '/login', { login: payload, password: 'not-the-password' });
      assert.equal(failed.status, 401, `POST /login answered ${failed.status}`);
      assertFieldValue(assertSafeHtml(failed.body, 'POST /login 401'), 'login', payload, 'the login form');

      for (const returnTo of [payload, `/${payload}`]) {
        const res = await visitor.submit('POST', '/login', {
          login: author.username,
          password: 'not-the-password',
          returnTo,
        });
        assert.equal(res.status, 401, `POST /login with returnTo ${JSON.stringify(returnTo)} answered ${res.status}`);
        const kept = fieldValue(assertSafeHtml(res.body, 'POST /login 401 (returnTo)'), 'returnTo');
        assert.ok(kept === '/' || kept === returnTo, `returnTo became ${JSON.stringify(kept)}`);
        assert.match(kept, SAME_SITE_PATH, 'returnTo is not a path on this site');
      }

      const path = `/login?returnTo=${encodeURIComponent(`/${payload}`)}`;
      const form = await visit(visitor, path);
      const kept = fieldValue(form.doc, 'returnTo');
      assert.ok(kept === '/' || kept === `/${payload}`, `returnTo became ${JSON.stringify(kept)}`);
    });

    test('beside an invalid field › every 422 re-render is safe and keeps the input as text', async () => {
      const newPost: [Record<string, string>, string][] = [
        [{ title: payload, body: '' }, 'title'],
        [{ title: '', body: payload }, 'body'],
        // No payload is a valid tag: refused itself, and kept as typed.
        [{ title: 'A title', body: 'A body', tags: payload }, 'tags'],
      ];
      for (const [fields, kept] of newPost) {
        const res = await browser.submit('POST', '/posts', fields, { csrf: token });
        assert.equal(res.status, 422, `POST /posts ${JSON.stringify(fields)} answered ${res.status}`);
        assertFieldValue(assertSafeHtml(res.body, 'POST /posts 422'), kept, payload, 'the 422 post form');
      }
      const update = await browser.submit(
        'PUT',
        `/posts/${authorsPost.id}`,
        { title: payload, body: ' ' },
        { csrf: token },
      );
      assert.equal(update.status, 422, `PUT /posts/${authorsPost.id} answered ${update.status}`);
      assertFieldValue(assertSafeHtml(update.body, 'PUT /posts/:id 422'), 'title', payload, 'the 422 edit form');
      await authorsPost.reload();
      assert.notEqual(authorsPost.title, payload);

      const profilePath = `/users/${author.username}`;
      const profile = await browser.submit(
        'PUT',
        profilePath,
        { displayName: payload, email: 'not-an-email', bio: payload, website: '', github: '' },
        { csrf: token },
      );
      assert.equal(profile.status, 422, `PUT ${profilePath} answered ${profile.status}`);
      const profileDoc = assertSafeHtml(profile.body, `PUT ${profilePath} 422`);
      assertFieldValue(profileDoc, 'displayName', payload, 'the 422 profile form');
      assertFieldValue(profileDoc, 'bio', payload, 'the 422 profile form');

      const signup = await new Visitor(t).submit('POST', '/signup', {
        username: 'no',
        email: 'not-an-email',
        password: payload,
        displayName: payload,
      });
      assert.equal(signup.status, 422, `POST /signup answered ${signup.status}`);
      const signupDoc = assertSafeHtml(signup.body, 'POST /signup 422');
      if (payload.length <= DISPLAY_NAME_MAX) assertFieldValue(signupDoc, 'displayName', payload, 'the signup form');
      assert.equal(fieldValue(signupDoc, 'password'), '', 'the password was echoed');

      const login = await new Visitor(t).submit('POST', '/login', { login: payload, password: '' });
      assert.equal(login.status, 422, `POST /login without a password answered ${login.status}`);
      assertFieldValue(assertSafeHtml(login.body, 'POST /login 422'), 'login', payload, 'the 422 login form');
    });
  });
}

describe('profile links shaped like web addresses', () => {
  const LINK_PAYLOADS = [
    'https://example.com/"><script>alert(1)</script>',
    'https://example.com/?a=" onmouseover="alert(1)',
    "https://example.com/' onfocus='alert(1)",
    'https://example.com/#<img src=x onerror=alert(1)>',
    'http://example.com/</a><script>alert(1)</script>',
    'javascript://example.com/%0Aalert(1)',
    'JaVaScRiPt:alert(1)//https://example.com',
    'javascript:alert(1)',
    'vbscript:msgbox(1)',
    'data:text/html,<script>alert(1)</script>',
    DATA_HTML,
    'https:javascript:alert(1)',
    '//evil.example/x',
    'ftp://example.com/file',
  ];

  for (const link of LINK_PAYLOADS) {
    test(`website and github ${JSON.stringify(link)} › stored only as http(s), else 422; the profile is safe`, async () => {
      const user = await createUser();
      const browser = await loggedIn(user);
      const res = await browser.submit('PUT', `/users/${user.username}`, {
        displayName: user.displayName,
        email: user.email,
        bio: '',
        website: link,
        github: link,
      });
      const isWebAddress = /^https?:\/\//i.test(link);
      if (!isWebAddress) assert.equal(res.status, 422, `a non-http link answered ${res.status}`);
      assertStatus(res, [303, 422], `PUT /users/${user.username}`);
      await user.reload();
      if (res.status === 422) {
        assertSafeHtml(res.body, 'the 422 profile form');
        assert.deepEqual(user.profile, {});
      } else {
        assert.equal(user.profile.website, link);
      }
      const { doc } = await visit(new Visitor(t), `/users/${user.username}`);
      const hrefs = DomUtils.findAll((element) => element.name === 'a', doc.children).map((a) => a.attribs.href);
      if (res.status === 303) assert.ok(hrefs.includes(link), `the profile does not link to ${link}`);
      await visit(browser, `/users/${user.username}/edit`);
    });
  }
});

// ---------------------------------------------------------------------------------------
// SQL metacharacters
// ---------------------------------------------------------------------------------------

const SQL_META = [
  "'",
  '"',
  ';',
  '--',
  "' OR '1'='1",
  "'; DROP TABLE posts; --",
  "'); DELETE FROM users; --",
  '\\',
  "\\'",
  '%',
  '_',
  '$1',
  ':id',
  '/*',
  '*/',
  '$$',
  '‘’“”′″',
  "1' UNION SELECT password_hash FROM users --",
];

describe('SQL metacharacters', () => {
  let author: User;
  let browser: Visitor;
  let token: string;
  before(async () => {
    author = await createUser();
    browser = await loggedIn(author);
    token = await browser.csrfToken();
  });

  for (const meta of SQL_META) {
    test(`${JSON.stringify(meta)} in every field and URL part › stored and shown literally, no 5xx`, async () => {
      const created = await browser.submit(
        'POST',
        '/posts',
        { title: meta, body: `body ${meta}`, published: 'on' },
        { csrf: token },
      );
      assert.equal(created.status, 303, `POST /posts answered ${created.status}`);
      const id = Number(/^\/posts\/(\d+)$/.exec(String(created.headers.location))?.[1]);
      const post = await Post.findByPk(id);
      assert.equal(post?.title, meta);
      assert.equal(post?.body, `body ${meta}`);
      const shown = await visit(new Visitor(t), `/posts/${id}`);
      assertShowsText(shown.res.body, shown.doc, meta, `GET /posts/${id}`);

      const found = await visit(new Visitor(t), `/posts?q=${encodeURIComponent(meta)}`);
      await assertListedAsMatched(found.res.body, meta, id);

      const profile = await browser.submit(
        'PUT',
        `/users/${author.username}`,
        { displayName: `Name ${meta}`, email: author.email, bio: meta, website: '', github: '' },
        { csrf: token },
      );
      assert.equal(profile.status, 303, `PUT /users/:username answered ${profile.status}`);
      await author.reload();
      assert.equal(author.displayName, `Name ${meta}`);
      assert.equal(author.bio, meta);

      const users = await visit(new Visitor(t), `/users?q=${encodeURIComponent(`Name ${meta}`)}`);
      assert.ok(users.res.body.includes(`/users/${author.username}"`), 'the user search does not find the user');

      const login = await new Visitor(t).submit('POST', '/login', { login: meta, password: 'not-the-password' });
      assert.equal(login.status, 401, `POST /login answered ${login.status}`);
      const signup = await new Visitor(t).submit('POST', '/signup', {
        username: meta,
        email: `${hex()}@example.com`,
        password: PASSWORD,
      });
      assert.equal(signup.status, 422, `POST /signup answered ${signup.status}`);

      const encoded = encodeURIComponent(meta);
      for (const path of [
        `/users/${encoded}`,
        `/posts/${encoded}`,
        `/posts?page=${encoded}`,
        `/users?page=${encoded}`,
      ]) {
        const res = await new Visitor(t).get(path);
        assert.equal(res.status, 404, `GET ${path} answered ${res.status}`);
      }
      assert.equal(await counterMismatches(t.sql), 0);
    });
  }

  test("a post titled '; DROP TABLE posts; -- › stored and shown literally, the posts table still there", async () => {
    const title = "'; DROP TABLE posts; --";
    const res = await browser.submit('POST', '/posts', { title, body: title, published: 'on' }, { csrf: token });
    assert.equal(res.status, 303);
    const [table] = await t.db.sequelize.query<{ name: string | null }>(
      "SELECT to_regclass('public.posts')::text AS name",
      { type: QueryTypes.SELECT },
    );
    assert.equal(table?.name, 'posts');
    const post = await Post.findOne({ where: { title } });
    assert.ok(post);
    const { res: shown, doc } = await visit(new Visitor(t), `/posts/${post.id}`);
    assertShowsText(shown.body, doc, title, 'the post page');
  });

  test("a search for ' OR '1'='1 › lists exactly the posts full-text search matches, no more", async () => {
    const needle = "' OR '1'='1";
    await createPost(t.db, author, { title: `Quoting ${needle} in a title` });
    await createPost(t.db, author, { title: 'Unrelated words only' });
    const matching = await t.db.sequelize.query<{ id: number }>(
      `SELECT id FROM posts WHERE published AND search_vector @@ websearch_to_tsquery('english', $1)
        ORDER BY id LIMIT 20`,
      { bind: [needle], type: QueryTypes.SELECT },
    );
    const published = await Post.count({ where: { published: true } });
    assert.ok(matching.length >= 1 && matching.length < published);
    const { res } = await visit(new Visitor(t), `/posts?q=${encodeURIComponent(needle)}`);
    const listed = [...res.body.matchAll(/<h2><a href="\/posts\/(\d+)">/g)].map((match) => Number(match[1]));
    assert.deepEqual(
      listed.sort((a, b) => a - b),
      matching.map((row) => row.id),
    );
    assert.doesNotMatch(res.body, /Unrelated words only/);
  });

  test("GET /users/admin'-- › 404, while /users/admin is found", async () => {
    await User.findOrCreate({
      where: { username: 'admin' },
      defaults: {
        username: 'admin',
        email: 'admin@example.com',
        displayName: 'Admin',
        passwordHash: (await createUser()).passwordHash,
      },
    });
    assert.equal((await new Visitor(t).get('/users/admin')).status, 200);
    for (const path of ["/users/admin'--", "/users/admin'%20OR%20'1'='1", '/users/admin%27--', '/users/admin;--']) {
      const res = await new Visitor(t).get(path);
      assert.equal(res.status, 404, `GET ${path} answered ${res.status}`);
      assert.match(res.body, /Page not found/);
    }
  });

  test('GET /posts?page=1 OR 1=1 and /posts/:id;DROP › 404', async () => {
    const post = await createPost(t.db, author);
    assert.equal((await new Visitor(t).get(`/posts/${post.id}`)).status, 200);
    for (const path of [
      '/posts?page=1%20OR%201=1',
      '/posts?page=1;DROP%20TABLE%20posts',
      `/posts/${post.id};DROP`,
      `/posts/${post.id}%20OR%201=1`,
      `/posts/${post.id}'--`,
    ]) {
      const res = await new Visitor(t).get(path);
      assert.equal(res.status, 404, `GET ${path} answered ${res.status}`);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Strict parsing of URL parts
// ---------------------------------------------------------------------------------------

describe('strict parsing of ids, page numbers and queries', () => {
  let post: Post;
  before(async () => {
    post = await createPost(t.db, await createUser());
  });

  for (const pageParam of ['1&page=2', '-1', '0', '1e3', '99999999999999999999', '%201', '0x10', '1.0', '', 'NaN']) {
    test(`GET /posts?page=${pageParam} › 404 page`, async () => {
      const res = await new Visitor(t).get(`/posts?page=${pageParam}`);
      assert.equal(res.status, 404, `answered ${res.status}`);
      assert.match(res.body, /Page not found/);
    });
  }

  // One URL per post: other spellings of a real id are not it.
  for (const spelling of ['0', '+', '00', ' ']) {
    test(`GET /posts/${spelling}N (a non-canonical id) › 404`, async () => {
      const res = await new Visitor(t).get(`/posts/${encodeURIComponent(spelling)}${post.id}`);
      assert.equal(res.status, 404, `answered ${res.status}`);
    });
  }

  for (const id of ['99999999999999999999', '%00', `${'9'.repeat(400)}`, '1%2F2', '%20', 'Infinity', '0x1']) {
    test(`GET /posts/${id} › 404`, async () => {
      const res = await new Visitor(t).get(`/posts/${id}`);
      assert.equal(res.status, 404, `answered ${res.status}`);
    });
  }

  for (const path of ['/users?q=a&q=b', '/posts?q=a&q=b', '/users?page=1&page=2']) {
    test(`GET ${path} (a repeated parameter) › an HTML page, not a 500`, async () => {
      const res = await new Visitor(t).get(path);
      assertNoServerError(res, `GET ${path}`);
      assertSafeHtml(res.body, `GET ${path}`);
    });
  }

  for (const path of ['/users/%E0%A4%A', '/posts/%E0%A4%A', '/users/%', '/posts/%ZZ', '/users/%C0%AF']) {
    test(`GET ${path} (malformed percent-encoding in the path) › 400 or 404, not a 500`, async () => {
      const res = await new Visitor(t).get(path);
      assertStatus(res, [400, 404], `GET ${path}`);
    });
  }

  test('GET /posts?q= with 10,000 characters › not a 500', async () => {
    const res = await new Visitor(t).get(`/posts?q=${'a'.repeat(10_000)}`);
    assertNoServerError(res, 'the long search');
  });

  for (const path of ['/posts?q=%E0%A4%A', '/posts?q=%FF', '/users?q=%C0%AF', '/posts?q=%ED%A0%80']) {
    test(`GET ${path} (malformed or invalid UTF-8 in the query) › not a 500`, async () => {
      const res = await new Visitor(t).get(path);
      assertNoServerError(res, `GET ${path}`);
    });
  }
});

// ---------------------------------------------------------------------------------------
// Oversized, malformed and mis-typed bodies; control characters; Unicode
// ---------------------------------------------------------------------------------------

describe('request bodies', () => {
  let author: User;
  let browser: Visitor;
  let token: string;
  before(async () => {
    author = await createUser();
    browser = await loggedIn(author);
    token = await browser.csrfToken();
  });

  const postsOfAuthor = (): Promise<number> => Post.count({ where: { authorId: author.id } });
  const postForm = (body: string | Buffer, contentType = 'application/x-www-form-urlencoded') =>
    browser.request({ method: 'POST', path: '/posts', headers: { 'Content-Type': contentType }, body });

  test('a form body over 1 MB › 413 page, nothing written', async () => {
    const before = await postsOfAuthor();
    const res = await postForm(`_csrf=${token}&title=Big&body=${'x'.repeat(1_100_000)}`);
    assert.equal(res.status, 413);
    assert.match(res.body, /Too large/);
    assert.match(res.body, /too large/);
    assert.match(res.body, /<\/html>/);
    assert.equal(await postsOfAuthor(), before);
  });

  test('a form with more than 100 fields › 413, nothing written', async () => {
    const before = await postsOfAuthor();
    const extra = Array.from({ length: 150 }, (_, i) => `f${i}=x`).join('&');
    const res = await postForm(`_csrf=${token}&title=Many&body=x&${extra}`);
    assert.equal(res.status, 413);
    assert.equal(await postsOfAuthor(), before);
  });

  test('a JSON body to POST /posts › 403 (no token can be read), nothing written', async () => {
    const before = await postsOfAuthor();
    const res = await postForm(JSON.stringify({ _csrf: token, title: 'Json', body: 'x' }), 'application/json');
    assert.equal(res.status, 403);
    assert.equal(await postsOfAuthor(), before);
  });

  test('a text/plain body to POST /posts › 403, nothing written', async () => {
    const before = await postsOfAuthor();
    const res = await postForm(`_csrf=${token}&title=Plain&body=x`, 'text/plain');
    assert.equal(res.status, 403);
    assert.equal(await postsOfAuthor(), before);
  });

  test('a form body in an unsupported charset › 415, nothing written', async () => {
    const before = await postsOfAuthor();
    const res = await postForm(`_csrf=${token}&title=Seven&body=x`, 'application/x-www-form-urlencoded; charset=utf-7');
    assert.equal(res.status, 415);
    assert.equal(await postsOfAuthor(), before);
  });

  test('a form body claiming gzip but not gzipped › 400, nothing written', async () => {
    const before = await postsOfAuthor();
    const res = await browser.request({
      method: 'POST',
      path: '/posts',
      headers: { 'Content-Encoding': 'gzip' },
      form: `_csrf=${token}&title=Zip&body=x`,
    });
    assert.equal(res.status, 400);
    assert.equal(await postsOfAuthor(), before);
  });

  test('invalid UTF-8 bytes in a field › stored with replacement characters or 422, never a 500', async () => {
    const body = Buffer.concat([
      Buffer.from(`_csrf=${token}&published=on&body=text&title=ab`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('cd'),
    ]);
    const res = await postForm(body);
    assertStatus(res, [303, 422], 'POST /posts with bytes 0xff 0xfe');
    if (res.status === 303) {
      const post = await Post.findOne({ where: { authorId: author.id }, order: [['id', 'DESC']] });
      assert.match(String(post?.title), /^ab\uFFFD+cd$/);
    } else {
      assertSafeHtml(res.body, 'the 422 page');
    }
  });

  const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  for (const bad of ['%FF', '%C0%AF', '%ED%A0%80', '%E0%A4%A']) {
    test(`percent-encoded invalid UTF-8 ${bad} in form fields › no 500, nothing malformed stored`, async () => {
      const res = await postForm(`_csrf=${token}&published=on&body=text&title=a${bad}b`);
      assertStatus(res, [303, 422], `POST /posts with title a${bad}b`);
      if (res.status === 303) {
        const post = await Post.findOne({ where: { authorId: author.id }, order: [['id', 'DESC']] });
        assert.ok(post && !LONE_SURROGATE.test(post.title), `stored ${JSON.stringify(post?.title)}`);
      }
      const profile = await browser.request({
        method: 'POST',
        path: `/users/${author.username}`,
        form: `_csrf=${token}&_method=PUT&displayName=a${bad}b&email=${encodeURIComponent(author.email)}`,
      });
      assertStatus(profile, [303, 422], `PUT /users/:username with displayName a${bad}b`);
      const login = await new Visitor(t).request({
        method: 'POST',
        path: '/login',
        form: `_csrf=${await browser.csrfToken()}&login=a${bad}b&password=not-the-password`,
      });
      assertNoServerError(login, 'POST /login');
    });
  }

  test('a NUL character in a post title or body › 422, nothing written', async () => {
    const before = await postsOfAuthor();
    for (const fields of [
      { title: 'a\u0000b', body: 'text' },
      { title: 'Title', body: 'a\u0000b' },
    ]) {
      const res = await browser.submit('POST', '/posts', { ...fields, published: 'on' }, { csrf: token });
      assert.equal(res.status, 422, `POST /posts ${JSON.stringify(fields)} answered ${res.status}`);
      assertSafeHtml(res.body, 'the 422 post form');
    }
    assert.equal(await postsOfAuthor(), before);
  });

  test('a NUL character in a profile field › 422, nothing written', async () => {
    for (const field of ['displayName', 'bio', 'email', 'website']) {
      const res = await browser.submit(
        'PUT',
        `/users/${author.username}`,
        { displayName: 'Name', email: author.email, bio: '', website: '', github: '', [field]: 'a\u0000b' },
        { csrf: token },
      );
      assert.equal(res.status, 422, `PUT /users/:username with a NUL in ${field} answered ${res.status}`);
    }
    await author.reload();
    assert.ok(!author.displayName.includes('\u0000') && !author.bio.includes('\u0000'));
  });

  test('a NUL character in signup and login fields › 422', async () => {
    const username = `n_${hex()}`;
    const valid = { username, email: `${username}@example.com`, password: PASSWORD, displayName: '' };
    for (const field of ['username', 'email', 'displayName'] as const) {
      const res = await new Visitor(t).submit('POST', '/signup', { ...valid, [field]: `${valid[field]}\u0000x` });
      assert.equal(res.status, 422, `POST /signup with a NUL in ${field} answered ${res.status}`);
    }
    assert.equal(await User.count({ where: { username } }), 0);
    const login = await new Visitor(t).submit('POST', '/login', {
      login: `${author.username}\u0000`,
      password: PASSWORD,
    });
    assert.equal(login.status, 422, `POST /login with a NUL answered ${login.status}`);
  });

  for (const path of ['/posts?q=a%00b', '/users?q=a%00b']) {
    test(`GET ${path} (a NUL in the search) › 404, or 200 with the NUL gone; never a 500`, async () => {
      const res = await new Visitor(t).get(path);
      assertStatus(res, [200, 404], `GET ${path}`);
      const doc = assertSafeHtml(res.body, `GET ${path}`);
      if (res.status === 200) assert.ok(!fieldValue(doc, 'q')?.includes('\u0000'), 'the NUL is echoed back');
    });
  }

  for (const [name, char] of [
    ['BEL', '\u0007'],
    ['ESC', '\u001b'],
    ['a newline', '\n'],
    ['a carriage return', '\r'],
    ['DEL', '\u007f'],
  ] as const) {
    test(`${name} inside a title or display name › 422`, async () => {
      const post = await browser.submit('POST', '/posts', { title: `a${char}b`, body: 'text' }, { csrf: token });
      assert.equal(post.status, 422, `POST /posts answered ${post.status}`);
      const profile = await browser.submit(
        'PUT',
        `/users/${author.username}`,
        { displayName: `a${char}b`, email: author.email },
        { csrf: token },
      );
      assert.equal(profile.status, 422, `PUT /users/:username answered ${profile.status}`);
    });
  }

  test('a right-to-left override in a title › accepted or 422, never a 500', async () => {
    const res = await browser.submit('POST', '/posts', { title: 'abc\u202Edef', body: 'text' }, { csrf: token });
    assertStatus(res, [303, 422], 'POST /posts with U+202E');
  });

  for (const [situation, title, storedTitle, displayName, storedName] of [
    [
      'a title and display name typed in decomposed form › stored NFC',
      'Cafe\u0301 au lait',
      'Caf\u00e9 au lait',
      'Zoe\u0308',
      'Zo\u00eb',
    ],
    [
      'leading and trailing whitespace in a title and display name › trimmed',
      '  \t Padded title  ',
      'Padded title',
      '   Padded Name ',
      'Padded Name',
    ],
  ] as const) {
    test(situation, async () => {
      const res = await browser.submit('POST', '/posts', { title, body: 'text' }, { csrf: token });
      assert.equal(res.status, 303);
      const id = Number(/(\d+)$/.exec(String(res.headers.location))?.[1]);
      assert.equal((await Post.findByPk(id))?.title, storedTitle);
      const profile = await browser.submit(
        'PUT',
        `/users/${author.username}`,
        { displayName, email: author.email },
        { csrf: token },
      );
      assert.equal(profile.status, 303);
      await author.reload();
      assert.equal(author.displayName, storedName);
    });
  }
});
