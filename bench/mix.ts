// The mixed load: autocannon connections that each repeat the cycle
//   read, read, write (POST /posts), follow (GET the 303's Location, logged in), read
// so that ~20 % of requests are writes and ~80 % reads. Each connection is one browser:
// its writes use one session of its own (sessions are shared only when there are more
// connections than sessions). Every request is counted by kind here, with all its
// latencies (autocannon's own histogram keeps only 2xx).
import autocannon from 'autocannon';
import { FORWARDED_HEADERS } from './app.js';
import { header, type Session, writeAndFollow } from './sessions.js';
import { now } from './support.js';

export const KINDS = ['read', 'follow', 'write'] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABELS: Record<Kind, string> = {
  read: 'reads (anonymous GET)',
  follow: 'reads after a write (GET Location, logged in)',
  write: 'writes (POST /posts)',
};

export interface KindStats {
  latenciesMs: number[];
  /** Responses by status code. */
  statuses: Map<number, number>;
  /** Connection errors while a request of this kind was in flight. */
  errors: number;
  /** Those errors by code (ECONNRESET, …). */
  errorCodes: Map<string, number>;
  timeouts: number;
}

export interface MixResult {
  /** The measured window: from the start to the end of `durationS` (the drain comes after). */
  windowMs: number;
  byKind: Record<Kind, KindStats>;
  /** Completion time (ms from the start) and status of every response, in order. */
  timeline: { atMs: number[]; status: number[] };
  /** 5xx responses other than 503, with the X-Request-Id to find them in the app's log. */
  serverErrors: { kind: Kind; status: number; requestId: string | undefined }[];
}

export interface MixOptions {
  origin: string;
  connections: number;
  durationS: number;
  sessions: Session[];
  postIds: number[];
  usernames: string[];
  /** Called every `progressEveryS` seconds with the responses so far. */
  onProgress?: (elapsedS: number, result: MixResult) => void;
  progressEveryS?: number;
  /** Aborting stops at once, abandoning requests in flight. */
  signal?: AbortSignal;
}

// How long a request may take before it counts as timed out.
const REQUEST_TIMEOUT_S = 10;
// autocannon's own end, should the drain not finish (a request stuck until its timeout).
const DRAIN_BACKSTOP_S = REQUEST_TIMEOUT_S + 10;
const MAX_PAGE = 10;

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

function readPath(postIds: number[], usernames: string[]): string {
  const r = Math.random();
  if (r < 0.15) return '/';
  if (r < 0.35) return '/posts';
  if (r < 0.5) return `/posts?page=${2 + Math.floor(Math.random() * (MAX_PAGE - 1))}`;
  if (r < 0.85) return `/posts/${pick(postIds)}`;
  return `/users/${encodeURIComponent(pick(usernames))}`;
}

type ServerErrorListener = (kind: Kind, status: number, requestId: string | undefined) => void;

/** `request`, also reporting its 5xx answers other than 503. */
function observed(request: autocannon.Request, onServerError: ServerErrorListener): autocannon.Request {
  const kind = request.kind as Kind;
  const own = request.onResponse;
  return {
    ...request,
    onResponse: (status, body, context, headers) => {
      own?.(status, body, context, headers);
      if (status >= 500 && status !== 503) onServerError(kind, status, header(headers, 'x-request-id'));
    },
  };
}

function requestCycle(options: MixOptions, onServerError: ServerErrorListener): autocannon.Request[] {
  const read: autocannon.Request = {
    kind: 'read',
    method: 'GET',
    setupRequest: (request) => ({ ...request, path: readPath(options.postIds, options.usernames) }),
  };
  const [write, follow] = writeAndFollow('Load check post');
  return [read, read, write, follow, read].map((request) => observed(request, onServerError));
}

function emptyStats(): Record<Kind, KindStats> {
  const stats = {} as Record<Kind, KindStats>;
  for (const kind of KINDS) {
    stats[kind] = { latenciesMs: [], statuses: new Map(), errors: 0, errorCodes: new Map(), timeouts: 0 };
  }
  return stats;
}

export function runMix(options: MixOptions): Promise<MixResult> {
  const result: MixResult = {
    windowMs: 0,
    byKind: emptyStats(),
    timeline: { atMs: [], status: [] },
    serverErrors: [],
  };
  const clients: autocannon.Client[] = [];
  const start = now();

  const kindOf = (client: autocannon.Client): Kind =>
    (client.requestIterator.currentRequest.kind as Kind | undefined) ?? 'read';

  const setupClient = (client: autocannon.Client): void => {
    const session = options.sessions[clients.length % options.sessions.length];
    client.requestIterator.initialContext = { session };
    client.requestIterator.context = { session };
    clients.push(client);
    // Listeners run before the client sends its next request: currentRequest is the one answered.
    client.on('response', (status: number, _bytes: number, ms: number) => {
      const stats = result.byKind[kindOf(client)];
      stats.latenciesMs.push(ms);
      stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
      result.timeline.atMs.push(now() - start);
      result.timeline.status.push(status);
    });
    client.on('timeout', () => result.byKind[kindOf(client)].timeouts++);
    client.on('connError', (error: NodeJS.ErrnoException) => {
      const stats = result.byKind[kindOf(client)];
      const code = error.code ?? error.message;
      stats.errors++;
      stats.errorCodes.set(code, (stats.errorCodes.get(code) ?? 0) + 1);
    });
  };

  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.origin,
        connections: options.connections,
        duration: options.durationS + DRAIN_BACKSTOP_S,
        timeout: REQUEST_TIMEOUT_S,
        headers: { ...FORWARDED_HEADERS },
        requests: requestCycle(options, (kind, status, requestId) =>
          result.serverErrors.push({ kind, status, requestId }),
        ),
        setupClient,
      },
      (error) => {
        clearTimeout(drainTimer);
        clearInterval(progressTimer);
        options.signal?.removeEventListener('abort', abort);
        if (error) reject(error);
        else resolve(result);
      },
    );

    // At the end of the window each connection finishes the request it has in flight and
    // stops: no write is left half-answered, so every committed post had its 303 counted.
    const drainTimer = setTimeout(() => {
      result.windowMs = now() - start;
      for (const client of clients) client.responseMax = Math.max(1, client.reqsMade);
    }, options.durationS * 1000);

    const every = (options.progressEveryS ?? 0) * 1000;
    const progressTimer = setInterval(() => {
      const elapsed = Math.round((now() - start) / 1000);
      if (elapsed <= options.durationS) options.onProgress?.(elapsed, result);
    }, every || 1e9);

    const abort = (): void => {
      if (result.windowMs === 0) result.windowMs = now() - start;
      instance.stop();
    };
    options.signal?.addEventListener('abort', abort, { once: true });
  });
}
