import type { Request, Response } from 'express';
import { paths } from '../paths.js';
import { excerptOf, htmlOf } from '../rendering/markdown.js';
import type { CommentsService } from '../services/comments.service.js';
import type { PageQuery, Position } from '../services/pagination.js';
import type { PostsService } from '../services/posts.service.js';
import { can } from '../services/policies.js';
import { type FieldErrors, listData } from '../validators/common.js';

type ShownPost = Awaited<ReturnType<PostsService['findVisible']>>;

/** The comment form as it was sent back: what was typed and what is wrong with it. */
export interface CommentFormView {
  body: string;
  errors: FieldErrors;
}

/**
 * A post's page: the post, a page of its comments (where ?after or ?before says), and the
 * comment form, with what `req.user` may do to each. Shown by GET /posts/:id, and again with
 * `status` by a comment that could not be posted.
 */
export async function renderPostPage(
  req: Request,
  res: Response,
  comments: CommentsService,
  post: ShownPost,
  form: { status: number; view: CommentFormView } = { status: 200, view: { body: '', errors: {} } },
): Promise<void> {
  // Where the thread's page starts: ?after or ?before a comment's cursor.
  const position = form.status === 200 ? listData<Position>(req) : {};
  const thread = await comments.thread(post.id, post.commentsCount, position);
  const viewer = req.user;
  const description = excerptOf(post);
  res.status(form.status).render('posts/show', {
    title: post.title,
    description,
    canonicalPath: paths.posts.show(post.id, { after: position.after, before: position.before }),
    // What a link to it shows where it is shared: a published post only.
    share: post.published
      ? {
          type: 'article',
          title: post.title,
          description,
          path: paths.posts.show(post.id),
          publishedAt: post.publishedAt,
          authorPath: paths.users.show(post.author!.username),
        }
      : undefined,
    post,
    html: htmlOf(post),
    canEdit: can.editPost(viewer, post),
    canComment: can.comment(viewer, post),
    thread: {
      ...thread,
      items: thread.items.map((comment) => {
        const ofComment = { authorId: comment.author.id };
        return {
          ...comment,
          canEdit: can.editComment(viewer, ofComment),
          canDelete: can.deleteComment(viewer, ofComment, post),
        };
      }),
    },
    commentsPage: (query: PageQuery) => `${paths.posts.show(post.id, query)}#comments-title`,
    commentForm: form.view,
  });
}
