import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** The browser's protections: CSP, HSTS in production, framing, referrers, powerful APIs. */
export function securityHeaders(options: { production: boolean }): RequestHandler[] {
  const { production } = options;
  return [
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          objectSrc: ["'none'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          // Posts may show images from anywhere on the web, over HTTPS.
          imgSrc: ["'self'", 'https:'],
          ...(production ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      strictTransportSecurity: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
      // The legacy twin of frame-ancestors 'none', for browsers without CSP level 2.
      xFrameOptions: { action: 'deny' },
    }),
    (_req, res, next) => {
      // Nothing here needs the camera, microphone, location or payment APIs.
      res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()');
      next();
    },
  ];
}
