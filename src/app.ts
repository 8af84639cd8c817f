import { randomUUID } from 'node:crypto';
import compression from 'compression';
import { csrfSync } from 'csrf-sync';
import express, { type Express } from 'express';
import helmet from 'helmet';
import methodOverride from 'method-override';
import onHeaders from 'on-headers';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { PUBLIC_DIR, serveFingerprinted, STATIC_PREFIX } from './assets.js';
import type { AppConfig } from './config.js';
import { createAccountsController } from './controllers/accounts.controller.js';
import { createPostsController } from './controllers/posts.controller.js';
import { createUsersController } from './controllers/users.controller.js';
import type { Database } from './db/database.js';
import { loadCurrentUser } from './middleware/auth.js';
import { errorHandler, notFound } from './middleware/errors.js';
import { flash } from './middleware/flash.js';
import { pageCache } from './middleware/page-cache.js';
import { warnOfUntrustedProxy } from './middleware/proxy-check.js';
import { withReadsOnPrimary } from './db/replicas.js';
import { createRateLimits } from './middleware/rate-limits.js';
import { sessionMiddleware } from './middleware/session.js';
import { type ClusterMetrics, createMetrics } from './metrics.js';
import { paths } from './paths.js';
import { accountsRouter } from './routes/accounts.routes.js';
import { postsRouter } from './routes/posts.routes.js';
import { usersRouter } from './routes/users.routes.js';
import { createPostSearch } from './services/post-search.js';
import { createPostsService } from './services/posts.service.js';
import { createUsersService } from './services/users.service.js';
import { renderWithLayout, VIEWS_DIR, viewHelpers } from './views.js';

/** What the process tells the app about its own life: set when shutdown begins. */
export interface Lifecycle {
  draining: boolean;
}

export interface AppDeps {
  config: AppConfig;
  db: Database;
  logger: Logger;
  sessionSecret: string;
  lifecycle?: Lifecycle;
  /** In a cluster worker: /metrics then answers for every worker. */
  clusterMetrics?: ClusterMetrics;
}

