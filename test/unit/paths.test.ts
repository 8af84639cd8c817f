import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { paths, routes } from '../../src/paths.js';

/**
 * The URLs a route pattern answers: each `:name` one path segment, then an optional query.
 * Returns the decoded parameters, or undefined when the URL is not one of them.
 */
function matchRoute(pattern: string, url: string): Record<string, string> | undefined {
  const source = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/:(\w+)/g, (_match, name: string) => `(?<${name}>[^/?]+)`);
  const match = new RegExp(`^${source}(?:\\?[^#]*)?$`).exec(url);
  if (!match) return undefined;
  return Object.fromEntries(
    Object.entries(match.groups ?? {}).map(([name, value]) => [name, decodeURIComponent(value)]),
  );
}

/** The query of a built URL, decoded, in order. */
const queryOf = (url: string): [string, string][] => [...new URL(url, 'http://localhost').searchParams];

// Every character a path segment cannot carry as is, and one outside ASCII.
const AWKWARD = 'a b/c?d#e%f&g+h.é';
const AWKWARD_ENCODED = 'a%20b%2Fc%3Fd%23e%25f%26g%2Bh.%C3%A9';

describe('paths', () => {
  test('the fixed paths › each matches its route exactly', () => {
    const fixed: [string, string][] = [
      [paths.home, routes.home],
      [paths.signup, routes.signup],
      [paths.logout, routes.logout],
      [paths.posts.feed, routes.posts.feed],
      [paths.posts.new, routes.posts.new],
      [paths.posts.create, routes.posts.index],
    ];
    assert.deepEqual(
      fixed.map(([url]) => url),
      ['/', '/signup', '/logout', '/posts.atom', '/posts/new', '/posts'],
    );
    for (const [url, route] of fixed) assert.deepEqual(matchRoute(route, url), {}, url);
  });

  test('the route patterns › a dot is literal, and a link to one route does not match another', () => {
    assert.equal(matchRoute(routes.posts.feed, '/postsXatom'), undefined);
    assert.equal(matchRoute(routes.posts.show, paths.posts.edit(1)), undefined);
    assert.equal(matchRoute(routes.users.show, paths.users.feed('ann')), undefined);
  });

  test('login › the login route, with returnTo encoded in the query', () => {
    const url = paths.login('/posts/1?x=1&y=a b');
    assert.equal(url, '/login?returnTo=%2Fposts%2F1%3Fx%3D1%26y%3Da+b');
    assert.deepEqual(matchRoute(routes.login, url), {});
    assert.deepEqual(queryOf(url), [['returnTo', '/posts/1?x=1&y=a b']]);
  });

  test('login without a returnTo, or an empty one › the bare login route', () => {
    assert.equal(paths.login(), '/login');
    assert.equal(paths.login(undefined), '/login');
    assert.equal(paths.login(''), '/login');
  });

  test('posts.index › the posts route, query values encoded, empty and undefined ones dropped', () => {
    assert.equal(paths.posts.index(), '/posts');
    assert.equal(paths.posts.index({}), '/posts');
    assert.equal(paths.posts.index({ q: '', after: undefined }), '/posts');
    const url = paths.posts.index({ q: 'cats & "dogs" #1', page: 2, after: undefined, before: '' });
    assert.equal(url, '/posts?q=cats+%26+%22dogs%22+%231&page=2');
    assert.deepEqual(matchRoute(routes.posts.index, url), {});
    assert.deepEqual(queryOf(url), [
      ['q', 'cats & "dogs" #1'],
      ['page', '2'],
    ]);
  });

  test('posts.index › a cursor and the number 0 kept as they are', () => {
    assert.equal(paths.posts.index({ after: '1795264215123456-42' }), '/posts?after=1795264215123456-42');
    assert.equal(paths.posts.index({ page: 0 }), '/posts?page=0');
  });

  test('posts.show and posts.edit › the id in its route', () => {
    assert.equal(paths.posts.show(42), '/posts/42');
    assert.equal(paths.posts.edit(42), '/posts/42/edit');
    assert.deepEqual(matchRoute(routes.posts.show, paths.posts.show(42)), { id: '42' });
    assert.deepEqual(matchRoute(routes.posts.edit, paths.posts.edit(2147483647)), { id: '2147483647' });
  });

  test('posts.show with a query › the post route, then the encoded query', () => {
    const url = paths.posts.show(42, { after: '1795264215123456-7', before: undefined });
    assert.equal(url, '/posts/42?after=1795264215123456-7');
    assert.deepEqual(matchRoute(routes.posts.show, url), { id: '42' });
  });

  test('comments › the post and comment ids in their routes; in the thread, at the comment’s anchor', () => {
    assert.equal(paths.comments.create(42), '/posts/42/comments');
    assert.deepEqual(matchRoute(routes.posts.comments, paths.comments.create(42)), { id: '42' });
    assert.equal(paths.comments.show(42, 7), '/posts/42/comments/7');
    assert.deepEqual(matchRoute(routes.comments.show, paths.comments.show(42, 7)), { id: '42', commentId: '7' });
    assert.equal(paths.comments.edit(42, 7), '/posts/42/comments/7/edit');
    assert.deepEqual(matchRoute(routes.comments.edit, paths.comments.edit(42, 7)), { id: '42', commentId: '7' });
    assert.equal(matchRoute(routes.comments.show, paths.comments.edit(42, 7)), undefined);
    assert.equal(paths.comments.inThread(42, 7), '/posts/42#comment-7');
    assert.equal(paths.comments.inThread(42, 7, {}), '/posts/42#comment-7');
    assert.equal(paths.comments.inThread(42, 77, { after: '1-50' }), '/posts/42?after=1-50#comment-77');
  });

  test('tags › the name in its route; the list and a tag’s page with a query', () => {
    assert.equal(paths.tags.index(), '/tags');
    assert.equal(paths.tags.index({ after: '12-baking' }), '/tags?after=12-baking');
    assert.equal(paths.tags.show('weeknight-meals'), '/tags/weeknight-meals');
    assert.deepEqual(matchRoute(routes.tags.show, paths.tags.show('a-1')), { name: 'a-1' });
    assert.equal(paths.tags.show('baking', { after: '1-2' }), '/tags/baking?after=1-2');
    assert.equal(paths.tags.feed('baking'), '/tags/baking/posts.atom');
    assert.deepEqual(matchRoute(routes.tags.feed, paths.tags.feed('baking')), { name: 'baking' });
    assert.equal(matchRoute(routes.tags.show, paths.tags.feed('baking')), undefined);
  });

  test('users.index › the users route, query values encoded, empty ones dropped', () => {
    assert.equal(paths.users.index(), '/users');
    const url = paths.users.index({ q: 'ann b%', before: 'ann_b', page: undefined });
    assert.equal(url, '/users?q=ann+b%25&before=ann_b');
    assert.deepEqual(matchRoute(routes.users.index, url), {});
    assert.deepEqual(queryOf(url), [
      ['q', 'ann b%'],
      ['before', 'ann_b'],
    ]);
  });

  test('user links for a plain username › the name as is, in each route', () => {
    assert.equal(paths.users.show('ann_b2'), '/users/ann_b2');
    assert.equal(paths.users.edit('ann_b2'), '/users/ann_b2/edit');
    assert.equal(paths.users.password('ann_b2'), '/users/ann_b2/password');
    assert.equal(paths.users.passwordReset('ann_b2'), '/users/ann_b2/password-reset');
    assert.equal(paths.users.feed('ann_b2'), '/users/ann_b2/posts.atom');
  });

  test('the links mailed to people › the token as one path segment, matched back by its route', () => {
    const token = 'Ab3_-x'.repeat(7) + 'z';
    assert.equal(paths.password.forgot, '/password/forgot');
    assert.equal(paths.password.reset(token), `/password/reset/${token}`);
    assert.deepEqual(matchRoute(routes.password.reset, paths.password.reset(token)), { token });
    assert.equal(paths.email.confirm(token), `/email/confirm/${token}`);
    assert.deepEqual(matchRoute(routes.email.confirm, paths.email.confirm(token)), { token });
    assert.equal(paths.email.resend, '/email/confirm');
  });

  test('user links for a username that needs encoding › one segment that decodes back to it', () => {
    const links: [string, string, string][] = [
      [paths.users.show(AWKWARD), routes.users.show, `/users/${AWKWARD_ENCODED}`],
      [paths.users.edit(AWKWARD), routes.users.edit, `/users/${AWKWARD_ENCODED}/edit`],
      [paths.users.password(AWKWARD), routes.users.password, `/users/${AWKWARD_ENCODED}/password`],
      [paths.users.passwordReset(AWKWARD), routes.users.passwordReset, `/users/${AWKWARD_ENCODED}/password-reset`],
      [paths.users.feed(AWKWARD), routes.users.feed, `/users/${AWKWARD_ENCODED}/posts.atom`],
    ];
    for (const [url, route, expected] of links) {
      assert.equal(url, expected);
      assert.deepEqual(matchRoute(route, url), { username: AWKWARD }, url);
    }
  });

  test('users.show with a query › the profile route, then the encoded query', () => {
    const url = paths.users.show('ann', { after: '1-1', q: '', page: undefined });
    assert.equal(url, '/users/ann?after=1-1');
    assert.deepEqual(matchRoute(routes.users.show, url), { username: 'ann' });
    assert.equal(paths.users.show(AWKWARD, { page: 2 }), `/users/${AWKWARD_ENCODED}?page=2`);
  });

  test('robots.txt and the sitemaps › fixed names; a sitemap file by its kind and number', () => {
    assert.equal(paths.robots, '/robots.txt');
    assert.equal(paths.sitemaps.index, '/sitemap.xml');
    assert.equal(paths.sitemaps.pages, '/sitemaps/pages.xml');
    const file = paths.sitemaps.file('posts', 12);
    assert.equal(file, '/sitemaps/posts-12.xml');
    assert.deepEqual(matchRoute(routes.sitemaps.file, file), { kind: 'posts', file: '12' });
  });

  test('stylesheet and icons › fingerprinted names under /static', () => {
    assert.match(paths.stylesheet, /^\/static\/site\.[0-9a-f]{10}\.css$/);
    assert.match(paths.icons.svg, /^\/static\/favicon\.[0-9a-f]{10}\.svg$/);
    assert.match(paths.icons.ico, /^\/static\/favicon\.[0-9a-f]{10}\.ico$/);
    assert.match(paths.icons.appleTouch, /^\/static\/apple-touch-icon\.[0-9a-f]{10}\.png$/);
  });
});

