import cluster from 'node:cluster';
import type { Request, RequestHandler } from 'express';
import client, { AggregatorRegistry } from 'prom-client';
import type { Database } from '../db/database.js';
import { QueryTypes } from 'sequelize';

const SCRAPE_REQUEST = 'metrics:scrape';
const SCRAPE_REPLY = 'metrics:scraped';
// Past prom-client's own 5 s wait for the workers, so its "timed out" normally comes first.
const PRIMARY_ANSWER_MS = 6000;

interface ScrapeRequest {
  type: typeof SCRAPE_REQUEST;
  id: number;
}

interface ScrapeReply {
  type: typeof SCRAPE_REPLY;
  id: number;
  text?: string;
  error?: string;
}

interface PoolStats {
  size: number;
  available: number;
  using: number;
  waiting: number;
}

/** Sequelize's pool, or its read and write pools when replicas are configured. */
function sequelizePools(db: Database): Record<string, PoolStats> {
  const pool = (
    db.sequelize.connectionManager as unknown as { pool: PoolStats | { read: PoolStats; write: PoolStats } }
  ).pool;
  return 'read' in pool ? { read: pool.read, write: pool.write } : { main: pool };
}

// Requests answered before routing (a page from the cache) are told their route.
const givenRoutes = new WeakMap<Request, string>();

/** Counts this request under `route`, for a request that never reaches its router. */
export function labelRoute(req: Request, route: string): void {
  givenRoutes.set(req, route);
}

/** The route a request matched, as a low-cardinality label ("/posts/:id", not "/posts/42"). */
export function routeOf(req: Request): string {
  const given = givenRoutes.get(req);
  if (given !== undefined) return given;
  const route = req.route as { path?: unknown } | undefined;
  if (typeof route?.path === 'string') return req.baseUrl + route.path;
  return req.originalUrl.startsWith('/static/') ? '/static' : 'unmatched';
}

/** A cluster worker's way to the counts of every worker, which the primary sums. */
export interface ClusterMetrics {
  /** Makes `registry` what the primary gathers from this worker. */
  share(registry: client.Registry): void;
  /** The Prometheus text summed over every worker; rejects if the primary can't say. */
  gather(): Promise<string>;
}

/**
 * In a cluster worker, before the app exists: answers the primary's gathering from here on
 * (with no counts until `share`: a worker still starting answers rather than stall a
 * scrape), and asks the primary for the sum on each scrape.
 */
export function clusterWorkerMetrics(): ClusterMetrics {
  // The constructor installs prom-client's listener that answers the primary.
  new AggregatorRegistry();
  const waiting = new Map<number, { resolve(text: string): void; reject(error: Error): void }>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (!isScrapeReply(message)) return;
    const asked = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.text !== undefined) asked?.resolve(message.text);
    else asked?.reject(new Error(message.error ?? 'no answer'));
  });
  return {
    share: (registry) => AggregatorRegistry.setRegistries([registry]),
    gather: () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        const fail = (error: Error): void => {
          clearTimeout(timer);
          waiting.delete(id);
          reject(error);
        };
        const timer = setTimeout(
          () => fail(new Error(`the primary did not answer within ${PRIMARY_ANSWER_MS} ms`)),
          PRIMARY_ANSWER_MS,
        );
        waiting.set(id, {
          resolve: (text) => {
            clearTimeout(timer);
            resolve(text);
          },
          reject: fail,
        });
        if (!process.send) {
          fail(new Error('not a cluster worker'));
          return;
        }
        const request: ScrapeRequest = { type: SCRAPE_REQUEST, id };
        process.send(request, undefined, {}, (error: Error | null) => {
          if (error) fail(error);
        });
      }),
  };
}

/**
 * In the cluster primary: answers each worker's scrape with the sum of every worker's
 * registry (prom-client sums counters, gauges and histograms; its process metrics say
 * how they combine), or with why it could not (a worker that didn't answer in 5 s).
 */
