import { Router } from 'express';
import type { UsersController } from '../controllers/users.controller.js';
import { requireLogin } from '../middleware/auth.js';
import { postListQuery, searchQuery, userListQuery, usernameParam } from '../validators/common.js';
import { passwordRules, profileRules } from '../validators/users.validator.js';

export function usersRouter(users: UsersController): Router {
  return Router()
    .get('/users', userListQuery, searchQuery, users.index)
    .get('/users/:username', usernameParam, postListQuery, users.show)
    .get('/users/:username/posts.atom', usernameParam, users.feed)
    .get('/users/:username/edit', requireLogin, usernameParam, users.edit)
    .put('/users/:username', requireLogin, usernameParam, profileRules, users.update)
    .put('/users/:username/password', requireLogin, usernameParam, passwordRules, users.changePassword)
    .delete('/users/:username', requireLogin, usernameParam, users.destroy);
}
