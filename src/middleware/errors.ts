import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { BaseError } from 'sequelize';
import { AppError, NotFoundError, SearchTimeoutError, TooManyRequestsError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { isDatabaseUnavailable } from '../services/db-errors.js';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Not logged in',
  403: 'Not allowed',
  404: 'Page not found',
  409: 'Conflict',
  413: 'Too large',
  415: 'Unsupported content',
  429: 'Too many requests',
  500: 'Something went wrong',
  503: 'Temporarily unavailable',
};

const MESSAGES: Record<number, string> = {
  400: 'The request could not be understood.',
  413: 'What you sent is too large. Please shorten it and try again.',
  500: 'Something went wrong on our side. It has been logged; please try again.',
};

const CSRF_MESSAGE = 'This form has expired or was sent from another site. Go back, reload the page and try again.';

// How long a response that failed after it started may take to finish by itself.
const UNFINISHED_RESPONSE_GRACE_MS = 10_000;

// Seconds a client should wait before retrying while the database is unavailable.
const RETRY_AFTER_SECONDS = 5;

export const notFound: RequestHandler = (_req, _res, next) => {
  next(new NotFoundError());
};

function classify(error: unknown): { status: number; message?: string } {
  if (error instanceof AppError) return { status: error.status, message: error.message };
  if (isDatabaseUnavailable(error)) return { status: 503 };
  // A path with broken percent-encoding: the router could not decode it.
  if (error instanceof URIError) return { status: 400 };
  // http-errors from body-parser (400, 413, 415) and csrf-sync (403) carry a safe status.
  const { status, code, expose } = (error ?? {}) as { status?: unknown; code?: unknown; expose?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500 && expose === true) {
    return { status, message: code === 'EBADCSRFTOKEN' ? CSRF_MESSAGE : undefined };
  }
  return { status: 500 };
}

/**
 * A failure once the response had started: the session's save as it ends (the rolling
 * expiry), a late query, the compression stream. The visitor keeps what was produced, so
 * it is logged here once and handed on nowhere: Express's last-resort handler would print
 * it outside the log and reset the connection.
 */
export function failedAfterResponseStarted(req: Request, res: Response, error: unknown): void {
  req.log.error({ err: error }, 'failed after the response had started');
  // A response nobody will end (a stream cut short) is closed, after a grace for one that
  // is still flushing (compression ends its stream after the session's save).
  const stuck = setTimeout(() => {
    if (!res.writableFinished) res.destroy();
  }, UNFINISHED_RESPONSE_GRACE_MS);
  stuck.unref();
  res.once('close', () => clearTimeout(stuck));
}

export function errorHandler(options: { showStack: boolean; metrics?: Metrics }): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      failedAfterResponseStarted(req, res, error);
      return;
    }
    const { status, message } = classify(error);
    if (isDatabaseUnavailable(error)) options.metrics?.countDatabaseError('unavailable');
    else if (error instanceof BaseError) options.metrics?.countDatabaseError('other');
    if (error instanceof SearchTimeoutError) options.metrics?.countSearchTimeout();
    if (status >= 500) {
      req.log.error({ err: error }, 'request failed');
    }
    if (status === 503) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    if (error instanceof TooManyRequestsError) res.set('Retry-After', String(error.retryAfterSeconds));
    res.status(status).render('errors/error', {
      title: TITLES[status] ?? 'Error',
      status,
      message: message ?? MESSAGES[status] ?? TITLES[status] ?? 'Error',
      // Only a server fault has a stack worth reading; a 404 or 429 is expected behaviour.
      stack: options.showStack && status >= 500 && error instanceof Error ? error.stack : undefined,
    });
  };
}
