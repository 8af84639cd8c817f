// Every URL of the app: the routes' patterns, and the links and redirects built from them.
// Views get the builders as `paths`.

import { assetUrl } from './rendering/assets.js';

type Query = Record<string, string | number | undefined>;

function withQuery(path: string, query?: Query): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/**
 * Every route's pattern, written once: the routers mount these, and the link builders
 * below fill them in, so a route and the links to it cannot drift apart.
 */
export const routes = {
  home: '/',
  signup: '/signup',
  login: '/login',
  logout: '/logout',
  password: {
    forgot: '/password/forgot',
    reset: '/password/reset/:token',
  },
  email: {
    confirm: '/email/confirm/:token',
    resend: '/email/confirm',
  },
  posts: {
    index: '/posts',
    feed: '/posts.atom',
    new: '/posts/new',
    show: '/posts/:id',
    edit: '/posts/:id/edit',
    comments: '/posts/:id/comments',
  },
  comments: {
    show: '/posts/:id/comments/:commentId',
    edit: '/posts/:id/comments/:commentId/edit',
  },
  tags: {
    index: '/tags',
    show: '/tags/:name',
    feed: '/tags/:name/posts.atom',
  },
  robots: '/robots.txt',
  sitemaps: {
    index: '/sitemap.xml',
    pages: '/sitemaps/pages.xml',
    file: '/sitemaps/:kind-:file.xml',
  },
  users: {
    index: '/users',
    show: '/users/:username',
    edit: '/users/:username/edit',
    password: '/users/:username/password',
    passwordReset: '/users/:username/password-reset',
    feed: '/users/:username/posts.atom',
  },
} as const;

/** `pattern` with each `:name` replaced by its (encoded) value. */
// Each pattern split once at its :names ('/users/:username' → ['/users/', 'username', '']):
// lists build two links a row.
const splitPatterns = new Map<string, string[]>();

function fill(pattern: string, params: Record<string, string | number>): string {
  let parts = splitPatterns.get(pattern);
  if (parts === undefined) {
    parts = pattern.split(/:(\w+)/);
    splitPatterns.set(pattern, parts);
  }
  let path = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) path += encodeURIComponent(String(params[parts[i]!])) + parts[i + 1]!;
  return path;
}

export const paths = {
  home: routes.home,
  // Getters, so that importing this module reads no file: public/ is hashed on first use.
  get stylesheet(): string {
    return assetUrl('site.css');
  },
  icons: {
    get svg(): string {
      return assetUrl('favicon.svg');
    },
    get ico(): string {
      return assetUrl('favicon.ico');
    },
    get appleTouch(): string {
      return assetUrl('apple-touch-icon.png');
    },
  },
  signup: routes.signup,
  login: (returnTo?: string) => withQuery(routes.login, { returnTo }),
  logout: routes.logout,
  password: {
    forgot: routes.password.forgot,
    reset: (token: string) => fill(routes.password.reset, { token }),
  },
  email: {
    confirm: (token: string) => fill(routes.email.confirm, { token }),
    resend: routes.email.resend,
  },
  posts: {
    index: (query?: Query) => withQuery(routes.posts.index, query),
    feed: routes.posts.feed,
    new: routes.posts.new,
    create: routes.posts.index,
    show: (id: number, query?: Query) => withQuery(fill(routes.posts.show, { id }), query),
    edit: (id: number) => fill(routes.posts.edit, { id }),
  },
  comments: {
    create: (postId: number) => fill(routes.posts.comments, { id: postId }),
    /** The comment's stable link: it redirects to the page of the thread that shows it. */
    show: (postId: number, commentId: number) => fill(routes.comments.show, { id: postId, commentId }),
    edit: (postId: number, commentId: number) => fill(routes.comments.edit, { id: postId, commentId }),
    /** The comment where it is shown: its post's page (`query`: the thread's page), at the comment. */
    inThread: (postId: number, commentId: number, query?: Query) =>
      `${withQuery(fill(routes.posts.show, { id: postId }), query)}#comment-${commentId}`,
  },
  tags: {
    index: (query?: Query) => withQuery(routes.tags.index, query),
    show: (name: string, query?: Query) => withQuery(fill(routes.tags.show, { name }), query),
    feed: (name: string) => fill(routes.tags.feed, { name }),
  },
  robots: routes.robots,
  sitemaps: {
    index: routes.sitemaps.index,
    pages: routes.sitemaps.pages,
    file: (kind: string, file: number) => fill(routes.sitemaps.file, { kind, file }),
  },
  users: {
    index: (query?: Query) => withQuery(routes.users.index, query),
    show: (username: string, query?: Query) => withQuery(fill(routes.users.show, { username }), query),
    edit: (username: string) => fill(routes.users.edit, { username }),
    password: (username: string) => fill(routes.users.password, { username }),
    passwordReset: (username: string) => fill(routes.users.passwordReset, { username }),
    feed: (username: string) => fill(routes.users.feed, { username }),
  },
} as const;

export type Paths = typeof paths;
