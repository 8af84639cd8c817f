import { Router } from 'express';
import type { UsersController } from '../controllers/users.controller.js';
import { requireLogin } from '../middleware/auth.js';
import { routes } from '../paths.js';
import { postListQuery, usernameParam, usersIndexQuery } from '../validators/common.js';
import { deleteRules, passwordRules, profileRules } from '../validators/users.validator.js';

export function usersRouter(users: UsersController): Router {
  return Router()
    .get(routes.users.index, usersIndexQuery, users.index)
    .get(routes.users.show, usernameParam, postListQuery, users.show)
    .get(routes.users.feed, usernameParam, users.feed)
    .get(routes.users.edit, requireLogin, usernameParam, users.edit)
    .put(routes.users.show, requireLogin, usernameParam, profileRules, users.update)
    .put(routes.users.password, requireLogin, usernameParam, passwordRules, users.changePassword)
    .post(routes.users.passwordReset, requireLogin, usernameParam, users.sendPasswordReset)
    .delete(routes.users.show, requireLogin, usernameParam, deleteRules, users.destroy);
}
