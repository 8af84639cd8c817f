import { Router } from 'express';
import type { AccountsController } from '../controllers/accounts.controller.js';
import type { RateLimits } from '../middleware/rate-limits.js';
import { routes } from '../paths.js';
import { loginRules, signupRules } from '../validators/accounts.validator.js';

export function accountsRouter(accounts: AccountsController, limits: RateLimits): Router {
  return Router()
    .get(routes.signup, accounts.signupForm)
    .post(routes.signup, limits.signup, signupRules, accounts.signup)
    .get(routes.login, accounts.loginForm)
    .post(routes.login, limits.login, loginRules, accounts.login)
    .post(routes.logout, accounts.logout);
}
