import type { Request } from 'express';
import { Feed } from 'feed';
import { htmlOf } from './markdown.js';
import type { Post } from '../models/index.js';
import { paths } from '../paths.js';

// The feed library marks titles type="html": a plain-text title must be escaped, or a
// feed reader would render "<script>" in a title as markup.
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The origin absolute links start with: PUBLIC_URL when set, else this request's own. */
export function originOf(req: Request, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

/** An Atom 1.0 document of `posts`, whose absolute links start with `origin`. */
export function atomFeed(options: {
  origin: string;
  title: string;
  description: string;
  /** The feed's own path (its id and rel="self"), and the page it mirrors (rel="alternate"). */
  feedPath: string;
  pagePath: string;
  posts: Post[];
  author?: { name: string; path: string };
}): string {
  const url = (path: string): string => options.origin + path;
  const newest = options.posts.reduce<Date | undefined>(
    (latest, post) => (latest === undefined || post.updatedAt > latest ? post.updatedAt : latest),
    undefined,
  );
  const feed = new Feed({
    id: url(options.feedPath),
    title: options.title,
    description: options.description,
    link: url(options.pagePath),
    // An empty feed has changed last when its site began: a fixed instant, not "now".
    updated: newest ?? new Date(0),
    feedLinks: { atom: url(options.feedPath) },
    author: options.author ? { name: options.author.name, link: url(options.author.path) } : undefined,
    language: 'en',
    generator: false,
  });
  for (const post of options.posts) {
    const author = post.author;
    feed.addItem({
      id: url(paths.posts.show(post.id)),
      link: url(paths.posts.show(post.id)),
      title: escapeHtml(post.title),
      date: post.updatedAt,
      published: post.publishedAt ?? undefined,
      content: htmlOf(post),
      author: author ? [{ name: author.displayName, link: url(paths.users.show(author.username)) }] : undefined,
    });
  }
  return feed.atom1();
}
