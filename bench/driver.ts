// The one load driver: autocannon on loopback, every answer counted here by kind of request
// (autocannon's own histogram keeps only 2xx latencies, and a write answers 303); and the
// logged-in sessions that write, made over HTTP as a browser makes them.
import autocannon from 'autocannon';
import { DEMO_PASSWORD } from '../src/db/demo.js';
import { SESSION_COOKIE } from '../src/middleware/session.js';
import { csrfTokenIn, type Target, Visitor } from '../test/support/browser.js';
import { now } from '../test/support/wait.js';
import { FORWARDED_HEADERS } from './processes.js';
import { percentile } from './support.js';

// How long a request may take before it counts as timed out.
const REQUEST_TIMEOUT_S = 10;
// autocannon's own end, should the drain not finish (a request stuck until its timeout).
const DRAIN_BACKSTOP_S = REQUEST_TIMEOUT_S + 10;

/** The answers to one kind of request. */
export interface Tally {
  latenciesMs: number[];
  statuses: Map<number, number>;
  unexpected: number;
  errors: number;
  timeouts: number;
}

export interface LoadResult {
  /** The measured window, in ms (with `drain`, the answers in flight come after it). */
  windowMs: number;
  byKind: Map<string, Tally>;
}

export interface LoadOptions {
  origin: string;
  connections: number;
  durationS: number;
  /** The requests each connection repeats, each tagged with `kind`, and the statuses each must get. */
  requests: autocannon.Request[];
  expected: (kind: string, status: number) => boolean;
  /** Connection i uses sessions[i % length]. */
  sessions?: Session[];
  /** At the end of the window each connection finishes its request in flight, then stops. */
  drain?: boolean;
  signal?: AbortSignal;
}

/** What autocannon's request iterator also has (not in bench/autocannon.d.ts). */
type Rebuildable = autocannon.Client['requestIterator'] & { rebuildRequest(): void };

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { windowMs: 0, byKind: new Map() };
  const tally = (kind: string): Tally => {
    const found = result.byKind.get(kind) ?? {
      latenciesMs: [],
      statuses: new Map(),
      unexpected: 0,
      errors: 0,
      timeouts: 0,
    };
    result.byKind.set(kind, found);
    return found;
  };
  const clients: autocannon.Client[] = [];
  const start = now();

  const setupClient = (client: autocannon.Client): void => {
    if (options.sessions) {
      const session = options.sessions[clients.length % options.sessions.length];
      client.requestIterator.initialContext = { session };
      client.requestIterator.context = { session };
      // autocannon built the first request before the client had its context: build it again.
      (client.requestIterator as Rebuildable).rebuildRequest();
    }
    clients.push(client);
    const kindOf = (): string => (client.requestIterator.currentRequest.kind as string | undefined) ?? 'read';
    // Listeners run before the client sends its next request: currentRequest is the one answered.
    client.on('response', (status: number, _bytes: number, ms: number) => {
      const counted = tally(kindOf());
      counted.latenciesMs.push(ms);
      counted.statuses.set(status, (counted.statuses.get(status) ?? 0) + 1);
      if (!options.expected(kindOf(), status)) counted.unexpected++;
    });
    client.on('timeout', () => tally(kindOf()).timeouts++);
    client.on('connError', () => tally(kindOf()).errors++);
  };

  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.origin,
        connections: options.connections,
        duration: options.durationS + (options.drain ? DRAIN_BACKSTOP_S : 0),
        timeout: REQUEST_TIMEOUT_S,
        headers: { ...FORWARDED_HEADERS },
        requests: options.requests,
        setupClient,
      },
      (error, outcome) => {
        clearTimeout(drainTimer);
        options.signal?.removeEventListener('abort', abort);
        if (error) return reject(error);
        if (!options.drain) result.windowMs = outcome.duration * 1000;
        resolve(result);
      },
    );
    // No write is left half-answered: every committed post had its 303 counted.
    const drainTimer = setTimeout(() => {
      if (!options.drain) return;
      result.windowMs = now() - start;
      for (const client of clients) client.responseMax = Math.max(1, client.reqsMade);
    }, options.durationS * 1000);
    const abort = (): void => {
      if (result.windowMs === 0) result.windowMs = now() - start;
      instance.stop();
    };
    options.signal?.addEventListener('abort', abort, { once: true });
  });
}

/** `bad`: errors, timeouts and unexpected statuses. */
export interface Figures {
  responses: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Map<number, number>;
  bad: number;
  errors: number;
  timeouts: number;
}

