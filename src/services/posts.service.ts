import { Op, QueryTypes, type Sequelize, type WhereOptions } from 'sequelize';
import { inTransaction } from '../db/transaction.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { toExcerpt } from '../markdown.js';
import { Post, User } from '../models/index.js';
import { type Actor, can } from '../policies.js';
import { containsPattern, offsetFor, PAGE_SIZE, type Page, toPage } from './pagination.js';

export interface PostInput {
  title: string;
  body: string;
  published: boolean;
}

export interface WeekActivity {
  weekStart: Date;
  posts: number;
}

export interface PostSummary {
  id: number;
  title: string;
  excerpt: string;
  published: boolean;
  publishedAt: Date | null;
  createdAt: Date;
  author: { username: string; displayName: string };
}

// Lists read only the start of each body, enough for an excerpt.
const SUMMARY_ATTRIBUTES = ['id', 'title', 'published', 'publishedAt', 'createdAt'] as const;
const EXCERPT_SOURCE_CHARS = 600;

export function createPostsService(sequelize: Sequelize) {
  async function summaries(options: {
    where: WhereOptions<Post>;
    order: [string, 'ASC' | 'DESC'][];
    limit: number;
    offset?: number;
  }): Promise<PostSummary[]> {
    const rows = (await Post.findAll({
      where: options.where,
      attributes: [
        ...SUMMARY_ATTRIBUTES,
        [sequelize.fn('left', sequelize.col('body'), EXCERPT_SOURCE_CHARS), 'bodyStart'],
      ],
      include: [{ model: User, as: 'author', attributes: ['username', 'displayName'] }],
      order: options.order,
      limit: options.limit,
      offset: options.offset ?? 0,
      raw: true,
      nest: true,
    })) as unknown as (Omit<PostSummary, 'excerpt'> & { bodyStart: string })[];
    return rows.map(({ bodyStart, ...row }) => ({ ...row, excerpt: toExcerpt(bodyStart) }));
  }

  const newestFirst: [string, 'DESC'][] = [
    ['publishedAt', 'DESC'],
    ['id', 'DESC'],
  ];

  return {
    latest(limit: number): Promise<PostSummary[]> {
      return summaries({ where: { published: true }, order: newestFirst, limit });
    },

    async listPublished(options: { page: number; q?: string }): Promise<Page<PostSummary>> {
      const where: WhereOptions<Post> = { published: true };
      if (options.q) {
        const pattern = containsPattern(options.q);
        Object.assign(where, {
          [Op.or]: [{ title: { [Op.iLike]: pattern } }, { body: { [Op.iLike]: pattern } }],
        });
      }
      const [items, total] = await Promise.all([
        summaries({ where, order: newestFirst, limit: PAGE_SIZE, offset: offsetFor(options.page) }),
        Post.count({ where }),
      ]);
      return toPage(items, total, options.page);
    },

    /** The posts shown on a profile: drafts too when the viewer is its owner. */
    async listByAuthor(options: {
      authorId: number;
      includeDrafts: boolean;
      page: number;
    }): Promise<Page<PostSummary>> {
      const where: WhereOptions<Post> = options.includeDrafts
        ? { authorId: options.authorId }
        : { authorId: options.authorId, published: true };
      const order: [string, 'DESC'][] = options.includeDrafts
        ? [
            ['createdAt', 'DESC'],
            ['id', 'DESC'],
          ]
        : newestFirst;
      const [items, total] = await Promise.all([
        summaries({ where, order, limit: PAGE_SIZE, offset: offsetFor(options.page) }),
        Post.count({ where }),
      ]);
      return toPage(items, total, options.page);
    },

    /**
     * Published posts per week over the last 52 weeks, oldest first, empty weeks included:
     * one grouped query, each week an index range scan on (author_id, published_at).
     */
    weeklyActivity(authorId: number): Promise<WeekActivity[]> {
      return sequelize.query<WeekActivity>(
        `SELECT weeks.week AS "weekStart", count(p.id)::int AS posts
           FROM generate_series(date_trunc('week', now()) - interval '51 weeks',
                                date_trunc('week', now()), interval '1 week') AS weeks(week)
           LEFT JOIN posts p
             ON p.author_id = $1 AND p.published
            AND p.published_at >= weeks.week AND p.published_at < weeks.week + interval '1 week'
          GROUP BY weeks.week
          ORDER BY weeks.week`,
        { bind: [authorId], type: QueryTypes.SELECT },
      );
    },

    async lastPublishedAt(authorId: number): Promise<Date | null> {
      const last = await Post.max<Date | null, Post>('publishedAt', { where: { authorId, published: true } });
      return last ?? null;
    },

    /** The newest published posts, whole, for a feed: the site's, or one author's. */
    feedEntries(options: { limit: number; authorId?: number }): Promise<Post[]> {
      return Post.findAll({
        where: options.authorId === undefined ? { published: true } : { published: true, authorId: options.authorId },
        attributes: ['id', 'title', 'body', 'publishedAt', 'updatedAt'],
        include: [{ model: User, as: 'author', attributes: ['username', 'displayName'] }],
        order: newestFirst,
        limit: options.limit,
      });
    },

    /** A post with its author, as `viewer` may see it: drafts only for who may edit them. */
    async findVisible(id: number, viewer: Actor | undefined): Promise<Post> {
      const post = await Post.findByPk(id, {
        include: [{ model: User, as: 'author', attributes: ['id', 'username', 'displayName'] }],
        rejectOnEmpty: new NotFoundError('We could not find that post.'),
      });
      if (!can.viewPost(viewer, post)) throw new NotFoundError('We could not find that post.');
      return post;
    },

    /** A post `actor` may change, or 404 when there is none, 403 when it isn't theirs. */
    async findEditable(id: number, actor: Actor): Promise<Post> {
      const post = await Post.findByPk(id, { rejectOnEmpty: new NotFoundError('We could not find that post.') });
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
            published: input.published,
            publishedAt: input.published ? new Date() : null,
          },
          { transaction },
        );
        await User.increment('postsCount', { by: 1, where: { id: authorId }, transaction });
        return post;
      });
    },

    async update(post: Post, input: PostInput): Promise<Post> {
      // Publishing stamps the date once; unpublishing turns the post back into a draft.
      const publishedAt = input.published ? (post.publishedAt ?? new Date()) : null;
      return post.update({ title: input.title, body: input.body, published: input.published, publishedAt });
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
