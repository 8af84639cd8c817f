// `npm test`: one PostgreSQL for the whole run (embedded, or the server of DATABASE_URL),
// a template database migrated once, then Node's test runner on every test file. Each
// file clones the template into a database of its own (test/support/app.ts).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { databaseUrl, migrateDatabase, onServer, quoteIdent, uniqueDatabaseName } from './support/postgres.js';
import { freePort } from './support/ports.js';

const ROOT = path.resolve(__dirname, '..');

function testFiles(args: string[]): string[] {
  if (args.length > 0) return args;
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.test.ts')) found.push(path.relative(ROOT, full));
    }
  };
  walk(path.join(ROOT, 'test'));
  return found.sort();
}

async function main(): Promise<number> {
  const files = testFiles(process.argv.slice(2));
  let serverUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;

  if (!serverUrl) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-test-'));
    fs.chmodSync(dataDir, 0o755);
    const embedded = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    serverUrl = embedded.url;
    stopEmbedded = () => embedded.stop();
    console.log(`# test database server: embedded PostgreSQL in ${dataDir}`);
  } else {
    console.log('# test database server: the one of DATABASE_URL (test databases are created beside yours)');
  }

  const template = uniqueDatabaseName('test_template');
  try {
    await onServer(serverUrl, `CREATE DATABASE ${quoteIdent(template)}`);
    await migrateDatabase(databaseUrl(serverUrl, template));

    const concurrency = Math.max(2, os.availableParallelism());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
      {
        cwd: ROOT,
        stdio: 'inherit',
        env: { ...process.env, TEST_SERVER_URL: serverUrl, TEST_TEMPLATE_DATABASE: template, NODE_ENV: 'test' },
      },
    );
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await onServer(serverUrl, `DROP DATABASE IF EXISTS ${quoteIdent(template)} WITH (FORCE)`).catch(() => undefined);
    await stopEmbedded?.();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
