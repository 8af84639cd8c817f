import { Router } from 'express';
import type { PostsController } from '../controllers/posts.controller.js';
import { requireLogin } from '../middleware/auth.js';
import { routes } from '../paths.js';
import { commentsQuery, idParam, postsIndexQuery } from '../validators/common.js';
import { postRules } from '../validators/posts.validator.js';

export function postsRouter(posts: PostsController): Router {
  return Router()
    .get(routes.home, posts.home)
    .get(routes.posts.index, postsIndexQuery, posts.index)
    .get(routes.posts.feed, posts.feed)
    .get(routes.posts.new, requireLogin, posts.new)
    .post(routes.posts.index, requireLogin, postRules, posts.create)
    .get(routes.posts.show, idParam, commentsQuery, posts.show)
    .get(routes.posts.edit, requireLogin, idParam, posts.edit)
    .put(routes.posts.show, requireLogin, idParam, postRules, posts.update)
    .delete(routes.posts.show, requireLogin, idParam, posts.destroy);
}
