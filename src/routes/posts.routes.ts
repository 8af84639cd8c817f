import { Router } from 'express';
import type { PostsController } from '../controllers/posts.controller.js';
import { requireLogin } from '../middleware/auth.js';
import { idParam, postListQuery, searchOrderQuery, searchQuery } from '../validators/common.js';
import { postRules } from '../validators/posts.validator.js';

export function postsRouter(posts: PostsController): Router {
  return Router()
    .get('/', posts.home)
    .get('/posts', postListQuery, searchQuery, searchOrderQuery, posts.index)
    .get('/posts.atom', posts.feed)
    .get('/posts/new', requireLogin, posts.new)
    .post('/posts', requireLogin, postRules, posts.create)
    .get('/posts/:id', idParam, posts.show)
    .get('/posts/:id/edit', requireLogin, idParam, posts.edit)
    .put('/posts/:id', requireLogin, idParam, postRules, posts.update)
    .delete('/posts/:id', requireLogin, idParam, posts.destroy);
}
