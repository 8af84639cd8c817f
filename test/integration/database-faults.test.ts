import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { createDatabase } from '../../src/db/database.js';
import { createTestDatabase, TEST_APP_CONFIG, TEST_POOL } from '../helpers/app.js';

// Each case builds its own Database, which binds the models to it: this file has no
// shared test app, so nothing else is left pointing at a closed pool.

describe('with the database unreachable', () => {
  let down: ReturnType<typeof createApp>;
  let closeDown: () => Promise<void>;
  before(async () => {
    // A port with nothing listening: every connection attempt is refused.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const db = createDatabase(`postgres://nobody:nothing@127.0.0.1:${port}/none`, {
      ...TEST_POOL,
      dbAcquireTimeoutMs: 2000,
    });
    down = createApp({
      config: TEST_APP_CONFIG,
      db,
      logger: pino({ level: 'silent' }),
      sessionSecret: 'x'.repeat(40),
    });
    closeDown = () => db.close();
  });
  after(async () => {
    await closeDown();
  });

  test('GET /posts › the 503 page with Retry-After', async () => {
    const res = await request(down).get('/posts');
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers['retry-after']) > 0);
    assert.match(res.text, /Temporarily unavailable/);
  });

  test('the failures › counted in db_errors_total', async () => {
    await request(down).get('/users');
    const metrics = await request(down).get('/metrics');
    assert.match(metrics.text, /db_errors_total\{kind="unavailable"\} [1-9]/);
  });

  test('GET /readyz › 503, while GET /healthz stays 200', async () => {
    assert.equal((await request(down).get('/readyz')).status, 503);
    assert.equal((await request(down).get('/healthz')).status, 200);
  });

  test('a request with a session cookie › 503, not a 500', async () => {
    const res = await request(down).get('/posts').set('Cookie', 'sid=s%3Aabc.def');
    assert.equal(res.status, 503);
  });
});

describe('on a database whose schema is missing (migrations undone by an admin)', () => {
  test('GET /posts › the 503 page, not a 500', async () => {
    const empty = await createTestDatabase({ migrated: false });
    const db = createDatabase(empty.url, TEST_POOL);
    try {
      const app = createApp({
        config: TEST_APP_CONFIG,
        db,
        logger: pino({ level: 'silent' }),
        sessionSecret: 'x'.repeat(40),
      });
      const res = await request(app).get('/posts');
      assert.equal(res.status, 503);
      assert.ok(res.headers['retry-after']);
    } finally {
      await db.close();
      await empty.drop();
    }
  });
});
