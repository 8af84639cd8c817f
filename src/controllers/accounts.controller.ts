import type { Request, Response } from 'express';
import { FieldError } from '../errors.js';
import { logIn, logOut, safeReturnTo } from '../middleware/auth.js';
import { SESSION_COOKIE } from '../middleware/session.js';
import { logSecurityEvent } from '../security/audit.js';
import { paths } from '../paths.js';
import type { UsersService } from '../services/users.service.js';
import type { LoginForm, SignupForm } from '../validators/accounts.validator.js';
import { formData } from '../validators/common.js';
import { saveForm, typedValues } from './form.js';

const SIGNUP_FIELDS = ['username', 'email', 'displayName'] as const;

export function createAccountsController(users: UsersService) {
  function renderSignup(res: Response, status: number, values: Record<string, string>, errors = {}): void {
    res.status(status).render('accounts/signup', { title: 'Sign up', values, errors });
  }

  function renderLogin(res: Response, status: number, values: { login: string; returnTo: string }, errors = {}): void {
    res.status(status).render('accounts/login', { title: 'Log in', values, errors });
  }

  return {
    signupForm: (_req: Request, res: Response): void => {
      renderSignup(res, 200, { username: '', email: '', displayName: '' });
    },

    signup: async (req: Request, res: Response): Promise<void> => {
      const user = await saveForm(
        req,
        (status, errors) => renderSignup(res, status, typedValues(req, SIGNUP_FIELDS), errors),
        () => users.signUp(formData<SignupForm>(req)),
      );
      if (!user) return;
      await logIn(req, user.id);
      logSecurityEvent(req, 'signup', { actorId: user.id, target: { user: user.id } });
      req.flash('success', `Welcome, ${user.displayName}! Your account is ready.`);
      res.redirect(303, paths.users.show(user.username));
    },

    loginForm: (req: Request, res: Response): void => {
      const returnTo = safeReturnTo(req.query.returnTo);
      if (req.user) {
        res.redirect(303, returnTo);
        return;
      }
      renderLogin(res, 200, { login: '', returnTo });
    },

    login: async (req: Request, res: Response): Promise<void> => {
      const returnTo = safeReturnTo((req.body as { returnTo?: unknown } | undefined)?.returnTo);
      const user = await saveForm(
        req,
        (status, errors) => renderLogin(res, status, { login: typedValues(req, ['login']).login, returnTo }, errors),
        async () => {
          const { login, password } = formData<LoginForm>(req);
          const found = await users.authenticate(login, password);
          if (found) return found;
          // The name typed, not the password: whether it is someone's account stays unsaid.
          logSecurityEvent(req, 'login_failed', { target: { login } });
          throw new FieldError('login', 'That username or email and password do not match.', 401);
        },
      );
      if (!user) return;
      await logIn(req, user.id);
      logSecurityEvent(req, 'login', { actorId: user.id, target: { user: user.id } });
      req.flash('success', `Welcome back, ${user.displayName}.`);
      res.redirect(303, returnTo);
    },

    logout: async (req: Request, res: Response): Promise<void> => {
      const actorId = req.user?.id;
      await logOut(req);
      if (actorId !== undefined) logSecurityEvent(req, 'logout', { actorId, target: { user: actorId } });
      res.clearCookie(SESSION_COOKIE);
      res.redirect(303, paths.home);
    },
  };
}

export type AccountsController = ReturnType<typeof createAccountsController>;