describe('routes and paths', () => {
  test('the routes and the builders › exactly the ones tested above', () => {
    // A route or a builder added without the other fails here until both are tested.
    const leaves = (tree: object, prefix = ''): string[] =>
      Object.entries(tree).flatMap(([key, value]) =>
        typeof value === 'object' && value !== null ? leaves(value as object, `${prefix}${key}.`) : [`${prefix}${key}`],
      );
    assert.deepEqual(leaves(routes).sort(), [
      'comments.edit',
      'comments.show',
      'email.confirm',
      'email.resend',
      'home',
      'login',
      'logout',
      'password.forgot',
      'password.reset',
      'posts.comments',
      'posts.edit',
      'posts.feed',
      'posts.index',
      'posts.new',
      'posts.show',
      'robots',
      'signup',
      'sitemaps.file',
      'sitemaps.index',
      'sitemaps.pages',
      'tags.feed',
      'tags.index',
      'tags.show',
      'users.edit',
      'users.feed',
      'users.index',
      'users.password',
      'users.passwordReset',
      'users.show',
    ]);
    assert.deepEqual(leaves(paths).sort(), [
      'comments.create',
      'comments.edit',
      'comments.inThread',
      'comments.show',
      'email.confirm',
      'email.resend',
      'home',
      'icons.appleTouch',
      'icons.ico',
      'icons.svg',
      'login',
      'logout',
      'password.forgot',
      'password.reset',
      'posts.create',
      'posts.edit',
      'posts.feed',
      'posts.index',
      'posts.new',
      'posts.show',
      'robots',
      'signup',
      'sitemaps.file',
      'sitemaps.index',
      'sitemaps.pages',
      'stylesheet',
      'tags.feed',
      'tags.index',
      'tags.show',
      'users.edit',
      'users.feed',
      'users.index',
      'users.password',
      'users.passwordReset',
      'users.show',
    ]);
  });
});
