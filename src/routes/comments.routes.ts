import { Router } from 'express';
import type { CommentsController } from '../controllers/comments.controller.js';
import { requireLogin } from '../middleware/auth.js';
import type { RateLimits } from '../middleware/rate-limits.js';
import { routes } from '../paths.js';
import { commentIdParam, idParam } from '../validators/common.js';
import { commentRules } from '../validators/comments.validator.js';

export function commentsRouter(comments: CommentsController, limits: RateLimits): Router {
  return Router()
    .post(routes.posts.comments, requireLogin, idParam, limits.comment, commentRules, comments.create)
    .get(routes.comments.show, idParam, commentIdParam, comments.show)
    .get(routes.comments.edit, requireLogin, idParam, commentIdParam, comments.edit)
    .put(routes.comments.show, requireLogin, idParam, commentIdParam, commentRules, comments.update)
    .delete(routes.comments.show, requireLogin, idParam, commentIdParam, comments.destroy);
}
