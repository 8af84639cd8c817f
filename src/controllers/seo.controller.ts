import type { Request, Response } from 'express';
import { NotFoundError } from '../errors.js';
import { originOf } from '../rendering/feeds.js';
import { escapeHtml } from '../rendering/views.js';
import { paths, routes } from '../paths.js';
import { SITEMAP_KINDS, type SitemapEntry, type SitemapKind, type Sitemaps } from '../services/sitemaps.service.js';
import { urlData } from '../validators/common.js';

const SITEMAP_NS = 'http://www.sitemaps.org/schemas/sitemap/0.9';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
// Crawlers come back for these often enough; an hour keeps them from costing the database.
const AN_HOUR = 'public, max-age=3600';

/** One <url> (or, in an index, <sitemap>) element: its absolute location, and when it last changed. */
function entryXml(element: 'url' | 'sitemap', loc: string, lastModified?: Date | null): string {
  const lastmod = lastModified ? `<lastmod>${lastModified.toISOString()}</lastmod>` : '';
  return `<${element}><loc>${escapeHtml(loc)}</loc>${lastmod}</${element}>\n`;
}

/** The page each kind's entries name. */
const PAGE_OF: Record<SitemapKind, (key: SitemapEntry['key']) => string> = {
  posts: (id) => paths.posts.show(Number(id)),
  users: (username) => paths.users.show(String(username)),
  tags: (name) => paths.tags.show(String(name)),
};

// What crawlers may not fetch: the forms behind an account (writing, editing, commenting),
// account pages, password and address links, searches, and the operator's endpoints. The
// login and signup forms only in their copies with a query (every page's "Log in" link
// carries ?returnTo=…): /login and /signup themselves are the site's doors, pages people
// look for by name, and a page robots.txt blocks is one search engines cannot read but may
// still list (Lighthouse's SEO audit fails it).
const DISALLOWED = [
  `${routes.login}?`,
  `${routes.signup}?`,
  routes.logout,
  '/password/',
  '/email/',
  routes.posts.new,
  '/posts/*/edit',
  '/posts/*/comments',
  '/users/*/edit',
  '/users/*/password',
  '/posts?q=',
  '/posts?*&q=',
  '/users?q=',
  '/healthz',
  '/readyz',
  '/metrics',
];

export function createSeoController(sitemaps: Sitemaps, options: { publicUrl: string | undefined }) {
  return {
    /** What crawlers may fetch, and where the sitemap is. */
    robots: (req: Request, res: Response): void => {
      const lines = ['User-agent: *', 'Allow: /', ...DISALLOWED.map((path) => `Disallow: ${path}`)];
      lines.push('', `Sitemap: ${originOf(req, options.publicUrl)}${paths.sitemaps.index}`);
      res
        .type('text/plain')
        .set('Cache-Control', 'public, max-age=86400')
        .send(`${lines.join('\n')}\n`);
    },

    /** The sitemap index: the list pages' file, then each kind's files that list something. */
    sitemapIndex: async (req: Request, res: Response): Promise<void> => {
      const origin = originOf(req, options.publicUrl);
      const files = await sitemaps.files();
      const entries = [entryXml('sitemap', origin + paths.sitemaps.pages)];
      for (const kind of SITEMAP_KINDS) {
        for (const file of files[kind]) entries.push(entryXml('sitemap', origin + paths.sitemaps.file(kind, file)));
      }
      // Small, and sent whole: res.send gives it an ETag and answers a conditional request with 304.
      res
        .type('application/xml')
        .set('Cache-Control', AN_HOUR)
        .send(`${XML_DECLARATION}<sitemapindex xmlns="${SITEMAP_NS}">\n${entries.join('')}</sitemapindex>\n`);
    },

    /** The list pages. */
    pages: (req: Request, res: Response): void => {
      const origin = originOf(req, options.publicUrl);
      const pages = [paths.home, paths.posts.index(), paths.tags.index(), paths.users.index()];
      res
        .type('application/xml')
        .set('Cache-Control', AN_HOUR)
        .send(
          `${XML_DECLARATION}<urlset xmlns="${SITEMAP_NS}">\n${pages.map((page) => entryXml('url', origin + page)).join('')}</urlset>\n`,
        );
    },

    /**
     * One file of a kind: up to SITEMAP_URLS URLs, streamed as they are read, a batch at a
     * time, so that the app's memory stays flat however large the site. Its ETag and
     * Last-Modified come first, from how many entries it has and the newest change.
     */
    sitemapFile: async (req: Request, res: Response): Promise<void> => {
      const { kind, file } = urlData<{ kind: SitemapKind; file: number }>(req);
      const { count, lastModified } = await sitemaps.freshness(kind, file);
      if (count === 0) throw new NotFoundError('There is no such sitemap.');
      res.type('application/xml').set({
        'Cache-Control': AN_HOUR,
        ETag: `W/"${kind}-${file}-${count}-${lastModified?.getTime() ?? 0}"`,
        ...(lastModified && { 'Last-Modified': lastModified.toUTCString() }),
      });
      if (req.fresh) {
        res.status(304).end();
        return;
      }
      const origin = originOf(req, options.publicUrl);
      res.write(`${XML_DECLARATION}<urlset xmlns="${SITEMAP_NS}">\n`);
      for await (const batch of sitemaps.entries(kind, file)) {
        if (res.destroyed) return;
        const xml = batch.map((entry) => entryXml('url', origin + PAGE_OF[kind](entry.key), entry.lastModified));
        if (!res.write(xml.join(''))) {
          await new Promise((resolve) => {
            res.once('drain', resolve);
            res.once('close', resolve);
          });
        }
      }
      res.end('</urlset>\n');
    },
  };
}

export type SeoController = ReturnType<typeof createSeoController>;
