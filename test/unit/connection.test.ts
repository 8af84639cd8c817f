import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { loadConfig } from '../../src/config.js';
import { DatabaseUrlError, parseDatabaseUrl, sequelizeConnection, SSL_MODES } from '../../src/db/connection.js';

let dir: string;
let caFile: string;
let certFile: string;
let keyFile: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connection-unit-'));
  caFile = path.join(dir, 'ca.pem');
  certFile = path.join(dir, 'client.crt');
  keyFile = path.join(dir, 'client.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=client',
    ]),
    { stdio: 'pipe' },
  );
  fs.copyFileSync(certFile, caFile);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const url = (query = ''): string => `postgres://app:secret@db.example.com:6543/posts${query}`;

/** The message of the DatabaseUrlError that parsing `text` throws. */
function problem(text: string, label?: string): string {
  try {
    parseDatabaseUrl(text, label);
  } catch (error) {
    assert.ok(error instanceof DatabaseUrlError, `not a DatabaseUrlError: ${String(error)}`);
    return error.message;
  }
  assert.fail(`${text} was accepted`);
}

describe('parseDatabaseUrl › where and as whom', () => {
  test('host, port, user, password and database › taken apart', () => {
    const target = parseDatabaseUrl(url());
    assert.deepEqual(
      [target.host, target.port, target.user, target.password, target.database],
      ['db.example.com', 6543, 'app', 'secret', 'posts'],
    );
  });

  test('percent-encoded user, password and database › decoded', () => {
    const target = parseDatabaseUrl('postgresql://us%40er:p%40ss%3Aw%2Fo%23rd%25@db/my%20posts');
    assert.deepEqual([target.user, target.password, target.database], ['us@er', 'p@ss:w/o#rd%', 'my posts']);
  });

  test('no port, an IPv6 address › port 5432, the address without brackets', () => {
    const target = parseDatabaseUrl('postgres://app@[::1]/posts');
    assert.deepEqual([target.host, target.port, target.password], ['::1', 5432, undefined]);
  });

  test('options › kept, for the server', () => {
    assert.equal(parseDatabaseUrl(url('?options=-c%20search_path%3Dapp')).options, '-c search_path=app');
  });

  test('a % not followed by two hex digits › refused, saying how to write %', () => {
    assert.match(
      problem('postgres://app:50%off@db/posts'),
      /a % not followed by two hex digits \(write % itself as %25\)/,
    );
  });

  test('not a postgres URL › refused without showing the password', () => {
    assert.match(problem('mysql://app:secret@db/posts'), /^DATABASE_URL: must be a postgres:\/\//);
    const message = problem('postgres://app:secret@db:port/posts');
    assert.match(message, /is not a valid URL/);
    assert.doesNotMatch(message, /secret/);
  });
});

describe('parseDatabaseUrl › sslmode with libpq’s meanings', () => {
  test('no sslmode › prefer (TLS when offered), the certificate not checked', () => {
    const { ssl } = parseDatabaseUrl(url());
    assert.equal(ssl.mode, 'prefer');
    assert.match(ssl.asGiven, /prefer \(the default\)/);
    assert.deepEqual(ssl.tls, { rejectUnauthorized: false });
  });

  test('disable, allow, prefer, require › no certificate check', () => {
    for (const mode of ['disable', 'allow', 'prefer', 'require']) {
      const { ssl } = parseDatabaseUrl(url(`?sslmode=${mode}`));
      assert.equal(ssl.mode, mode);
      assert.equal(ssl.asGiven, `sslmode=${mode}`);
      assert.equal(ssl.tls.rejectUnauthorized, false, mode);
    }
  });

  test('verify-ca › the chain against sslrootcert, any host name', () => {
    const { ssl } = parseDatabaseUrl(url(`?sslmode=verify-ca&sslrootcert=${caFile}`));
    assert.equal(ssl.mode, 'verify-ca');
    assert.equal(ssl.tls.ca, fs.readFileSync(caFile, 'utf8'));
    assert.notEqual(ssl.tls.rejectUnauthorized, false);
    assert.equal(ssl.tls.checkServerIdentity?.('elsewhere.example.com', {} as tls.PeerCertificate), undefined);
  });

  test('require with sslrootcert › checks the chain, as verify-ca', () => {
    const { ssl } = parseDatabaseUrl(url(`?sslmode=require&sslrootcert=${caFile}`));
    assert.equal(ssl.mode, 'verify-ca');
    assert.equal(ssl.asGiven, 'sslmode=require');
    assert.equal(ssl.tls.ca, fs.readFileSync(caFile, 'utf8'));
    assert.notEqual(ssl.tls.rejectUnauthorized, false);
  });

  test('prefer with sslrootcert › checks the chain too when TLS is used', () => {
    const { ssl } = parseDatabaseUrl(url(`?sslrootcert=${caFile}`));
    assert.equal(ssl.mode, 'prefer');
    assert.equal(ssl.tls.ca, fs.readFileSync(caFile, 'utf8'));
    assert.notEqual(ssl.tls.rejectUnauthorized, false);
  });

  test('verify-full › chain and host name: Node’s own check, the CA of sslrootcert or Node’s', () => {
    const own = parseDatabaseUrl(url(`?sslmode=verify-full&sslrootcert=${caFile}`)).ssl;
    assert.equal(own.mode, 'verify-full');
    assert.deepEqual(own.tls, { ca: fs.readFileSync(caFile, 'utf8') });
    assert.deepEqual(parseDatabaseUrl(url('?sslmode=verify-full')).ssl.tls, {});
  });

  test('sslrootcert=system › Node’s CAs, verify-full by default, nothing weaker', () => {
    const { ssl } = parseDatabaseUrl(url('?sslrootcert=system'));
    assert.equal(ssl.mode, 'verify-full');
    assert.deepEqual(ssl.tls, {});
    assert.match(
      problem(url('?sslrootcert=system&sslmode=require')),
      /sslmode=require cannot be used with sslrootcert=system/,
    );
  });

  test('sslcert and sslkey › a client certificate, read from disk', () => {
    const { ssl } = parseDatabaseUrl(url(`?sslmode=require&sslcert=${certFile}&sslkey=${keyFile}`));
    assert.equal(ssl.tls.cert, fs.readFileSync(certFile, 'utf8'));
    assert.equal(ssl.tls.key, fs.readFileSync(keyFile, 'utf8'));
    assert.match(problem(url(`?sslcert=${certFile}`)), /sslcert and sslkey go together/);
  });

  test('every mode libpq knows › accepted', () => {
    for (const mode of SSL_MODES) {
      const query = mode === 'verify-ca' ? `?sslmode=${mode}&sslrootcert=${caFile}` : `?sslmode=${mode}`;
      assert.equal(parseDatabaseUrl(url(query)).ssl.asGiven, `sslmode=${mode}`);
    }
  });
});

describe('parseDatabaseUrl › what cannot be honoured is an error naming it', () => {
  test('an unknown sslmode › names the value and the variable', () => {
    assert.equal(
      problem(url('?sslmode=requried'), 'DATABASE_REPLICA_URLS'),
      'DATABASE_REPLICA_URLS: sslmode "requried" is not one of disable, allow, prefer, require, verify-ca, verify-full',
    );
  });

  test('verify-ca without sslrootcert › refused: any public CA would pass', () => {
    assert.match(problem(url('?sslmode=verify-ca')), /sslmode=verify-ca needs sslrootcert=/);
  });

  test('an sslrootcert that cannot be read, or is no certificate › names the file', () => {
    const missing = path.join(dir, 'missing.pem');
    assert.match(
      problem(url(`?sslmode=verify-full&sslrootcert=${missing}`)),
      /cannot read sslrootcert=.*missing\.pem \(ENOENT\)/,
    );
    assert.match(
      problem(url(`?sslmode=require&sslrootcert=${keyFile}`)),
      /sslrootcert=.*client\.key holds no PEM certificate/,
    );
  });

  test('a parameter the app does not use › refused, with what to do instead', () => {
    assert.match(problem(url('?ssl=true')), /the parameter "ssl" is not supported \(use sslmode=require/);
    assert.match(problem(url('?connect_timeout=10')), /"connect_timeout" .*DB_CONNECT_TIMEOUT_MS/);
    assert.match(problem(url('?application_name=x')), /"application_name" .*names its own sessions/);
    assert.match(problem(url('?schema=app')), /"schema" is not supported \(supported: sslmode, sslrootcert/);
    assert.match(problem(url('?sslmode=require&sslmode=disable')), /sslmode is given more than once/);
  });

  test('channel_binding › disable and prefer accepted, require refused', () => {
    assert.equal(parseDatabaseUrl(url('?sslmode=require&channel_binding=prefer')).ssl.mode, 'require');
    assert.match(
      problem(url('?sslmode=require&channel_binding=require')),
      /channel_binding=require cannot be honoured/,
    );
  });
});

describe('sequelizeConnection', () => {
  test('host, user… and the TLS plan, no URL › nothing for Sequelize or sequelize-cli to re-parse', () => {
    const connection = sequelizeConnection(parseDatabaseUrl(url('?sslmode=require&options=-c%20x%3Dy')));
    assert.deepEqual(
      [connection.host, connection.port, connection.username, connection.password, connection.database],
      ['db.example.com', 6543, 'app', 'secret', 'posts'],
    );
    assert.equal(connection.dialectOptions.sslPlan.mode, 'require');
    assert.equal(connection.dialectOptions.options, '-c x=y');
    assert.ok(!('url' in connection));
  });
});

describe('loadConfig › DATABASE_URL and DATABASE_REPLICA_URLS', () => {
  test('an unknown sslmode › the start is refused, naming the value', () => {
    assert.throws(
      () => loadConfig({ DATABASE_URL: url('?sslmode=verify_full') }),
      /DATABASE_URL: sslmode "verify_full" is not one of/,
    );
    assert.throws(
      () => loadConfig({ DATABASE_URL: url(), DATABASE_REPLICA_URLS: `${url()},${url('?sslmode=on')}` }),
      /DATABASE_REPLICA_URLS: sslmode "on" is not one of/,
    );
  });

  test('sslmode and sslrootcert given rightly › accepted as they are', () => {
    const given = url(`?sslmode=verify-full&sslrootcert=${caFile}`);
    assert.equal(loadConfig({ DATABASE_URL: given }).databaseUrl, given);
  });
});
