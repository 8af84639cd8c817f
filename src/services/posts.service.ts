import { Op, type Order, QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { selectPrepared } from '../db/prepared.js';
import { inTransaction } from '../db/transaction.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { rendered, RENDERER_VERSION, toExcerpt } from '../rendering/markdown.js';
import type { ListedPost } from '../rendering/views.js';
import { modelsOf, type Post } from '../models/index.js';
import { type Actor, can } from './policies.js';
import { keysetPage, offsetFor, PAGE_FETCH, type Page, type Position, POST_CURSOR } from './pagination.js';

export interface PostInput {
  title: string;
  body: string;
  published: boolean;
  /** Its tags' names, each valid (TAG_PATTERN), at most MAX_TAGS, no name twice. */
  tags: string[];
}

export interface WeekActivity {
  weekStart: Date;
  posts: number;
}

export interface PostSummary extends ListedPost {
  /** Its place in the list it was read from: "<microseconds since 1970>-<id>". */
  cursor: string;
}

export interface SummaryRow {
  id: number;
  title: string;
  published: boolean;
  publishedAt: Date | null;
  createdAt: Date;
  /** The stored excerpt, when the current renderer made it; else the start of the body to make one from. */
  excerpt: string | null;
  bodyStart: string | null;
  authorUsername: string;
  authorDisplayName: string;
  cursor: string;
}

// Lists read each post's stored excerpt; only a post the current renderer has not stored
// yet gives the start of its body, enough to make one.
const EXCERPT_SOURCE_CHARS = 600;

/** The lists of posts, each served by an index on (its filter, sort column DESC, id DESC). */
type SortColumn = 'published_at' | 'created_at';

/** The columns of a summary, over posts p and users u; `sort` gives the cursor. */
export function summaryColumns(sort: SortColumn): string {
  return `p.id, p.title, p.published, p.published_at AS "publishedAt", p.created_at AS "createdAt",
          CASE WHEN p.rendered_with = ${RENDERER_VERSION} THEN p.excerpt END AS excerpt,
          CASE WHEN p.rendered_with <> ${RENDERER_VERSION} THEN left(p.body, ${EXCERPT_SOURCE_CHARS}) END AS "bodyStart",
          u.username AS "authorUsername", u.display_name AS "authorDisplayName",
          (extract(epoch FROM p.${sort}) * 1000000)::bigint || '-' || p.id AS cursor`;
}

export function toSummary(row: SummaryRow): PostSummary {
  return {
    id: row.id,
    title: row.title,
    excerpt: row.excerpt ?? toExcerpt(row.bodyStart ?? ''),
    published: row.published,
    publishedAt: row.publishedAt,
    createdAt: row.createdAt,
    author: { username: row.authorUsername, displayName: row.authorDisplayName },
    cursor: row.cursor,
  };
}

export function createPostsService(sequelize: Sequelize) {
  const { Post, Tag, User } = modelsOf(sequelize);
  /** A post's tags, names only, as an include (and their order). */
  const TAGS = { model: Tag, as: 'tags', attributes: ['id', 'name'], through: { attributes: [] } };
  const TAGS_ORDER: Order = [[{ model: Tag, as: 'tags' }, 'name', 'ASC']];
  /**
   * Rows of a list of posts with their authors: one query, written out rather than built
   * by findAll (this is the hot path of the site), with every value bound. `filter` is SQL
   * over the alias p with $1…$n bound to `bind`; `from` names what p is (posts by default);
   * `columns` replaces the summary's own.
   */
  async function summaries<Row extends object = SummaryRow>(options: {
    from?: string;
    columns?: string;
    filter: string;
    bind: unknown[];
    sort: SortColumn;
    position: Position;
    limit: number;
    transaction?: Transaction;
    /** As a prepared statement (src/db/prepared.ts): only where one plan suits every value. */
    prepared?: boolean;
    /** The columns the rows are ordered and paged by, when not p's own (an index elsewhere serves them). */
    key?: [date: string, id: string];
  }): Promise<Row[]> {
    const bind = [...options.bind];
    const param = (value: unknown): string => {
      bind.push(value);
      return `$${bind.length}`;
    };
    const { sort, position } = options;
    const [keyDate, keyId] = options.key ?? [`p.${sort}`, 'p.id'];
    const conditions = [options.filter];
    const cursor = (position.after ?? position.before)?.match(POST_CURSOR);
    if (cursor) {
      const [, micros, id] = cursor;
      const key = `('epoch'::timestamptz + ${param(micros)}::bigint * interval '1 microsecond', ${param(Number(id))}::int)`;
      conditions.push(`(${keyDate}, ${keyId}) ${position.before ? '>' : '<'} ${key}`);
    }
    const direction = position.before ? 'ASC' : 'DESC';
    // The limit is the code's own number, in the text: the plan for a bound one would have to
    // guess how many rows are wanted. An offset comes only with numbered pages (search).
    const offset = cursor ? 0 : offsetFor(position);
    const sql = `SELECT ${options.columns ?? summaryColumns(sort)}
         FROM ${options.from ?? 'posts p'} JOIN users u ON u.id = p.author_id
        WHERE ${conditions.join(' AND ')}
        ORDER BY ${keyDate} ${direction}, ${keyId} ${direction}
        LIMIT ${Math.trunc(options.limit)}${offset > 0 ? ` OFFSET ${param(offset)}` : ''}`;
    if (options.prepared && offset === 0 && !options.transaction) return selectPrepared<Row>(sequelize, sql, bind);
    return sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT, transaction: options.transaction });
  }

  const cursorOf = (post: PostSummary): string => post.cursor;

  /**
   * Gives `post` exactly the tags `names` (through post_tags: belongsToMany's setTags),
   * making the tags no post had yet. Two posts making one new tag at once: the unique name
   * keeps one row, and each finds it. Every writer takes tags in one order, by name to make
   * them and by id to pair them (the order the triggers then count them in, as a post's
   * publishing does): two posts sharing tags wait for each other instead of deadlocking.
   */
  async function tagPost(post: Post, names: string[], transaction: Transaction): Promise<void> {
    if (names.length > 0) {
      await Tag.bulkCreate(
        [...names].sort().map((name) => ({ name })),
        { ignoreDuplicates: true, transaction },
      );
    }
    const tags =
      names.length > 0 ? await Tag.findAll({ where: { name: names }, order: [['id', 'ASC']], transaction }) : [];
    await post.setTags(tags, { transaction });
  }

  const newestFirst: [string, 'DESC'][] = [
    ['publishedAt', 'DESC'],
    ['id', 'DESC'],
  ];

  return {
    async latest(limit: number): Promise<PostSummary[]> {
      const rows = await summaries({
        filter: 'p.published',
        bind: [],
        sort: 'published_at',
        position: {},
        limit,
        prepared: true,
      });
      return rows.map(toSummary);
    },

    /** Published posts, newest first, by cursor. */
    async listPublished(position: Position): Promise<Page<PostSummary>> {
      const rows = await summaries({
        filter: 'p.published',
        bind: [],
        sort: 'published_at',
        position,
        limit: PAGE_FETCH,
        prepared: true,
      });
      return keysetPage(rows.map(toSummary), position, cursorOf);
    },

    /**
     * A page of published posts, newest first by cursor, of another shape than a summary:
     * `columns` over posts p and users u, each row turned into an item by `map`.
     */
    async summaryPage<Row extends SummaryRow, Item extends PostSummary>(options: {
      from: string;
      filter: string;
      bind: unknown[];
      columns: string;
      position: Position;
      transaction: Transaction;
      map: (row: Row) => Item;
    }): Promise<Page<Item>> {
      const rows = await summaries<Row>({ ...options, sort: 'published_at', limit: PAGE_FETCH });
      return keysetPage(rows.map(options.map), options.position, cursorOf);
    },

    /**
     * The published posts carrying the tag `name`, newest first, by cursor: read in
     * post_tags' date order, in one statement with the tag's count of published posts. A
     * page without posts has no row to carry the count: `postsCount` is then undefined, and
     * whether the tag is there at all is for the caller to ask.
     */
    async listTagged(name: string, position: Position): Promise<Page<PostSummary> & { postsCount?: number }> {
      // Each subquery on tags runs once for the statement (it refers to nothing outside
      // it): the page is then a range of post_tags' (tag_id, published_at, post_id) index.
      const rows = await summaries<SummaryRow & { tagPostsCount: number }>({
        columns: `${summaryColumns('published_at')}, (SELECT posts_count FROM tags WHERE name = $1) AS "tagPostsCount"`,
        from: 'post_tags pt JOIN posts p ON p.id = pt.post_id',
        filter: 'pt.tag_id = (SELECT id FROM tags WHERE name = $1) AND pt.published_at IS NOT NULL',
        bind: [name],
        sort: 'published_at',
        key: ['pt.published_at', 'pt.post_id'],
        position,
        limit: PAGE_FETCH,
        prepared: true,
      });
      return { ...keysetPage(rows.map(toSummary), position, cursorOf), postsCount: rows[0]?.tagPostsCount };
    },

    /** The posts shown on a profile: drafts too (newest written first) when the viewer is its owner. */
    async listByAuthor(options: {
      authorId: number;
      includeDrafts: boolean;
      position: Position;
    }): Promise<Page<PostSummary>> {
      const rows = await summaries({
        filter: options.includeDrafts ? 'p.author_id = $1' : 'p.author_id = $1 AND p.published',
        bind: [options.authorId],
        sort: options.includeDrafts ? 'created_at' : 'published_at',
        position: options.position,
        limit: PAGE_FETCH,
      });
      return keysetPage(rows.map(toSummary), options.position, cursorOf);
    },

    /**
     * Published posts per week over the last 52 weeks, oldest first, empty weeks included:
     * one grouped query, each week an index range scan on (author_id, published_at).
     */
    weeklyActivity(authorId: number): Promise<WeekActivity[]> {
      // Weeks in UTC, whatever the session's TimeZone: the arithmetic is on plain
      // timestamps, turned into timestamptz only to compare with published_at.
      return sequelize.query<WeekActivity>(
        `SELECT weeks.week AT TIME ZONE 'UTC' AS "weekStart", count(p.id)::int AS posts
           FROM generate_series(date_trunc('week', now() AT TIME ZONE 'UTC') - interval '51 weeks',
                                date_trunc('week', now() AT TIME ZONE 'UTC'), interval '1 week') AS weeks(week)
           LEFT JOIN posts p
             ON p.author_id = $1 AND p.published
            AND p.published_at >= weeks.week AT TIME ZONE 'UTC'
            AND p.published_at < (weeks.week + interval '1 week') AT TIME ZONE 'UTC'
          GROUP BY weeks.week
          ORDER BY weeks.week`,
        { bind: [authorId], type: QueryTypes.SELECT },
      );
    },

    async lastPublishedAt(authorId: number): Promise<Date | null> {
      const last = await Post.max<Date | null, Post>('publishedAt', { where: { authorId, published: true } });
      return last ?? null;
    },

    /** The newest published posts, whole, for a feed: the site's, one author's, or one tag's. */
    feedEntries(options: { limit: number; authorId?: number; tagId?: number }): Promise<Post[]> {
      const limit = Math.trunc(options.limit);
      return Post.findAll({
        where: {
          published: true,
          ...(options.authorId !== undefined && { authorId: options.authorId }),
          // The tag's newest, from post_tags' own date index.
          ...(options.tagId !== undefined && {
            id: {
              [Op.in]: sequelize.literal(
                `(SELECT post_id FROM post_tags WHERE tag_id = ${sequelize.escape(options.tagId)}
                   AND published_at IS NOT NULL ORDER BY published_at DESC, post_id DESC LIMIT ${limit})`,
              ),
            },
          }),
        },
        attributes: ['id', 'title', 'body', 'bodyHtml', 'renderedWith', 'publishedAt', 'updatedAt'],
        include: [{ model: User, as: 'author', attributes: ['username', 'displayName'] }],
        order: newestFirst,
        limit,
      });
    },

    /** A post with its author and tags, as `viewer` may see it: drafts only for who may edit them. */
    async findVisible(id: number, viewer: Actor | undefined): Promise<Post> {
      const post = await Post.findByPk(id, {
        include: [{ model: User, as: 'author', attributes: ['id', 'username', 'displayName'] }, TAGS],
        order: TAGS_ORDER,
        rejectOnEmpty: new NotFoundError('We could not find that post.'),
      });
      if (!can.viewPost(viewer, post)) throw new NotFoundError('We could not find that post.');
      return post;
    },

    /** A post `actor` may change, with its tags, or 404 when there is none, 403 when it isn't theirs. */
    async findEditable(id: number, actor: Actor): Promise<Post> {
      const post = await Post.findByPk(id, {
        include: [TAGS],
        order: TAGS_ORDER,
        rejectOnEmpty: new NotFoundError('We could not find that post.'),
      });
      if (!can.editPost(actor, post)) throw new ForbiddenError('Only the author or an admin can change this post.');
      return post;
    },

    create(authorId: number, input: PostInput): Promise<Post> {
      return inTransaction(sequelize, async (transaction) => {
        const post = await Post.create(
          {
            authorId,
            title: input.title,
            body: input.body,
            ...rendered(input.body),
            published: input.published,
            publishedAt: input.published ? new Date() : null,
          },
          { transaction },
        );
        await User.increment('postsCount', { by: 1, where: { id: authorId }, transaction });
        // A new post has no tags to compare with: nothing to do without any.
        if (input.tags.length > 0) await tagPost(post, input.tags, transaction);
        return post;
      });
    },

    /** The post changed as the form says, and its tags, in one transaction. */
    async update(post: Post, input: PostInput): Promise<Post> {
      // Publishing stamps the date once; unpublishing turns the post back into a draft.
      const publishedAt = input.published ? (post.publishedAt ?? new Date()) : null;
      return inTransaction(sequelize, async (transaction) => {
        await post.update(
          { title: input.title, body: input.body, ...rendered(input.body), published: input.published, publishedAt },
          { transaction },
        );
        await tagPost(post, input.tags, transaction);
        return post;
      });
    },

    /**
     * Stores the HTML and excerpt of up to `limit` posts after `afterId` that the current
     * renderer has not stored (a body edited meanwhile was stored by its edit, and is left
     * alone): one statement. The last id it read (undefined when none was left), and how
     * many it stored.
     */
    async renderStale(afterId: number, limit: number): Promise<{ lastId?: number; stored: number }> {
      const rows = await sequelize.query<{ id: number; body: string }>(
        'SELECT id, body FROM posts WHERE id > $1 AND rendered_with <> $2 ORDER BY id LIMIT $3',
        { bind: [afterId, RENDERER_VERSION, limit], type: QueryTypes.SELECT },
      );
      if (rows.length === 0) return { stored: 0 };
      const made = rows.map((row) => rendered(row.body));
      const stored = await sequelize.query(
        `UPDATE posts p SET body_html = v.html, excerpt = v.excerpt, rendered_with = $4
           FROM unnest($1::int[], $2::text[], $3::text[]) AS v(id, html, excerpt)
          WHERE p.id = v.id AND p.rendered_with <> $4
          RETURNING p.id`,
        {
          bind: [rows.map((row) => row.id), made.map((m) => m.bodyHtml), made.map((m) => m.excerpt), RENDERER_VERSION],
          type: QueryTypes.SELECT,
        },
      );
      return { lastId: rows.at(-1)!.id, stored: stored.length };
    },

    async destroy(post: Post): Promise<void> {
      await inTransaction(sequelize, async (transaction) => {
        const deleted = await Post.destroy({ where: { id: post.id }, transaction });
        // Lost a race with another delete: that one already adjusted the counter.
        if (deleted === 0) throw new NotFoundError('We could not find that post.');
        await User.decrement('postsCount', { by: 1, where: { id: post.authorId }, transaction });
      });
    },
  };
}

export type PostsService = ReturnType<typeof createPostsService>;
