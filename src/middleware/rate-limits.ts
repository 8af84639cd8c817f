import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../config.js';
import { TooManyRequestsError } from '../errors.js';
import { logSecurityEvent } from '../security/audit.js';
import { PostgresRateLimitStore } from '../security/rate-limit-store.js';

const TEN_MINUTES_MS = 10 * 60_000;
const FIFTEEN_MINUTES_MS = 15 * 60_000;
const ONE_HOUR_MS = 60 * 60_000;

function limiter(
  sequelize: Sequelize,
  prefix: string,
  options: {
    windowMs: number;
    limit: number;
    keyGenerator?: (req: Request) => string;
    skip?: (req: Request) => boolean;
    skipSuccessfulRequests?: boolean;
  },
): RequestHandler {
  return rateLimit({
    ...options,
    store: new PostgresRateLimitStore(sequelize, prefix),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Refusals are rendered like every other error: the 429 page, in the site's layout.
    handler: (req, _res, next) => {
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : 60;
      const login = loginKey(req);
      logSecurityEvent(req, 'lockout', {
        actorId: req.user?.id,
        target: { limit: prefix.replace(/:$/, ''), ...(login === undefined ? {} : { login }) },
        retryAfterSeconds: seconds,
      });
      next(new TooManyRequestsError(seconds));
    },
  });
}

/** The account a login form names, as its limit's key. */
function loginKey(req: Request): string | undefined {
  const login = (req.body as { login?: unknown } | undefined)?.login;
  return typeof login === 'string' && login.trim() !== '' ? login.trim().toLowerCase() : undefined;
}

/** The address a "forgot password" form names, as its limit's key. */
function emailKey(req: Request): string | undefined {
  const email = (req.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' && email.trim() !== '' ? email.trim().toLowerCase() : undefined;
}

/**
 * Brute-force brakes, counted in PostgreSQL so all processes share them: logins per IP
 * address, failed logins per account (from any address), sign-ups per IP address, and the
 * requests that send mails, per IP address and per address or account mailed; comments per
 * account.
 */
export function createRateLimits(sequelize: Sequelize, config: AppConfig) {
  return {
    login: [
      limiter(sequelize, 'login-ip:', { windowMs: FIFTEEN_MINUTES_MS, limit: config.loginLimitPerIp }),
      limiter(sequelize, 'login-account:', {
        windowMs: FIFTEEN_MINUTES_MS,
        limit: config.loginLimitPerAccount,
        keyGenerator: (req) => loginKey(req) ?? '',
        skip: (req) => loginKey(req) === undefined,
        // Only failures count: a successful login gives its attempt back.
        skipSuccessfulRequests: true,
      }),
    ],
    signup: [limiter(sequelize, 'signup-ip:', { windowMs: ONE_HOUR_MS, limit: config.signupLimitPerIp })],
    // Each request may send a mail: per IP address, and per address mailed (known or not).
    passwordReset: [
      limiter(sequelize, 'reset-ip:', { windowMs: ONE_HOUR_MS, limit: config.resetLimitPerIp }),
      limiter(sequelize, 'mail-address:', {
        windowMs: ONE_HOUR_MS,
        limit: config.mailLimitPerAddress,
        keyGenerator: (req) => emailKey(req) ?? '',
        skip: (req) => emailKey(req) === undefined,
      }),
    ],
    confirmationMail: [
      limiter(sequelize, 'mail-account:', {
        windowMs: ONE_HOUR_MS,
        limit: config.mailLimitPerAddress,
        keyGenerator: (req) => String(req.user?.id),
      }),
    ],
    comment: [
      limiter(sequelize, 'comment-account:', {
        windowMs: TEN_MINUTES_MS,
        limit: config.commentLimitPerAccount,
        keyGenerator: (req) => String(req.user?.id),
      }),
    ],
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