export function answerWorkerScrapes(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isScrapeRequest(message)) return;
    const answer = (reply: ScrapeReply): void => {
      // The asking worker may have died meanwhile.
      if (worker.isConnected()) worker.send(reply, undefined, {}, () => undefined);
    };
    aggregator.clusterMetrics().then(
      (text) => answer({ type: SCRAPE_REPLY, id: message.id, text }),
      (error: unknown) =>
        answer({ type: SCRAPE_REPLY, id: message.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
}

function isScrapeRequest(message: unknown): message is ScrapeRequest {
  return (message as Partial<ScrapeRequest> | null)?.type === SCRAPE_REQUEST;
}

function isScrapeReply(message: unknown): message is ScrapeReply {
  return (message as Partial<ScrapeReply> | null)?.type === SCRAPE_REPLY;
}

/**
 * Prometheus metrics of one process: request durations by route and status, the database
 * pools (size, idle, in use, waiting), and database errors. In a cluster worker (`cluster`
 * given), a scrape answers for every worker.
 */
export function createMetrics(db: Database, options: { defaultMetrics: boolean; cluster?: ClusterMetrics }) {
  const registry = new client.Registry();
  if (options.defaultMetrics) client.collectDefaultMetrics({ register: registry });
  options.cluster?.share(registry);

  const requestDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const databaseErrors = new client.Counter({
    name: 'db_errors_total',
    help: 'Requests that failed on a database error, by kind (unavailable, other).',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const searchTimeouts = new client.Counter({
    name: 'search_timeouts_total',
    help: 'Post searches cut short by their statement timeout (SEARCH_TIMEOUT_MS).',
    registers: [registry],
  });
  new client.Gauge({
    name: 'db_pool_connections',
    help: 'Database connections by pool and state (size, idle, in_use, waiting requests).',
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
    collect() {
      for (const [name, pool] of Object.entries(sequelizePools(db))) {
        this.set({ pool: name, state: 'size' }, pool.size);
        this.set({ pool: name, state: 'idle' }, pool.available);
        this.set({ pool: name, state: 'in_use' }, pool.using);
        this.set({ pool: name, state: 'waiting' }, pool.waiting);
      }
      const sessions = db.sessionPool;
      this.set({ pool: 'sessions', state: 'size' }, sessions.totalCount);
      this.set({ pool: 'sessions', state: 'idle' }, sessions.idleCount);
      this.set({ pool: 'sessions', state: 'in_use' }, sessions.totalCount - sessions.idleCount);
      this.set({ pool: 'sessions', state: 'waiting' }, sessions.waitingCount);
    },
  });

  // The outbox as the database holds it: every worker reads the same rows, so a cluster
  // reports the value once (max), not summed.
  new client.Gauge({
    name: 'mail_outbox_waiting',
    help: 'Mails not sent yet, and (state="oldest_seconds") how long the oldest has waited.',
    labelNames: ['state'] as const,
    aggregator: 'max',
    registers: [registry],
    async collect() {
      try {
        const [row] = await db.sequelize.query<{ waiting: number; oldest: number | null }>(
          `SELECT count(*)::int AS waiting, extract(epoch FROM now() - min(created_at))::float8 AS oldest
             FROM mail_outbox WHERE sent_at IS NULL`,
          { type: QueryTypes.SELECT },
        );
        this.set({ state: 'count' }, row?.waiting ?? 0);
        this.set({ state: 'oldest_seconds' }, row?.oldest ?? 0);
      } catch {
        // The database is down: /readyz and db_errors_total say so; this scrape has no figure.
      }
    },
  });

  const timeRequests: RequestHandler = (req, res, next) => {
    const end = requestDuration.startTimer();
    res.once('finish', () => end({ method: req.method, route: routeOf(req), status: String(res.statusCode) }));
    next();
  };

  return {
    registry,
    /** What GET /metrics answers: this process's counts, or in a cluster every worker's. */
    scrape: (): Promise<string> => options.cluster?.gather() ?? registry.metrics(),
    timeRequests,
    countDatabaseError: (kind: 'unavailable' | 'other') => databaseErrors.inc({ kind }),
    countSearchTimeout: () => searchTimeouts.inc(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
