import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createDatabase } from '../../src/db/database.js';
import { createTestDatabase, serveApp, type Served, TEST_POOL } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { freePort } from '../support/ports.js';

// Each case builds its own Database, which binds the models to it: this file has no
// shared test app, so nothing else is left pointing at a closed pool.

describe('with the database unreachable', () => {
  let down: Served;
  let closeDown: () => Promise<void>;
  before(async () => {
    // A port with nothing listening: every connection attempt is refused.
    const port = await freePort();
    const db = createDatabase(`postgres://nobody:nothing@127.0.0.1:${port}/none`, {
      ...TEST_POOL,
      dbAcquireTimeoutMs: 2000,
    });
    down = await serveApp(db);
    closeDown = async () => {
      await down.close();
      await db.close();
    };
  });
  after(async () => {
    await closeDown();
  });

  test('GET /posts › the 503 page with Retry-After', async () => {
    const res = await new Visitor(down).get('/posts');
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers['retry-after']) > 0);
    assert.match(res.body, /Temporarily unavailable/);
  });

  test('the failures › counted in db_errors_total', async () => {
    await new Visitor(down).get('/users');
    const metrics = await new Visitor(down).get('/metrics');
    assert.match(metrics.body, /db_errors_total\{kind="unavailable"\} [1-9]/);
  });

  test('GET /readyz › 503, while GET /healthz stays 200', async () => {
    assert.equal((await new Visitor(down).get('/readyz')).status, 503);
    assert.equal((await new Visitor(down).get('/healthz')).status, 200);
  });

  test('a request with a session cookie › 503, not a 500', async () => {
    const res = await new Visitor(down).get('/posts', { headers: { Cookie: 'sid=s%3Aabc.def' } });
    assert.equal(res.status, 503);
  });
});

describe('on a database whose schema is missing (migrations undone by an admin)', () => {
  test('GET /posts › the 503 page, not a 500', async () => {
    const empty = await createTestDatabase({ migrated: false });
    const db = createDatabase(empty.url, TEST_POOL);
    try {
      const app = await serveApp(db);
      const res = await new Visitor(app).get('/posts').finally(() => app.close());
      assert.equal(res.status, 503);
      assert.ok(res.headers['retry-after']);
    } finally {
      await db.close();
      await empty.drop();
    }
  });
});

describe('with a database that accepts connections and never answers', () => {
  test('GET /readyz › 503 after about a second, not after the connect timeout', async () => {
    // A TCP server that takes the connection and then says nothing: a hung PostgreSQL.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const db = createDatabase(`postgres://nobody:nothing@127.0.0.1:${port}/none`, {
      ...TEST_POOL,
      dbConnectTimeoutMs: 8000,
      dbAcquireTimeoutMs: 8000,
    });
    const app = await serveApp(db);
    try {
      const started = Date.now();
      const res = await new Visitor(app).get('/readyz');
      const took = Date.now() - started;
      assert.equal(res.status, 503);
      assert.ok(took >= 900 && took < 4000, `answered after ${took} ms`);
    } finally {
      await app.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
      await db.close();
    }
  });
});

describe('logging', () => {
  test('a failed request › logged as an error with its stack and the request id; slow queries as warnings', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const port = await freePort();
    const db = createDatabase(`postgres://nobody:nothing@127.0.0.1:${port}/none`, TEST_POOL, logger);
    const app = await serveApp(db, {}, logger);
    try {
      const res = await new Visitor(app).get('/posts', { headers: { 'X-Request-Id': 'trace-me-123' } });
      assert.equal(res.status, 503);
      assert.equal(res.headers['x-request-id'], 'trace-me-123');
      const failure = lines.find((line) => line.msg === 'request failed');
      assert.ok(failure, JSON.stringify(lines));
      assert.equal(failure.level, 50);
      assert.match(JSON.stringify(failure), /"id":"trace-me-123"/);
      assert.match(String((failure.err as { stack?: string }).stack), /ConnectionRefusedError|ECONNREFUSED/);
      const completed = lines.find((line) => line.msg === 'request completed' || line.msg === 'request errored');
      assert.ok(completed, 'one line per request');
    } finally {
      await app.close();
      await db.close();
    }

    const slowLines: Record<string, unknown>[] = [];
    const slowLogger = pino(
      { level: 'info' },
      { write: (line: string) => slowLines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const live = await createTestDatabase({ migrated: false });
    const liveDb = createDatabase(live.url, { ...TEST_POOL, dbSlowQueryMs: 50 }, slowLogger);
    try {
      await liveDb.sequelize.query('SELECT pg_sleep(0.1)');
      await liveDb.sequelize.query('SELECT 1');
      const slow = slowLines.filter((line) => line.msg === 'slow query');
      assert.equal(slow.length, 1, JSON.stringify(slowLines));
      assert.equal(slow[0]!.level, 40);
      // Timed with Date.now(): a 100 ms sleep may read as 99 ms; above the 50 ms threshold is the point.
      assert.ok(Number(slow[0]!.durationMs) >= 90, `durationMs ${String(slow[0]!.durationMs)}`);
      assert.match(String(slow[0]!.sql), /pg_sleep/);
    } finally {
      await liveDb.close();
      await live.drop();
    }
  });
});
