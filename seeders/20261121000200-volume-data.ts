// Volume data for load and query-plan work: SEED_USERS users (default 1,000) and SEED_POSTS
// posts (default 20,000), and when asked about SEED_COMMENTS comments and SEED_TAGS tags
// (default none), the same rows for the same SEED. Run it alone:
//   SEED_USERS=10000 SEED_POSTS=1000000 npx sequelize-cli db:seed --seed 20261121000200-volume-data.ts
// Every volume account has a username starting v_ and an address @volume.example.com; the
// undo removes exactly the accounts with both marks, with their posts and sessions.
import crypto from 'node:crypto';
import type pg from 'pg';
import type { QueryInterface } from 'sequelize';
import { hashPassword } from '../src/services/passwords';
import { addComments, addTags, countComments, removeConversation } from './volume/conversation';
import { planVolume, type VolumePlan } from './volume/generate';
import {
  clientOf,
  copyPosts,
  copyUsers,
  countVolumeUsers,
  dropPostsIndexes,
  dropSearchTrigger,
  isBigLoad,
  IS_VOLUME_USER,
  IS_VOLUME_USER_BIND,
  rebuildPostsIndexes,
  reserveIds,
  truncateKeepingRows,
} from './volume/load';
import { assertAllowed, readOptions, skippedUnlessAsked, type VolumeOptions } from './volume/options';
import { createProgress, type Progress } from './volume/progress';

const SEEDER_NAME = '20261121000200-volume-data';

const log = (message: string): void => void process.stderr.write(`${message}\n`);
const seconds = (since: number): string => ((performance.now() - since) / 1000).toFixed(2);

/** Ctrl-C: the connection closes with the process, and PostgreSQL rolls the transaction back. */
function onInterrupt(progress: Progress): () => void {
  const handler = (): void => {
    progress.stop();
    log('\nvolume seed: interrupted; the transaction is rolled back, nothing was added');
    process.exit(130);
  };
  process.once('SIGINT', handler);
  return () => process.removeListener('SIGINT', handler);
}

async function load(
  client: pg.Client,
  options: VolumeOptions,
  plan: VolumePlan,
  passwordHash: string,
): Promise<'added' | 'added frozen' | 'none'> {
  // SHARE ROW EXCLUSIVE keeps every other writer out (the reserved id blocks stay ours) and
  // conflicts with itself, so two seeders cannot both find no volume users.
  await client.query('LOCK TABLE users, posts IN SHARE ROW EXCLUSIVE MODE');
  const existing = await countVolumeUsers(client);
  if (existing > 0) {
    log(`volume seed: ${existing} volume users are already there; nothing added (undo first to reseed)`);
    return 'none';
  }
  await client.query(`SET LOCAL synchronous_commit = off`);
  await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
  const big = await isBigLoad(client, options.posts);
  const firstUserId = await reserveIds(client, 'users', options.users);
  const firstPostId = await reserveIds(client, 'posts', options.posts);

  const progress = createProgress(options.users + options.posts);
  const copying = performance.now();
  const removeInterruptHandler = onInterrupt(progress);
  try {
    await copyUsers(client, plan, firstUserId, passwordHash, progress);
    const rebuild = big ? await dropPostsIndexes(client) : undefined;
    // A bulk load brings the search vectors itself, computed in parallel (see copyPosts).
    const restoreSearchTrigger = big ? await dropSearchTrigger(client) : [];
    if (big) await truncateKeepingRows(client);
    const commentCounts = await countComments(client, options.seed, options.comments, options.posts);
    await copyPosts(client, options.seed, plan, { firstUserId, firstPostId }, progress, { bulk: big, commentCounts });
    for (const statement of restoreSearchTrigger) await client.query(statement);
    progress.stop();
    log(`volume seed: ${options.users + options.posts} rows copied in ${seconds(copying)} s`);
    if (rebuild) {
      log('volume seed: building the posts keys and indexes…');
      const began = performance.now();
      await rebuildPostsIndexes(client, rebuild);
      log(`volume seed: keys and indexes built in ${seconds(began)} s`);
    }
  } finally {
    progress.stop();
    removeInterruptHandler();
  }
  const conversation = { firstUserId, users: options.users, firstPostId, posts: options.posts };
  const comments = await addComments(client, options.seed, options.comments, conversation);
  const pairs = await addTags(client, options.seed, options.tags, conversation);
  if (comments > 0 || pairs > 0) log(`volume seed: ${comments} comments, ${pairs} post tags added`);
  // Fresh statistics for the planner, in the same transaction: the first queries plan well.
  await client.query('ANALYZE users, posts, comments, tags, post_tags');
  return big ? 'added frozen' : 'added';
}

export async function up(queryInterface: QueryInterface): Promise<void> {
  const options = readOptions(process.env);
  if (skippedUnlessAsked(SEEDER_NAME, process.argv, process.env)) {
    log('volume seed: skipped, not asked for by name (run npm run db:seed:volume, or set SEED_USERS/SEED_POSTS)');
    return;
  }
  const started = performance.now();
  // Nobody is meant to log in as a volume user: one hash of a password nobody ever sees.
  const passwordHash = await hashPassword(crypto.randomBytes(32).toString('base64url'));
  const plan = planVolume(options.seed, options.users, options.posts);

  const sequelize = queryInterface.sequelize;
  const added = await sequelize.transaction((transaction) => load(clientOf(transaction), options, plan, passwordHash));
  if (added === 'none') return;
  if (added === 'added') {
    // A small load went in unfrozen. After the commit, so it sees the rows as visible to
    // all: sets the visibility map (and hint bits) now rather than when autovacuum,
    // throttled, gets there later. Until then counting the published posts (/posts) must
    // visit the heap, not only the index.
    const vacuumed = performance.now();
    await sequelize.query('VACUUM posts');
    log(`volume seed: committed; VACUUM posts in ${seconds(vacuumed)} s`);
  }

  const elapsed = (performance.now() - started) / 1000;
  const rows = options.users + options.posts;
  log(
    `seeded ${options.users} users and ${options.posts} posts in ${elapsed.toFixed(2)} s ` +
      `(${Math.round(rows / elapsed).toLocaleString('en-US')} rows/s)`,
  );
}

export async function down(queryInterface: QueryInterface): Promise<void> {
  assertAllowed(process.env);
  const sequelize = queryInterface.sequelize;
  const deleted = await sequelize.transaction(async (transaction) => {
    const client = clientOf(transaction);
    await client.query(
      `DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE ${IS_VOLUME_USER})`,
      IS_VOLUME_USER_BIND,
    );
    // Their comments leave other posts' counts, their posts' tags the tags' counts.
    await removeConversation(client, IS_VOLUME_USER, IS_VOLUME_USER_BIND);
    // Posts first in one set-based statement: faster than the per-user cascade.
    await client.query(
      `DELETE FROM posts WHERE author_id IN (SELECT id FROM users WHERE ${IS_VOLUME_USER})`,
      IS_VOLUME_USER_BIND,
    );
    return (await client.query(`DELETE FROM users WHERE ${IS_VOLUME_USER}`, IS_VOLUME_USER_BIND)).rowCount ?? 0;
  });
  log(`volume seed undone: ${deleted} volume users removed, with their posts and sessions`);
}
