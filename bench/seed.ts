// Seeding benchmark: the volume seeder through sequelize-cli, timed from process start to exit;
// then, with psql on PATH, ../shared/bench/seed-reference.sh on the same server, and the ratio.
import fs from 'node:fs';
import path from 'node:path';
import { seedVolume, startDatabase, timed } from './database.js';
import { readOptions, sizes } from './options.js';
import { type Cleanup, ROOT, runScript, withClient } from './support.js';

const REFERENCE = path.resolve(ROOT, '../shared/bench/seed-reference.sh');
const options = readOptions(
  'Usage: npm run bench:seed -- [options]\n\nTimes the volume seeder against ../shared/bench/seed-reference.sh (target ≤ 2×).',
  sizes(10_000, 1_000_000),
);
const log = (message: string): void => console.log(message);

async function run(cleanup: Cleanup): Promise<boolean> {
  const { users, posts } = options;
  log('starting PostgreSQL and migrating…');
  const server = await startDatabase(cleanup, false);
  log(`seeding ${users} users and ${posts} posts through sequelize-cli…`);
  const seederS = await seedVolume(server.url, users, posts);
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
  const rate = Math.round((users + posts) / seederS).toLocaleString('en-US');
  log(`\nseeder (sequelize-cli, process start to exit): ${seederS.toFixed(2)} s, ${rate} rows/s`);
  log(
    `database: ${counted.users} users, ${counted.posts} posts, ${counted.bad} posts_count mismatches, ` +
      `${counted.visible}% of the posts pages all-visible`,
  );
  const psql = (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir && fs.existsSync(path.join(dir, 'psql')));
  if (!psql) {
    log('psql is not on PATH: the reference script was not run');
    return true;
  }
  log(`\nreference: ${REFERENCE} ${users} ${posts}`);
  const env = { DATABASE_URL: server.url, SEED_USERS: String(users), SEED_POSTS: String(posts) };
  const referenceS = await timed('bash', [REFERENCE, String(users), String(posts)], env);
  log(
    `\nseeder ${seederS.toFixed(2)} s vs reference ${referenceS.toFixed(2)} s: ratio ${(seederS / referenceS).toFixed(2)}× (target ≤ 2×)`,
  );
  return true;
}

runScript('bench:seed', run);
