// GET /metrics on real processes: with WEB_CONCURRENCY=2 every scrape, whichever worker
// answers it, reports the sum over the workers (and answers 503, not never, when a worker
// doesn't answer); a page served from the anonymous page cache is counted under the route
// that rendered it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/app.js';
import { type Reply, send } from '../support/http.js';
import { killServers, startServer, type ServerEnv, type ServerProcess } from '../support/server.js';
import { createUsers, scalar, sqlPool } from '../support/sql.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'a-metrics-token';
const SCRAPES = 6;

let database: TestDatabase;
let db: pg.Pool;
let postId: number;

before(async () => {
  database = await createTestDatabase({ migrated: true });
  db = sqlPool(database.url);
  const [author] = await createUsers(db, 1, 'metrics');
  postId = await scalar<number>(
    db,
    `INSERT INTO posts (author_id, title, body, published, published_at)
     VALUES ($1, 'Counted post', 'Its body.', true, now()) RETURNING id`,
    [author!.id],
  );
});

after(async () => {
  await killServers();
  await db?.end();
  await database?.drop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The sample lines of Prometheus's text format: `name{label="value",…} value`. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line);
    assert.ok(match?.[1] && match[3], `not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, raw] of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name!] = raw!.replace(/\\(.)/g, (_escape, char: string) => (char === 'n' ? '\n' : char));
    }
    const value = match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : Number(match[3]);
    samples.push({ name: match[1], labels, value });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string>): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v))
    .reduce((sum, sample) => sum + sample.value, 0);
}

const requests = (samples: Sample[], labels: Record<string, string>): number =>
  total(samples, 'http_request_duration_seconds_count', labels);

/** GET /metrics on a connection of its own; asserts a 200 in which no series appears twice. */
async function scrape(server: ServerProcess): Promise<Sample[]> {
  const reply = await send(server.port, { path: '/metrics', headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(reply.status, 200, `GET /metrics answered ${reply.status}: ${reply.body}${server.tail()}`);
  const samples = parseMetrics(reply.body);
  const series = samples.map(({ name, labels }) => `${name}${JSON.stringify(Object.entries(labels).sort())}`);
  assert.equal(new Set(series).size, series.length, 'a series appears more than once: the workers were not summed');
  return samples;
}

/** Which process answered each reply, from the pid of its request's log line. */
async function pidsOf(server: ServerProcess, replies: Reply[]): Promise<Set<number>> {
  return waitFor(
    'a log line for every request',
    () => {
      const logs = server.logs();
      const pids = replies.map((reply) => {
        const line = logs.find(
          (entry) => (entry.req as { id?: string } | undefined)?.id === reply.headers['x-request-id'],
        );
        return typeof line?.pid === 'number' ? line.pid : undefined;
      });
      return pids.every((pid) => pid !== undefined) ? new Set(pids) : undefined;
    },
    { withinMs: 5000 },
  );
}

/** Two workers, once both listen (startServer returns as soon as one answers). */
async function startTwoWorkers(overrides: ServerEnv = {}): Promise<ServerProcess> {
  const server = await startServer(database.url, { WEB_CONCURRENCY: '2', METRICS_TOKEN: TOKEN, ...overrides });
  // The primary prints its banner once every worker listens.
  await waitFor('both workers to listen', () => server.lines.some((line) => /is running at/.test(line)) || undefined, {
    withinMs: 30_000,
  });
  return server;
}

/** `count` anonymous GETs of `path`, each on a new connection (the primary hands them out in turn). */
async function visit(server: ServerProcess, path: string, count: number): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await send(server.port, { path });
    assert.equal(reply.status, 200, `GET ${path} #${i} answered ${reply.status}${server.tail()}`);
    replies.push(reply);
  }
  return replies;
}

const GET_200 = { method: 'GET', status: '200' };

describe('GET /metrics with WEB_CONCURRENCY=2', () => {
  test('every scrape, whichever worker answers it, counts the requests of both workers exactly', async () => {
    const server = await startTwoWorkers();
    try {
      const sent = 60;
      const replies = await visit(server, '/posts', sent);
      const pids = await pidsOf(server, replies);
      assert.equal(pids.size, 2, `every GET /posts was served by ${[...pids].join(', ')}${server.tail()}`);

      assert.equal((await send(server.port, { path: '/metrics' })).status, 401, 'a scrape without the token');
      for (let i = 0; i < SCRAPES; i++) {
        const samples = await scrape(server);
        assert.equal(requests(samples, { ...GET_200, route: '/posts' }), sent, `scrape ${i}`);
        // Each earlier scrape was answered by one worker or the other: all of them count.
        assert.equal(requests(samples, { ...GET_200, route: '/metrics' }), i, `scrape ${i}`);
        assert.equal(requests(samples, { method: 'GET', route: '/metrics', status: '401' }), 1, `scrape ${i}`);
      }
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('a worker that does not answer › the scrape answers 503 within seconds; once it answers, scrapes sum again', async () => {
    const server = await startTwoWorkers();
    try {
      const replies = await visit(server, '/posts', 10);
      const [stopped] = [...(await pidsOf(server, replies))];
      assert.ok(stopped !== undefined);
      process.kill(stopped, 'SIGSTOP');
      let pending: Promise<unknown>[] = [];
      try {
        // A connection handed to the stopped worker waits with it: two, so that the other
        // worker gets one.
        const scrapes = [0, 1].map(() =>
          send(server.port, { path: '/metrics', headers: { Authorization: `Bearer ${TOKEN}` }, timeoutMs: 20_000 }),
        );
        pending = scrapes.map((scrape) => scrape.catch(() => undefined));
        const first = await Promise.any(scrapes);
        assert.equal(first.status, 503, `${first.body}${server.tail()}`);
        assert.match(first.body, /timed out/);
        assert.ok(first.ms < 8000, `the 503 took ${Math.round(first.ms)} ms`);
      } finally {
        process.kill(stopped, 'SIGCONT');
      }
      await Promise.all(pending);
      const samples = await scrape(server);
      assert.equal(requests(samples, { ...GET_200, route: '/posts' }), 10);
      assert.ok(server.isRunning(), `the primary died of late answers${server.tail()}`);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});

describe('pages from the anonymous page cache', () => {
  test('one process › 10 anonymous GET /posts, 9 from the cache › all 10 counted under route="/posts", none unmatched', async () => {
    const server = await startServer(database.url, { PAGE_CACHE_MS: '60000', METRICS_TOKEN: TOKEN });
    try {
      const title = `Published after the first visit ${Date.now()}`;
      await visit(server, '/posts', 1);
      const author = await scalar<number>(db, 'SELECT author_id FROM posts WHERE id = $1', [postId]);
      await db.query(
        `INSERT INTO posts (author_id, title, body, published, published_at) VALUES ($1, $2, 'Body.', true, now())`,
        [author, title],
      );
      const cached = await visit(server, '/posts', 9);
      for (const reply of cached) assert.doesNotMatch(reply.body, new RegExp(title), 'not served from the cache');
      await visit(server, `/posts/${postId}`, 5);
      await visit(server, '/', 5);

      const samples = await scrape(server);
      assert.equal(requests(samples, { ...GET_200, route: '/posts' }), 10);
      assert.equal(requests(samples, { ...GET_200, route: '/posts/:id' }), 5);
      assert.equal(requests(samples, { ...GET_200, route: '/' }), 5);
      assert.equal(requests(samples, { route: 'unmatched' }), 0);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('two workers, each with its own cache › the counts of both add up under their routes', async () => {
    const server = await startTwoWorkers({ PAGE_CACHE_MS: '60000' });
    try {
      const replies = [...(await visit(server, '/posts', 20)), ...(await visit(server, `/posts/${postId}`, 10))];
      const pids = await pidsOf(server, replies);
      assert.equal(pids.size, 2, `every page was served by ${[...pids].join(', ')}${server.tail()}`);
      for (let i = 0; i < SCRAPES; i++) {
        const samples = await scrape(server);
        assert.equal(requests(samples, { ...GET_200, route: '/posts' }), 20, `scrape ${i}`);
        assert.equal(requests(samples, { ...GET_200, route: '/posts/:id' }), 10, `scrape ${i}`);
        assert.equal(requests(samples, { route: 'unmatched' }), 0, `scrape ${i}`);
      }
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
