import { Router } from 'express';
import type { AccountsController } from '../controllers/accounts.controller.js';
import { loginRules, signupRules } from '../validators/accounts.validator.js';

export function accountsRouter(accounts: AccountsController): Router {
  return Router()
    .get('/signup', accounts.signupForm)
    .post('/signup', signupRules, accounts.signup)
    .get('/login', accounts.loginForm)
    .post('/login', loginRules, accounts.login)
    .post('/logout', accounts.logout);
}
