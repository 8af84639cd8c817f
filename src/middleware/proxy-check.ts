import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

/**
 * In production the session cookie is Secure, and Express only counts a request as HTTPS
 * when it trusts the proxy that says so. Behind a TLS proxy with TRUST_PROXY unset, the
 * cookie is never set and every form answers 403: say so once, naming the setting.
 */
export function warnOfUntrustedProxy(logger: Logger): RequestHandler {
  let warned = false;
  return (req, _res, next) => {
    if (!warned && /^https\b/i.test(req.get('x-forwarded-proto') ?? '')) {
      warned = true;
      logger.warn(
        'a request came through an HTTPS proxy (X-Forwarded-Proto: https) but TRUST_PROXY is unset: ' +
          'the app takes it for plain HTTP, so the Secure session cookie is never set and forms answer 403. ' +
          'Set TRUST_PROXY to the number of proxies in front of the app (1 for one).',
      );
    }
    next();
  };
}
