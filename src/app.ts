import compression from 'compression';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { ROOT_FILE_PATHS, rootFiles, STATIC_PREFIX, staticFiles } from './rendering/assets.js';
import type { AppConfig } from './config.js';
import { createAccountsController } from './controllers/accounts.controller.js';
import { createCommentsController } from './controllers/comments.controller.js';
import { createPostsController } from './controllers/posts.controller.js';
import { createSeoController } from './controllers/seo.controller.js';
import { createTagsController } from './controllers/tags.controller.js';
import { createUsersController } from './controllers/users.controller.js';
import type { Database } from './db/database.js';
import { type ClusterMetrics, createMetrics } from './observability/metrics.js';
import { loadCurrentUser } from './middleware/auth.js';
import { csrfProtection } from './middleware/csrf.js';
import { errorHandler, notFound } from './middleware/errors.js';
import { flash } from './middleware/flash.js';
import { formBodies } from './middleware/forms.js';
import { pageCache } from './middleware/page-cache.js';
import { pageLocals } from './middleware/page-locals.js';
import {
  afterResponse,
  closeConnectionsWhileDraining,
  healthz,
  type Lifecycle,
  metricsEndpoint,
  readyz,
} from './middleware/probes.js';
import { warnOfUntrustedProxy } from './middleware/proxy-check.js';
import { createRateLimits } from './middleware/rate-limits.js';
import { readYourWrites, rememberWrites } from './middleware/read-your-writes.js';
import { requestLog } from './middleware/request-log.js';
import { securityHeaders } from './middleware/security-headers.js';
import { sessionMiddleware } from './middleware/session.js';
import { paths } from './paths.js';
import { accountsRouter } from './routes/accounts.routes.js';
import { commentsRouter } from './routes/comments.routes.js';
import { postsRouter } from './routes/posts.routes.js';
import { seoRouter } from './routes/seo.routes.js';
import { tagsRouter } from './routes/tags.routes.js';
import { usersRouter } from './routes/users.routes.js';
import { createCommentsService } from './services/comments.service.js';
import { createPostSearch } from './services/post-search.js';
import { createPostsService } from './services/posts.service.js';
import { createSharedReads } from './services/shared-reads.js';
import { createSitemaps } from './services/sitemaps.service.js';
import { createTagsService } from './services/tags.service.js';
import { createUsersService, SESSION_USER_COLUMNS } from './services/users.service.js';
import { renderWithLayout, VIEWS_DIR, viewHelpers } from './rendering/views.js';

export type { Lifecycle } from './middleware/probes.js';

export interface AppDeps {
  config: AppConfig;
  db: Database;
  logger: Logger;
  sessionSecret: string;
  lifecycle?: Lifecycle;
  /** In a cluster worker: /metrics then answers for every worker. */
  clusterMetrics?: ClusterMetrics;
}

/**
 * Builds the application: no listening, no connecting, no work at import. The order of
 * the middleware is the design: probes and the page cache before sessions and the
 * database, CSRF after the form body is read, the routers, then the error pages.
 */
export function createApp(deps: AppDeps): Express {
  const { config, db, logger, sessionSecret, lifecycle = { draining: false } } = deps;
  const production = config.env === 'production';
  const app = createExpress({ production, trustProxy: config.trustProxy });

  const posts = createPostsService(db.sequelize);
  const search = createPostSearch(db.sequelize, posts, { timeoutMs: config.searchTimeoutMs });
  const users = createUsersService(db.sequelize);
  const comments = createCommentsService(db.sequelize);
  const metrics = createMetrics(db, { defaultMetrics: config.env !== 'test', cluster: deps.clusterMetrics });
  const csrf = csrfProtection();

  app.use(metrics.timeRequests);
  app.use(requestLog(logger));
  if (production && !config.trustProxy) app.use(warnOfUntrustedProxy(logger));
  app.use(securityHeaders({ production }));
  // Text over 1 KB goes out gzip- or brotli-encoded to clients that accept it; HEAD, 304s
  // and `Cache-Control: no-transform` are left alone.
  app.use(compression());
  app.use(STATIC_PREFIX, staticFiles({ production }));
  app.get(ROOT_FILE_PATHS, rootFiles());
  app.get('/healthz', healthz);
  app.use(closeConnectionsWhileDraining(lifecycle));
  app.get('/readyz', readyz(db, lifecycle));
  app.get('/metrics', metricsEndpoint(metrics, config.metricsToken));
  // Crawlers' files: no session, no page cache (they are not HTML).
  app.use(seoRouter(createSeoController(createSitemaps(db.sequelize), config)));
  // Before sessions and the database: a page kept for anonymous visitors needs neither.
  app.use(pageCache({ ttlMs: config.pageCacheMs, publicUrl: config.publicUrl }));
  app.use(formBodies());
  app.use(
    sessionMiddleware({
      db,
      userColumns: SESSION_USER_COLUMNS,
      secret: sessionSecret,
      secureCookie: production,
      idleTimeoutMin: config.sessionIdleTimeoutMin,
      logger,
    }),
  );
  if (config.databaseReplicaUrls.length > 0) {
    app.use(readYourWrites({ afterWriteMs: config.replicaReadAfterWriteMs }));
  }
  app.use(csrf.protect);
  app.use(flash);
  app.use(rememberWrites);
  app.use(loadCurrentUser({ absoluteTimeoutMin: config.sessionAbsoluteTimeoutMin }));
  app.use(csrf.provideToken, pageLocals({ publicUrl: config.publicUrl }));

  const shared = createSharedReads({ ttlMs: config.pageCacheMs });
  const limits = createRateLimits(db.sequelize, config);
  app.use(postsRouter(createPostsController(posts, comments, search, shared, config)));
  app.use(commentsRouter(createCommentsController(posts, comments), limits));
  app.use(tagsRouter(createTagsController(createTagsService(db.sequelize), posts, config)));
  app.use(usersRouter(createUsersController(users, posts, config)));
  app.use(accountsRouter(createAccountsController(users, config, afterResponse(lifecycle)), limits));

  app.use(notFound);
  app.use(errorHandler({ showStack: config.env === 'development', metrics }));
  return app;
}

/** Express with EJS views in the site's layout, and the helpers every view may use. */
function createExpress(options: { production: boolean; trustProxy: number }): Express {
  const { production } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy);
  app.set('views', VIEWS_DIR);
  app.set('view engine', 'ejs');
  app.engine('ejs', renderWithLayout);
  app.set('view cache', production);
  // Includes name their partial from the views root ('/partials/field'): EJS then finds it
  // without a file-system check per include, as a relative name would cost.
  app.set('view options', { root: VIEWS_DIR });
  Object.assign(app.locals, viewHelpers, { paths });
  return app;
}
