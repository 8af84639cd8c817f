import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

const REQUEST_ID = /^[\w.:-]{1,128}$/;
// The links mailed to people carry a secret in their path: it never reaches the log.
const TOKEN_IN_PATH = /^(\/(?:password\/reset|email\/confirm)\/)[^/?#]+/;

/** `url` with the token of a mailed link replaced, as the log shows it. */
export const loggedUrl = (url: unknown): unknown =>
  typeof url === 'string' ? url.replace(TOKEN_IN_PATH, '$1[token]') : url;
// Probes and scrapes every few seconds would drown the request log.
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One JSON line per request, with its id (an incoming X-Request-Id, or a new one, sent back
 * in the response) and, when someone is logged in, their user id.
 */
export function requestLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    autoLogging: { ignore: (req) => PROBES.has(req.url ?? '') },
    // Headers stay out of the log: Cookie and Set-Cookie carry the session id,
    // Authorization a token, and Referer may be a page whose URL is a secret.
    serializers: {
      req: ({ id, method, url, remoteAddress }: Record<string, unknown>) => ({
        id,
        method,
        url: loggedUrl(url),
        remoteAddress,
      }),
      res: ({ statusCode }: Record<string, unknown>) => ({ statusCode }),
    },
    // Read as the request ends, when the session has told who is logged in.
    customProps: (req) => (req.user ? { userId: req.user.id } : {}),
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
  });
}
