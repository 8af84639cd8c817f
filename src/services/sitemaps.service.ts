import { QueryTypes, type Sequelize } from 'sequelize';

/** The most URLs one sitemap file may list (the sitemaps.org protocol's limit). */
export const SITEMAP_URLS = 50_000;
/** Rows read at a time while a sitemap file streams: the app holds no more than these. */
const BATCH_ROWS = 5_000;

/**
 * What the sitemaps list beside the list pages, each in files of ids: file N of a kind holds
 * the rows with ids from (N - 1) × SITEMAP_URLS + 1 to N × SITEMAP_URLS, so no file can pass
 * the protocol's limit and each is one range of its table's primary key, read by keyset.
 */
export type SitemapKind = 'posts' | 'users' | 'tags';
export const SITEMAP_KINDS: readonly SitemapKind[] = ['posts', 'users', 'tags'];

/** One URL of a sitemap: what it names (a post's id, a username, a tag's name), and when it last changed. */
export interface SitemapEntry {
  key: number | string;
  lastModified: Date | null;
}

interface KindSql {
  /** The table, as alias x. */
  from: string;
  /** Which of its rows have a page worth finding, over x. */
  listed: string;
  /** What names the row's page (SQL over x). */
  key: string;
  /** When the row's page last changed (SQL over x). */
  lastModified: string;
}

const KINDS: Record<SitemapKind, KindSql> = {
  // Published posts, as last edited.
  posts: { from: 'posts x', listed: 'x.published', key: 'x.id', lastModified: 'x.updated_at' },
  // People with a published post: their page changes with their profile and their posts.
  users: {
    from: 'users x',
    listed: 'EXISTS (SELECT 1 FROM posts p WHERE p.author_id = x.id AND p.published)',
    key: 'x.username',
    lastModified: `greatest(x.updated_at, (SELECT max(p.published_at) FROM posts p
                                            WHERE p.author_id = x.id AND p.published))`,
  },
  // Tags that published posts carry: their page changes with their newest post.
  tags: {
    from: 'tags x',
    listed: 'x.posts_count > 0',
    key: 'x.name',
    lastModified: '(SELECT max(pt.published_at) FROM post_tags pt WHERE pt.tag_id = x.id)',
  },
};

export function createSitemaps(sequelize: Sequelize) {
  return {
    /**
     * The files of each kind that have something to list, by number: a walk of the primary
     * key from one file's range to the next that holds a listed row (one index probe a
     * file, 20 for a million posts), never a scan of the table.
     */
    async files(): Promise<Record<SitemapKind, number[]>> {
      const files = {} as Record<SitemapKind, number[]>;
      for (const kind of SITEMAP_KINDS) {
        const { from, listed } = KINDS[kind];
        const rows = await sequelize.query<{ file: number }>(
          `WITH RECURSIVE files (n) AS (
             SELECT (SELECT (min(x.id) - 1) / $1 + 1 FROM ${from} WHERE ${listed})
             UNION ALL
             SELECT (SELECT (min(x.id) - 1) / $1 + 1 FROM ${from} WHERE ${listed} AND x.id > files.n * $1)
               FROM files WHERE files.n IS NOT NULL)
           SELECT n::int AS file FROM files WHERE n IS NOT NULL`,
          { bind: [SITEMAP_URLS], type: QueryTypes.SELECT },
        );
        files[kind] = rows.map((row) => row.file);
      }
      return files;
    },

    /**
     * How many entries file `file` of `kind` lists and when the newest of them changed, for
     * its ETag and Last-Modified: one pass over its range of the primary key.
     */
    async freshness(kind: SitemapKind, file: number): Promise<{ count: number; lastModified: Date | null }> {
      const { from, listed, lastModified } = KINDS[kind];
      const [row] = await sequelize.query<{ count: number; lastModified: Date | null }>(
        `SELECT count(*)::int AS count, max(${lastModified}) AS "lastModified"
           FROM ${from} WHERE ${listed} AND x.id > $1 AND x.id <= $2`,
        { bind: [(file - 1) * SITEMAP_URLS, file * SITEMAP_URLS], type: QueryTypes.SELECT },
      );
      return row ?? { count: 0, lastModified: null };
    },

    /** The entries of file `file` of `kind`, in id order, read BATCH_ROWS at a time by keyset. */
    async *entries(kind: SitemapKind, file: number): AsyncGenerator<SitemapEntry[]> {
      const { from, listed, key, lastModified } = KINDS[kind];
      const end = file * SITEMAP_URLS;
      let after = (file - 1) * SITEMAP_URLS;
      for (;;) {
        const rows = await sequelize.query<SitemapEntry & { id: number }>(
          `SELECT x.id, ${key} AS key, ${lastModified} AS "lastModified" FROM ${from}
            WHERE ${listed} AND x.id > $1 AND x.id <= $2
            ORDER BY x.id LIMIT ${BATCH_ROWS}`,
          { bind: [after, end], type: QueryTypes.SELECT },
        );
        if (rows.length > 0) yield rows.map(({ key, lastModified }) => ({ key, lastModified }));
        if (rows.length < BATCH_ROWS) return;
        after = rows.at(-1)!.id;
      }
    },
  };
}

export type Sitemaps = ReturnType<typeof createSitemaps>;