/** The figures of some kinds of request together, over the window. */
export function figuresOf(tallies: (Tally | undefined)[], windowMs: number): Figures {
  const parts = tallies.filter((t) => t !== undefined);
  const latencies = parts.flatMap((part) => part.latenciesMs).sort((a, b) => a - b);
  const statuses = new Map<number, number>();
  for (const [status, count] of parts.flatMap((part) => [...part.statuses])) {
    statuses.set(status, (statuses.get(status) ?? 0) + count);
  }
  const sum = (pick: (t: Tally) => number): number => parts.reduce((n, part) => n + pick(part), 0);
  return {
    responses: latencies.length,
    perSecond: latencies.length / (windowMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    statuses,
    bad: sum((t) => t.unexpected + t.errors + t.timeouts),
    errors: sum((t) => t.errors),
    timeouts: sum((t) => t.timeouts),
  };
}

/** A logged-in browser (the test kit's visitor), and what its connections send: its cookie and its CSRF token. */
export interface Session {
  username: string;
  visitor: Visitor;
  cookie: string;
  csrf: string;
}

/** Logs in through the form, then reads a page as the browser would (its flash message, its token). */
export async function logIn(target: Target, username: string): Promise<Session> {
  const visitor = new Visitor(target);
  await visitor.logIn(username, DEMO_PASSWORD);
  const page = await visitor.get('/');
  if (page.status !== 200) throw new Error(`GET / as ${username} answered ${page.status}`);
  const cookie = `${SESSION_COOKIE}=${visitor.cookie(SESSION_COOKIE)}`;
  return { username, visitor, cookie, csrf: csrfTokenIn(page.body) };
}

let written = 0;

function postFields(session: Session, label: string): { title: string; body: string; published: string } {
  written++;
  return {
    title: `${label} ${written}: notes on a busy afternoon`,
    body:
      `Post number ${written}, written under load by ${session.username}.\n\n` +
      'Most of the afternoon went on small things: answering messages, fixing a test that ' +
      'failed only on Tuesdays, and reading about how **other people** size their connection pools.',
    published: 'on',
  };
}

/** About `chars` of Markdown as people write it: headings, emphasis, links, lists, code and quotes. */
export function longMarkdown(chars: number): string {
  let text = '';
  for (let i = 1; text.length < chars; i++) {
    text += `## Part ${i}\n\nMost of part ${i} went on **small things** and [reading](https://example.com/${i}), with _care_.\n\n`;
    text += `- a \`code\` item\n- a [link](https://example.org/${i})\n\n\`\`\`sql\nSELECT id FROM posts LIMIT 20;\n\`\`\`\n\n> Measure.\n\n`;
  }
  return text.slice(0, chars);
}

/** Publishes a post as `session`, through the form: its path. */
export async function publish(session: Session, fields: { title: string; body: string }): Promise<string> {
  const res = await session.visitor.submit('POST', '/posts', { ...fields, published: 'on' });
  const location = res.headers.location;
  if (res.status !== 303 || !location) throw new Error(`POST /posts as ${session.username} answered ${res.status}`);
  return location;
}

/** Publishes one post as a browser would, following the redirect: checks the write path works. */
export async function writeOnce(session: Session): Promise<void> {
  const location = await publish(session, postFields(session, 'Warm-up post'));
  const shown = await session.visitor.get(location);
  if (shown.status !== 200) throw new Error(`GET ${location} after a write answered ${shown.status}`);
}

/**
 * POST /posts as the connection's session, then GET of the 303's Location, as a browser does:
 * that shows (so clears) the flash message the write left, else every session would grow.
 */
export function writeAndFollow(label: string): [autocannon.Request, autocannon.Request] {
  const write: autocannon.Request = {
    kind: 'write',
    method: 'POST',
    path: '/posts',
    setupRequest: (request, context) => {
      const session = context.session as Session | undefined;
      if (!session) return request;
      context.location = undefined;
      const headers = {
        ...request.headers,
        cookie: session.cookie,
        'content-type': 'application/x-www-form-urlencoded',
      };
      const form = { _csrf: session.csrf, ...postFields(session, label) };
      return { ...request, headers, body: new URLSearchParams(form).toString() };
    },
    onResponse: (status, _body, context, headers) => {
      // autocannon hands the headers over as sent, whatever their case.
      const location = Object.entries(headers).find(([name]) => name.toLowerCase() === 'location')?.[1];
      context.location = status === 303 ? location : undefined;
    },
  };
  const follow = asSession({ kind: 'follow', method: 'GET' }, (context) =>
    typeof context.location === 'string' ? context.location : '/',
  );
  return [write, follow];
}

/** A GET of `path` (or of what `pathOf` says) with the session cookie of the connection. */
export function asSession(
  request: autocannon.Request,
  pathOf: (context: autocannon.Context) => string = () => request.path ?? '/',
): autocannon.Request {
  return {
    ...request,
    setupRequest: (built, context) => {
      const session = context.session as Session | undefined;
      if (!session) return built;
      return { ...built, path: pathOf(context), headers: { ...built.headers, cookie: session.cookie } };
    },
  };
}
