import { ForeignKeyConstraintError, QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { selectPrepared } from '../db/prepared.js';
import { inTransaction } from '../db/transaction.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { type Comment, modelsOf } from '../models/index.js';
import { type Actor, can } from './policies.js';
import { keysetPage, type Page, type PageQuery, type Position, POST_CURSOR } from './pagination.js';

/** Comments shown at once under a post; more are paged by cursor. */
export const COMMENTS_PAGE_SIZE = 50;

/** A comment as its thread shows it. */
export interface ThreadComment {
  id: number;
  body: string;
  createdAt: Date;
  /** Changed by its writer after it was posted. */
  edited: boolean;
  author: { id: number; username: string; displayName: string };
  /** Its place in the thread: "<microseconds since 1970>-<id>" of its creation. */
  cursor: string;
}

/** A comment someone may change, with what the decision needed of its post. */
export interface CommentOfPost {
  id: number;
  postId: number;
  authorId: number;
  body: string;
  post: { id: number; authorId: number; title: string };
}

const NO_POST = 'We could not find that post.';
const NO_COMMENT = 'We could not find that comment.';

// Exact to the microsecond, as created_at is: a Date would round it and the keyset would
// meet the same comment twice.
const CURSOR_SQL = `(extract(epoch FROM c.created_at) * 1000000)::bigint || '-' || c.id`;

/** A row of a thread's page, as its statement reads it. */
interface ThreadRow {
  id: number;
  body: string;
  edited: boolean;
  authorId: number;
  username: string;
  displayName: string;
  cursor: string;
}

/**
 * Deletes every comment the accounts `authorIds` wrote and takes them off their posts'
 * counts, in `transaction`: accounts about to be deleted, whose comments would otherwise go
 * by cascade, uncounted. The caller holds the accounts' row locks, so that no comment of
 * theirs can be added meanwhile.
 */
export async function deleteCommentsBy(
  sequelize: Sequelize,
  authorIds: number[],
  transaction: Transaction,
): Promise<void> {
  await sequelize.query(
    `WITH gone AS (DELETE FROM comments WHERE author_id = ANY($1::int[]) RETURNING post_id)
     UPDATE posts p SET comments_count = p.comments_count - g.n
       FROM (SELECT post_id, count(*)::int AS n FROM gone GROUP BY post_id) g
      WHERE p.id = g.post_id`,
    { bind: [authorIds], transaction },
  );
}

export function createCommentsService(sequelize: Sequelize) {
  const { Comment, Post } = modelsOf(sequelize);

  /** The comment `commentId` under post `postId`, as `actor` may see it, with its post. */
  async function findOfPost(postId: number, commentId: number, actor: Actor | undefined): Promise<CommentOfPost> {
    const comment = await Comment.findOne({
      where: { id: commentId, postId },
      attributes: ['id', 'postId', 'authorId', 'body'],
      include: [{ model: Post, as: 'post', attributes: ['id', 'authorId', 'title', 'published'] }],
    });
    // A draft's comments are as hidden as the draft.
    if (!comment?.post || !can.viewPost(actor, comment.post)) throw new NotFoundError(NO_COMMENT);
    const { post } = comment;
    return {
      id: comment.id,
      postId: comment.postId,
      authorId: comment.authorId,
      body: comment.body,
      post: { id: post.id, authorId: post.authorId, title: post.title },
    };
  }

  /**
   * The start of the page of post `postId`'s thread that shows comment `commentId` ({} for
   * the first), for a caller that has made sure the viewer may see it. Not found when the
   * comment is not there (deleted meanwhile).
   */
  async function pageOf(postId: number, commentId: number): Promise<PageQuery> {
    const [found] = await sequelize.query<{ before: number; cursor: string | null }>(
      `WITH c AS (SELECT created_at, id FROM comments WHERE id = $2 AND post_id = $1),
            n AS (SELECT count(*)::int AS before FROM comments x, c
                   WHERE x.post_id = $1 AND (x.created_at, x.id) < (c.created_at, c.id))
       SELECT n.before,
              (SELECT (extract(epoch FROM y.created_at) * 1000000)::bigint || '-' || y.id
                 FROM comments y WHERE y.post_id = $1 ORDER BY y.created_at, y.id
               OFFSET greatest(n.before / $3 * $3 - 1, 0) LIMIT 1) AS cursor
       FROM c, n`,
      { bind: [postId, commentId, COMMENTS_PAGE_SIZE], type: QueryTypes.SELECT },
    );
    if (!found) throw new NotFoundError(NO_COMMENT);
    // A page after the first starts after the last comment of the page before it.
    return found.before >= COMMENTS_PAGE_SIZE && found.cursor ? { after: found.cursor } : {};
  }

  return {
    /**
     * A page of a post's comments, oldest first, each with its author: one statement however
     * long the thread. `count` is the post's comments_count: none, and nothing is read.
     */
    async thread(postId: number, count: number, position: Position): Promise<Page<ThreadComment>> {
      if (count === 0 && position.after === undefined && position.before === undefined) return { items: [] };
      const cursor = (position.after ?? position.before)?.match(POST_CURSOR);
      const backwards = position.before !== undefined;
      const direction = backwards ? 'DESC' : 'ASC';
      // Four texts in all (each way, with a cursor or without), each prepared once per connection.
      const after = cursor
        ? `AND (c.created_at, c.id) ${backwards ? '<' : '>'} ` +
          `('epoch'::timestamptz + $2::bigint * interval '1 microsecond', $3::int)`
        : '';
      // The page of comments first, then their authors: however stale the planner's idea of
      // how many comments the post has, no more than a page of them is joined.
      const rows = await selectPrepared<ThreadRow>(
        sequelize,
        `SELECT c.id, c.body, c.updated_at > c.created_at AS edited,
                u.id AS "authorId", u.username, u.display_name AS "displayName", ${CURSOR_SQL} AS cursor
           FROM (SELECT id, body, created_at, updated_at, author_id FROM comments c
                  WHERE c.post_id = $1 ${after}
                  ORDER BY c.created_at ${direction}, c.id ${direction}
                  LIMIT ${COMMENTS_PAGE_SIZE + 1}) c
           JOIN users u ON u.id = c.author_id
          ORDER BY c.created_at ${direction}, c.id ${direction}`,
        cursor ? [postId, cursor[1], Number(cursor[2])] : [postId],
      );
      const comments = rows.map((row): ThreadComment => ({
        id: row.id,
        body: row.body,
        // The cursor's microseconds: a Date of its milliseconds, without parsing created_at's text.
        createdAt: new Date(Number(row.cursor.slice(0, row.cursor.indexOf('-'))) / 1000),
        edited: row.edited,
        author: { id: row.authorId, username: row.username, displayName: row.displayName },
        cursor: row.cursor,
      }));
      return keysetPage(comments, position, (comment) => comment.cursor, COMMENTS_PAGE_SIZE);
    },

    /**
     * Where comment `commentId` of post `postId` is shown: the start of its page of the
     * thread ({} for the first). Not found, also when the post is not `viewer`'s to see.
     */
    async locate(postId: number, commentId: number, viewer: Actor | undefined): Promise<PageQuery> {
      await findOfPost(postId, commentId, viewer);
      return pageOf(postId, commentId);
    },

    pageOf,

    /**
     * Adds a comment under a published post and counts it, in one transaction. Taking the
     * post's row for the count first also makes sure it is still there and published.
     */
    create(postId: number, authorId: number, body: string): Promise<Comment> {
      return inTransaction(sequelize, async (transaction) => {
        const counted = await sequelize.query(
          'UPDATE posts SET comments_count = comments_count + 1 WHERE id = $1 AND published RETURNING id',
          { bind: [postId], type: QueryTypes.SELECT, transaction },
        );
        if (counted.length === 0) throw new NotFoundError(NO_POST);
        try {
          return await Comment.create({ postId, authorId, body }, { transaction });
        } catch (error) {
          // The account was deleted while it wrote.
          if (error instanceof ForeignKeyConstraintError) throw new NotFoundError(NO_POST);
          throw error;
        }
      });
    },

    /** A comment `actor` may edit: only its writer's. */
    async findEditable(postId: number, commentId: number, actor: Actor): Promise<CommentOfPost> {
      const comment = await findOfPost(postId, commentId, actor);
      if (!can.editComment(actor, comment)) throw new ForbiddenError('Only its writer can edit a comment.');
      return comment;
    },

    /** A comment `actor` may delete: their own, one under their post, or any for an admin. */
    async findDeletable(postId: number, commentId: number, actor: Actor): Promise<CommentOfPost> {
      const comment = await findOfPost(postId, commentId, actor);
      if (!can.deleteComment(actor, comment, comment.post)) {
        throw new ForbiddenError('Only its writer, the post’s author or an admin can delete a comment.');
      }
      return comment;
    },

    async update(comment: CommentOfPost, body: string): Promise<void> {
      const [updated] = await Comment.update({ body }, { where: { id: comment.id } });
      // Deleted meanwhile.
      if (updated === 0) throw new NotFoundError(NO_COMMENT);
    },

    /** Deletes a comment and takes it off its post's count, in one transaction. */
    async destroy(comment: CommentOfPost): Promise<void> {
      await inTransaction(sequelize, async (transaction) => {
        const deleted = await Comment.destroy({ where: { id: comment.id }, transaction });
        // Lost a race with another delete (of it, or of its post): that one counted.
        if (deleted === 0) throw new NotFoundError(NO_COMMENT);
        await sequelize.query('UPDATE posts SET comments_count = comments_count - 1 WHERE id = $1', {
          bind: [comment.postId],
          transaction,
        });
      });
    },
  };
}

export type CommentsService = ReturnType<typeof createCommentsService>;
