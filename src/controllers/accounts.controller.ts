import type { Request, Response } from 'express';
import { FieldError } from '../errors.js';
import { currentUser, logIn, logOut, safeReturnTo, startAnonymousSession } from '../middleware/auth.js';
import { SESSION_COOKIE } from '../middleware/session.js';
import { logSecurityEvent } from '../security/audit.js';
import { paths } from '../paths.js';
import type { UsersService } from '../services/users.service.js';
import { originOf } from '../rendering/feeds.js';
import type { ForgotForm, LoginForm, ResetForm, SignupForm } from '../validators/accounts.validator.js';
import { formData, urlData } from '../validators/common.js';
import type { AfterResponse } from '../middleware/probes.js';
import { saveForm, typedValues } from './form.js';

const SIGNUP_FIELDS = ['username', 'email', 'displayName'] as const;

// A page reached through a mailed link holds its token in its URL: kept out of caches.
const NO_STORE = 'no-store';

export function createAccountsController(
  users: UsersService,
  options: { publicUrl: string | undefined },
  later: AfterResponse,
) {
  const origin = (req: Request): string => originOf(req, options.publicUrl);

  function renderReset(res: Response, status: number, token: string, username: string, errors = {}): void {
    res.set('Cache-Control', NO_STORE);
    res.status(status).render('accounts/reset', { title: 'Set a new password', token, username, errors });
  }

  function renderSignup(res: Response, status: number, values: Record<string, string>, errors = {}): void {
    res.status(status).render('accounts/signup', {
      title: 'Sign up',
      description: 'Make an account on Users and posts to write posts, tag them and comment on others’.',
      values,
      errors,
    });
  }

  function renderLogin(res: Response, status: number, values: { login: string; returnTo: string }, errors = {}): void {
    res.status(status).render('accounts/login', {
      title: 'Log in',
      description: 'Log in to Users and posts with your username or email address.',
      values,
      errors,
    });
  }

  return {
    signupForm: (_req: Request, res: Response): void => {
      renderSignup(res, 200, { username: '', email: '', displayName: '' });
    },

    signup: async (req: Request, res: Response): Promise<void> => {
      const user = await saveForm(
        req,
        (status, errors) => renderSignup(res, status, typedValues(req, SIGNUP_FIELDS), errors),
        () => users.signUp(formData<SignupForm>(req), { origin: origin(req) }),
      );
      if (!user) return;
      await logIn(req, user.id);
      logSecurityEvent(req, 'signup', { actorId: user.id, target: { user: user.id } });
      req.flash(
        'success',
        `Welcome, ${user.displayName}! Your account is ready. We sent a link to ${user.email}: follow it to confirm the address.`,
      );
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

    forgotForm: (_req: Request, res: Response): void => {
      res.render('accounts/forgot', { title: 'Forgot your password?', values: { email: '' }, errors: {} });
    },

    /**
     * The same answer, in the same time, whether or not an account has the address: the
     * answer goes first, and only once it is sent is the address looked up and a link issued
     * (a known address costs a transaction more, which a stopwatch would otherwise show).
     */
    forgot: async (req: Request, res: Response): Promise<void> => {
      const email = await saveForm(
        req,
        (status, errors) =>
          res
            .status(status)
            .render('accounts/forgot', { title: 'Forgot your password?', values: typedValues(req, ['email']), errors }),
        () => Promise.resolve(formData<ForgotForm>(req).email),
      );
      if (email === undefined) return;
      const siteOrigin = origin(req);
      later(res, () =>
        users.requestPasswordReset(email, siteOrigin).then(
          (userId) =>
            // Who asked, and for which account if any: for the operator, never shown to the visitor.
            logSecurityEvent(req, 'password_reset_requested', {
              actorId: req.user?.id,
              target: { user: userId ?? 'none' },
            }),
          (error: unknown) => req.log.error({ err: error }, 'could not issue a password reset link'),
        ),
      );
      req.flash(
        'info',
        `If an account uses ${email}, we have sent it a link to set a new password. The link works once, for one hour.`,
      );
      res.redirect(303, paths.login());
    },

    resetForm: async (req: Request, res: Response): Promise<void> => {
      const { token } = urlData<{ token: string }>(req);
      const { user } = await users.accountOfLink(token, 'password_reset');
      renderReset(res, 200, token, user.username);
    },

    reset: async (req: Request, res: Response): Promise<void> => {
      const { token } = urlData<{ token: string }>(req);
      const { username } = (await users.accountOfLink(token, 'password_reset')).user;
      const user = await saveForm(
        req,
        (status, errors) => renderReset(res, status, token, username, errors),
        () => users.resetPassword(token, formData<ResetForm>(req).password, origin(req)),
      );
      if (!user) return;
      logSecurityEvent(req, 'password_reset', { actorId: user.id, target: { user: user.id } });
      logSecurityEvent(req, 'sessions_ended', {
        actorId: user.id,
        target: { user: user.id },
        reason: 'password_reset',
      });
      // Any session this browser had (the account's, now ended, or another's) starts over,
      // as a new anonymous one that carries the message below (a destroyed session cannot).
      await startAnonymousSession(req);
      req.flash(
        'success',
        'Your new password is set, and every session of the account was logged out. Log in with it.',
      );
      res.redirect(303, paths.login());
    },

    confirmForm: async (req: Request, res: Response): Promise<void> => {
      const { token } = urlData<{ token: string }>(req);
      const { user, email } = await users.accountOfLink(token, 'confirm_email');
      res.set('Cache-Control', NO_STORE);
      res.render('accounts/confirm', { title: 'Confirm your address', token, email, username: user.username });
    },

    confirm: async (req: Request, res: Response): Promise<void> => {
      const { token } = urlData<{ token: string }>(req);
      const { user, from } = await users.confirmEmail(token);
      logSecurityEvent(req, 'email_confirmed', {
        actorId: req.user?.id,
        target: { user: user.id },
        changed: from !== user.email,
      });
      req.flash('success', `The address ${user.email} is confirmed for @${user.username}.`);
      res.redirect(303, req.user?.id === user.id ? paths.users.show(user.username) : paths.login());
    },

    resendConfirmation: async (req: Request, res: Response): Promise<void> => {
      const { id, username } = currentUser(req);
      const { email, sent } = await users.resendConfirmation(id, origin(req));
      if (sent) req.flash('info', `We sent a new link to ${email}. It works once, for 24 hours.`);
      else req.flash('info', `The address ${email} is confirmed already: there is no link to send.`);
      res.redirect(303, paths.users.show(username));
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
