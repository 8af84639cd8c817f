import { Router } from 'express';
import type { AccountsController } from '../controllers/accounts.controller.js';
import type { RateLimits } from '../middleware/rate-limits.js';
import { loginRules, signupRules } from '../validators/accounts.validator.js';

export function accountsRouter(accounts: AccountsController, limits: RateLimits): Router {
  return Router()
    .get('/signup', accounts.signupForm)
    .post('/signup', limits.signup, signupRules, accounts.signup)
    .get('/login', accounts.loginForm)
    .post('/login', limits.login, loginRules, accounts.login)
    .post('/logout', accounts.logout);
}