// Largest form body: a 100,000-character post, percent-encoded, with room to spare.
const BODY_LIMIT = '1mb';
const READY_TIMEOUT_MS = 1000;
const REQUEST_ID = /^[\w.:-]{1,128}$/;
const TUNNELLED_METHODS = new Set(['PUT', 'DELETE']);
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** Builds the application: no listening, no connecting, no work at import. */
export function createApp({
  config,
  db,
  logger,
  sessionSecret,
  lifecycle = { draining: false },
  clusterMetrics,
}: AppDeps): Express {
  const production = config.env === 'production';
  const app = express();

  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('views', VIEWS_DIR);
  app.set('view engine', 'ejs');
  app.engine('ejs', renderWithLayout);
  app.set('view cache', production);
  // Includes name their partial from the views root ('/partials/field'): EJS then finds it
  // without a file-system check per include, as a relative name would cost.
  app.set('view options', { root: VIEWS_DIR });
  Object.assign(app.locals, viewHelpers, { paths });

  const posts = createPostsService(db.sequelize);
  const search = createPostSearch(db.sequelize, posts, { timeoutMs: config.searchTimeoutMs });
  const users = createUsersService(db.sequelize);
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (req.body as { _csrf?: string } | undefined)?._csrf,
    size: 32,
  });

  const metrics = createMetrics(db, { defaultMetrics: config.env !== 'test', cluster: clusterMetrics });
  app.use(metrics.timeRequests);
  app.use(
    pinoHttp({
      logger,
      // Probes and scrapes every few seconds would drown the request log.
      autoLogging: { ignore: (req) => PROBES.has(req.url ?? '') },
      // Headers stay out of the log: Cookie and Set-Cookie carry the session id,
      // Authorization a token, and Referer may be a page whose URL is a secret.
      serializers: {
        req: ({ id, method, url, remoteAddress }: Record<string, unknown>) => ({ id, method, url, remoteAddress }),
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
    }),
  );
  if (production && !config.trustProxy) app.use(warnOfUntrustedProxy(logger));
  app.use(
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
  );

  app.use((_req, res, next) => {
    // Nothing here needs the camera, microphone, location or payment APIs.
    res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()');
    next();
  });

  // Text over 1 KB (pages, the stylesheet, feeds, metrics) goes out gzip- or brotli-encoded
  // to clients that accept it. The middleware itself leaves alone HEAD requests, 304s,
  // bodies already encoded and responses marked `Cache-Control: no-transform`.
  app.use(compression());

  // Pages link fingerprinted names, cached for a year (src/assets.ts). Plain names still
  // work, for links from before, with a short cache: their content changes under them.
  app.use(
    STATIC_PREFIX,
    serveFingerprinted(),
    express.static(PUBLIC_DIR, { maxAge: production ? '1d' : 0, index: false }),
  );

  app.get('/healthz', (_req, res) => {
    res.type('text').send('ok');
  });
  app.use((_req, res, next) => {
    // While draining, every response closes its connection, also one whose request was
    // already in flight when the drain began: decided as its headers go out. Keep-alive
    // clients then reconnect to another process instead of waiting on this one.
    onHeaders(res, () => {
      if (lifecycle.draining) res.setHeader('Connection', 'close');
    });
    next();
  });
  app.get('/readyz', async (_req, res) => {
    if (lifecycle.draining) {
      res.status(503).set('Retry-After', '5').type('text').send('shutting down');
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('readiness check timed out')), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([db.sequelize.query('SELECT 1'), timeout]);
      // A standby down is reported, not fatal: reads then go to the primary.
      const replicas = await db.checkReplicas();
      res.type('text').send(['ready', ...replicas.map((r) => `replica ${r.name}: ${r.up ? 'up' : 'down'}`)].join('\n'));
    } catch {
      res.status(503).set('Retry-After', '5').type('text').send('database unavailable');
    } finally {
      clearTimeout(timer);
    }
  });

  app.get('/metrics', async (req, res) => {
    if (config.metricsToken && req.get('authorization') !== `Bearer ${config.metricsToken}`) {
      res.status(401).set('WWW-Authenticate', 'Bearer').type('text').send('unauthorized');
      return;
    }
    let text: string;
    try {
      text = await metrics.scrape();
    } catch (error) {
      // A worker that didn't answer the primary in time: no sum rather than a partial one.
      const reason = error instanceof Error ? error.message : String(error);
      res.status(503).type('text').send(`metrics unavailable: ${reason}`);
      return;
    }
    res.type(metrics.registry.contentType).send(text);
  });

  // Before sessions and the database: a page kept for anonymous visitors needs neither.
  app.use(pageCache({ ttlMs: config.pageCacheMs }));

  app.use(express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 100 }));
  // HTML forms can only POST: a hidden _method field turns one into PUT or DELETE, and
  // into nothing else (a POST must never become a GET, which CSRF checks let through).
  app.use(
    methodOverride((req) => {
      const body = req.body as Record<string, unknown> | undefined;
      const method = typeof body?._method === 'string' ? body._method.toUpperCase() : '';
      if (body) delete body._method;
      return TUNNELLED_METHODS.has(method) ? method : '';
    }),
  );
  app.use(
    sessionMiddleware({
      db,
      secret: sessionSecret,
      secureCookie: production,
      idleTimeoutMin: config.sessionIdleTimeoutMin,
      logger,
    }),
  );
  if (config.databaseReplicaUrls.length > 0) {
    // Read-your-writes: a request that writes, and the requests of its session for a while
    // after, read from the primary; everything else may read from a standby.
    app.use((req, _res, next) => {
      const now = Date.now();
      const writes = !READ_METHODS.has(req.method);
      if (writes) req.session.lastWriteAt = now;
      const last = req.session.lastWriteAt;
      withReadsOnPrimary(writes || (last !== undefined && now - last < config.replicaReadAfterWriteMs), next);
    });
  }
  app.use(csrfSynchronisedProtection);
  app.use(flash);
  app.use(loadCurrentUser(users, { absoluteTimeoutMin: config.sessionAbsoluteTimeoutMin }));
  app.use((req, res, next) => {
    // Generated on first use, so pages without a form don't start a session.
    res.locals.csrfToken = () => generateToken(req);
    res.locals.currentPath = req.originalUrl;
    // Pages for a logged-in person stay out of shared caches and the back-forward cache.
    if (req.user) res.setHeader('Cache-Control', 'no-store');
    next();
  });

  app.use(postsRouter(createPostsController(posts, search, config)));
  app.use(usersRouter(createUsersController(users, posts, config)));
  app.use(accountsRouter(createAccountsController(users), createRateLimits(db.sequelize, config)));

  app.use(notFound);
  app.use(errorHandler({ showStack: config.env === 'development', metrics }));
  return app;
}
