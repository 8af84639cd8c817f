import type { Request, Response } from 'express';
import { ForbiddenError } from '../errors.js';
import { currentUser } from '../middleware/auth.js';
import { paths } from '../paths.js';
import { logSecurityEvent } from '../security/audit.js';
import type { CommentOfPost, CommentsService } from '../services/comments.service.js';
import { can } from '../services/policies.js';
import type { PostsService } from '../services/posts.service.js';
import { type FieldErrors, formData, urlData } from '../validators/common.js';
import type { CommentForm } from '../validators/comments.validator.js';
import { saveForm, typedValues } from './form.js';
import { renderPostPage } from './post-page.js';

export function createCommentsController(posts: PostsService, comments: CommentsService) {
  const ids = (req: Request) => urlData<{ id: number; commentId: number }>(req);

  function renderEdit(
    res: Response,
    comment: CommentOfPost,
    status: number,
    body: string,
    errors: FieldErrors = {},
  ): void {
    res.status(status).render('comments/edit', { title: 'Edit your comment', comment, values: { body }, errors });
  }

  /** 303 to the page of the thread that shows the comment (one the viewer may see), at the comment. */
  async function redirectToComment(res: Response, postId: number, commentId: number): Promise<void> {
    const position = await comments.pageOf(postId, commentId);
    res.redirect(303, paths.comments.inThread(postId, commentId, position));
  }

  return {
    create: async (req: Request, res: Response): Promise<void> => {
      const { id } = ids(req);
      const actor = currentUser(req);
      const post = await posts.findVisible(id, actor);
      if (!can.comment(actor, post)) throw new ForbiddenError('Comments open once the post is published.');
      const comment = await saveForm(
        req,
        (status, errors) =>
          renderPostPage(req, res, comments, post, { status, view: { ...typedValues(req, ['body']), errors } }),
        () => comments.create(post.id, actor.id, formData<CommentForm>(req).body),
      );
      if (!comment) return;
      req.flash('success', 'Your comment is posted.');
      await redirectToComment(res, post.id, comment.id);
    },

    /** The comment's stable link: to the page of the thread that shows it, now. */
    show: async (req: Request, res: Response): Promise<void> => {
      const { id, commentId } = ids(req);
      const position = await comments.locate(id, commentId, req.user);
      res.redirect(302, paths.comments.inThread(id, commentId, position));
    },

    edit: async (req: Request, res: Response): Promise<void> => {
      const { id, commentId } = ids(req);
      const comment = await comments.findEditable(id, commentId, currentUser(req));
      renderEdit(res, comment, 200, comment.body);
    },

    update: async (req: Request, res: Response): Promise<void> => {
      const { id, commentId } = ids(req);
      const comment = await comments.findEditable(id, commentId, currentUser(req));
      const saved = await saveForm(
        req,
        (status, errors) => renderEdit(res, comment, status, typedValues(req, ['body']).body, errors),
        async () => {
          await comments.update(comment, formData<CommentForm>(req).body);
          return true;
        },
      );
      if (!saved) return;
      req.flash('success', 'Your comment is saved.');
      // Straight to the page that shows it: a redirect on the way would spend the message.
      await redirectToComment(res, id, commentId);
    },

    destroy: async (req: Request, res: Response): Promise<void> => {
      const { id, commentId } = ids(req);
      const actor = currentUser(req);
      const comment = await comments.findDeletable(id, commentId, actor);
      await comments.destroy(comment);
      // Moderation: someone else's comment removed (by the post's author or an admin).
      if (comment.authorId !== actor.id) {
        logSecurityEvent(req, 'comment_deleted', {
          actorId: actor.id,
          target: { post: comment.postId, comment: comment.id, author: comment.authorId },
        });
      }
      req.flash('success', 'The comment was deleted.');
      res.redirect(303, `${paths.posts.show(comment.postId)}#comments-title`);
    },
  };
}

export type CommentsController = ReturnType<typeof createCommentsController>;
