// Seeding benchmark: `npm run bench:seed`, sized by SEED_USERS and SEED_POSTS (default
// 10,000 and 1,000,000).
//   1. An embedded PostgreSQL in a temporary directory, migrated.
//   2. The volume seeder through the real sequelize-cli, timed from outside (process start
//      to exit, so the CLI's own start-up counts too).
//   3. With psql on PATH: ../shared/bench/seed-reference.sh on the same server, and the ratio.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { migrate } from '../src/db/migrator.js';
import { createSequelize } from '../src/db/sequelize.js';
import { EmbeddedServer, withClient } from './database.js';

const ROOT = path.resolve(__dirname, '..');
const SEEDER = '20261121000200-volume-data.ts';
const REFERENCE = path.resolve(ROOT, '../shared/bench/seed-reference.sh');
const users = Number(process.env.SEED_USERS ?? 10_000);
const posts = Number(process.env.SEED_POSTS ?? 1_000_000);

const log = (message: string): void => console.log(message);

/** Runs a command to its end, its output shown as it comes; the wall time in seconds. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve((performance.now() - started) / 1000);
      else reject(new Error(`${command} ${args.join(' ')} ended with ${signal ?? `exit code ${code}`}`));
    });
  });
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir !== '' && fs.existsSync(path.join(dir, program)));
}

async function migrated(url: string): Promise<void> {
  const sequelize = createSequelize(url, {
    dbPoolMax: 1,
    dbPoolMin: 0,
    dbAcquireTimeoutMs: 30_000,
    dbConnectTimeoutMs: 30_000,
    dbStatementTimeoutMs: 0,
    dbSlowQueryMs: Number.MAX_SAFE_INTEGER,
  });
  try {
    await migrate(sequelize);
  } finally {
    await sequelize.close();
  }
}

async function main(): Promise<void> {
  log('starting an embedded PostgreSQL…');
  const server = await EmbeddedServer.start();
  try {
    await migrated(server.url);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: server.url,
      SEED_USERS: String(users),
      SEED_POSTS: String(posts),
    };
    const cli = path.join(ROOT, 'node_modules/sequelize-cli/lib/sequelize');
    log(`seeding ${users} users and ${posts} posts through sequelize-cli…`);
    const seederS = await timed(process.execPath, [cli, 'db:seed', '--seed', SEEDER], env);
    const counted = await withClient(server.url, async (client) => {
      const result = await client.query<{ users: number; posts: number; bad: number; visible: number }>(
        `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM posts) AS posts,
                (SELECT round(100.0 * relallvisible / greatest(relpages, 1))::int FROM pg_class
                  WHERE oid = 'posts'::regclass) AS visible,
                (SELECT count(*)::int FROM users u
                  WHERE posts_count <> (SELECT count(*) FROM posts p WHERE p.author_id = u.id)) AS bad`,
      );
      return result.rows[0]!;
    });
    const rows = users + posts;
    log(
      `\nseeder (sequelize-cli, process start to exit): ${seederS.toFixed(2)} s, ${Math.round(rows / seederS).toLocaleString('en-US')} rows/s`,
    );
    log(
      `database: ${counted.users} users, ${counted.posts} posts, ${counted.bad} posts_count mismatches, ` +
        `${counted.visible}% of the posts pages all-visible`,
    );

    if (!onPath('psql')) {
      log('psql is not on PATH: the reference script was not run');
      return;
    }
    log(`\nreference: ${REFERENCE} ${users} ${posts}`);
    const referenceS = await timed('bash', [REFERENCE, String(users), String(posts)], env);
    log(
      `\nseeder ${seederS.toFixed(2)} s vs reference ${referenceS.toFixed(2)} s: ratio ${(seederS / referenceS).toFixed(2)}× (target ≤ 2×)`,
    );
  } finally {
    await server.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
