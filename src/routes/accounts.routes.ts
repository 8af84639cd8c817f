import { Router } from 'express';
import type { AccountsController } from '../controllers/accounts.controller.js';
import { requireLogin } from '../middleware/auth.js';
import type { RateLimits } from '../middleware/rate-limits.js';
import { routes } from '../paths.js';
import { forgotRules, loginRules, resetRules, signupRules } from '../validators/accounts.validator.js';
import { tokenParam } from '../validators/common.js';

export function accountsRouter(accounts: AccountsController, limits: RateLimits): Router {
  return Router()
    .get(routes.signup, accounts.signupForm)
    .post(routes.signup, limits.signup, signupRules, accounts.signup)
    .get(routes.login, accounts.loginForm)
    .post(routes.login, limits.login, loginRules, accounts.login)
    .post(routes.logout, accounts.logout)
    .get(routes.password.forgot, accounts.forgotForm)
    .post(routes.password.forgot, limits.passwordReset, forgotRules, accounts.forgot)
    .get(routes.password.reset, tokenParam, accounts.resetForm)
    .post(routes.password.reset, tokenParam, resetRules, accounts.reset)
    .get(routes.email.confirm, tokenParam, accounts.confirmForm)
    .post(routes.email.confirm, tokenParam, accounts.confirm)
    .post(routes.email.resend, requireLogin, limits.confirmationMail, accounts.resendConfirmation);
}
