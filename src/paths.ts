// Every URL the app links or redirects to. Views get this object as `paths`.

import { assetUrl } from './rendering/assets.js';

type Query = Record<string, string | number | undefined>;

function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

const user = (username: string): string => `/users/${encodeURIComponent(username)}`;

export const paths = {
  home: '/',
  // Getters, so that importing this module reads no file: public/ is hashed on first use.
  get stylesheet(): string {
    return assetUrl('site.css');
  },
  get favicon(): string {
    return assetUrl('favicon.svg');
  },
  signup: '/signup',
  login: (returnTo?: string) => withQuery('/login', { returnTo }),
  logout: '/logout',
  posts: {
    index: (query?: Query) => withQuery('/posts', query),
    feed: '/posts.atom',
    new: '/posts/new',
    create: '/posts',
    show: (id: number) => `/posts/${id}`,
    edit: (id: number) => `/posts/${id}/edit`,
  },
  users: {
    index: (query?: Query) => withQuery('/users', query),
    show: (username: string, query?: Query) => withQuery(user(username), query),
    edit: (username: string) => `${user(username)}/edit`,
    password: (username: string) => `${user(username)}/password`,
    feed: (username: string) => `${user(username)}/posts.atom`,
  },
} as const;

export type Paths = typeof paths;
