import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  test('an empty environment › safe development defaults, embedded database', () => {
    const config = loadConfig({});
    assert.equal(config.env, 'development');
    assert.equal(config.port, 3000);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.dbPoolMax, 10);
    assert.equal(config.dbPoolMin, 0);
    assert.equal(config.dbStatementTimeoutMs, 10_000);
    assert.equal(config.logLevel, 'info');
    assert.ok(Object.isFrozen(config));
  });

  test('every documented variable › read and typed', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/app',
      DB_POOL_MAX: '20',
      DB_POOL_MIN: '2',
      DB_STATEMENT_TIMEOUT_MS: '3000',
      DB_SLOW_QUERY_MS: '50',
      SESSION_SECRET: 'x'.repeat(32),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      SMTP_URL: 'smtps://mailer:secret@smtp.example.com:465',
      PUBLIC_URL: 'https://posts.example.com/',
      MAIL_FROM: 'Posts <hello@posts.example.com>',
      MAIL_POLL_MS: '500',
      RATE_LIMIT_RESET_PER_IP: '4',
      RATE_LIMIT_MAIL_PER_ADDRESS: '2',
    });
    assert.equal(config.port, 8080);
    assert.deepEqual(config.mail, { kind: 'smtp', url: 'smtps://mailer:secret@smtp.example.com:465' });
    assert.equal(config.publicUrl, 'https://posts.example.com');
    assert.equal(config.mailFrom, 'Posts <hello@posts.example.com>');
    assert.equal(config.mailPollMs, 500);
    assert.equal(config.resetLimitPerIp, 4);
    assert.equal(config.mailLimitPerAddress, 2);
    assert.equal(config.databaseUrl, 'postgres://u:p@db:5432/app');
    assert.equal(config.dbPoolMax, 20);
    assert.equal(config.dbPoolMin, 2);
    assert.equal(config.dbStatementTimeoutMs, 3000);
    assert.equal(config.dbSlowQueryMs, 50);
    assert.equal(config.env, 'production');
    assert.equal(config.logLevel, 'warn');
  });

  test('mail › a folder under DATA_DIR outside production, MAIL_DIR anywhere, off only when asked', () => {
    assert.deepEqual(loadConfig({ DATA_DIR: '/srv/data' }).mail, { kind: 'folder', dir: '/srv/data/mail' });
    assert.deepEqual(loadConfig({ MAIL_DIR: '/var/mail/app' }).mail, { kind: 'folder', dir: '/var/mail/app' });
    assert.deepEqual(loadConfig({ MAIL_DISABLED: 'true' }).mail, { kind: 'off' });
    assert.equal(loadConfig({}).mailFrom, 'Users and posts <no-reply@localhost>');
    assert.equal(
      loadConfig({ PUBLIC_URL: 'https://posts.example.com' }).mailFrom,
      'Users and posts <no-reply@posts.example.com>',
    );
    assert.throws(
      () => loadConfig({ SMTP_URL: 'http://smtp.example.com' }),
      /SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/,
    );
    assert.throws(() => loadConfig({ SMTP_URL: 'smtp://h', MAIL_DISABLED: 'true' }), /contradict/);
    assert.throws(() => loadConfig({ MAIL_DISABLED: 'yes' }), /MAIL_DISABLED must be true or false/);
  });

  test('production without a way to send mail, or sending it without PUBLIC_URL › refuses to start, saying why', () => {
    const production = { NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) };
    assert.throws(() => loadConfig(production), /SMTP_URL is required in production[^\n]*MAIL_DISABLED=true/);
    assert.throws(
      () => loadConfig({ ...production, SMTP_URL: 'smtp://smtp.example.com' }),
      /PUBLIC_URL is required in production to send mails[^\n]*never from the Host header/,
    );
    assert.deepEqual(loadConfig({ ...production, MAIL_DISABLED: 'true' }).mail, { kind: 'off' });
  });

  test('production without SESSION_SECRET › refuses to start', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /SESSION_SECRET is required in production/);
  });

  test('several bad values › one error naming each of them', () => {
    assert.throws(
      () =>
        loadConfig({
          PORT: 'eighty',
          DB_POOL_MAX: '0',
          NODE_ENV: 'staging',
          LOG_LEVEL: 'loud',
          DATABASE_URL: 'mysql://x',
        }),
      (error: Error) => {
        for (const key of ['PORT', 'DB_POOL_MAX', 'NODE_ENV', 'LOG_LEVEL', 'DATABASE_URL'])
          assert.match(error.message, new RegExp(key));
        return true;
      },
    );
  });

  test('a pool minimum above its maximum › rejected', () => {
    assert.throws(() => loadConfig({ DB_POOL_MAX: '2', DB_POOL_MIN: '5' }), /DB_POOL_MIN must not exceed DB_POOL_MAX/);
  });

  test('a short SESSION_SECRET › rejected', () => {
    assert.throws(() => loadConfig({ SESSION_SECRET: 'short' }), /at least 32 characters/);
  });

  test('DATABASE_REPLICA_URLS › a comma-separated list of postgres URLs, and only beside DATABASE_URL', () => {
    const primary = 'postgres://app:secret@db1:5432/app';
    const config = loadConfig({
      DATABASE_URL: primary,
      DATABASE_REPLICA_URLS: ' postgres://app:secret@db2:5432/app, postgres://app:secret@db3:5432/app ,',
    });
    assert.deepEqual(config.databaseReplicaUrls, [
      'postgres://app:secret@db2:5432/app',
      'postgres://app:secret@db3:5432/app',
    ]);
    assert.deepEqual(loadConfig({}).databaseReplicaUrls, []);
    assert.throws(
      () => loadConfig({ DATABASE_URL: primary, DATABASE_REPLICA_URLS: 'mysql://db2/app' }),
      /DATABASE_REPLICA_URLS must be postgres:\/\/ URLs/,
    );
    assert.throws(
      () => loadConfig({ DATABASE_REPLICA_URLS: 'postgres://db2/app' }),
      /DATABASE_REPLICA_URLS needs DATABASE_URL/,
    );
  });
});
