// `npm run posts:render`: stores the HTML and excerpt of every post the current renderer
// has not stored yet (after an upgrade that changed the renderer, or rows bulk-loaded by the
// volume seeder), in batches, each one statement; until then such posts are rendered on
// every read. Safe to run while the app serves, and again: it only does what is left.
import { loadConfig } from '../config.js';
import { createDatabase } from '../db/database.js';
import { createPostsService } from '../services/posts.service.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CLI's own CommonJS config
const cliConfig = require('../db/cli-config.cjs') as { databaseUrl: () => string };

const BATCH = 500;

async function main(): Promise<void> {
  const config = loadConfig();
  const db = createDatabase(cliConfig.databaseUrl(), { ...config, dbPoolMax: 1, dbPoolMin: 0 });
  const started = performance.now();
  let rendered = 0;
  try {
    const posts = createPostsService(db.sequelize);
    for (let last: number | undefined = 0; last !== undefined;) {
      const batch = await posts.renderStale(last, BATCH);
      rendered += batch.stored;
      last = batch.lastId;
    }
    // Each stored row is a new version of it: the old ones go, and the table's pages are
    // marked all-visible again, as index-only scans (the profile's activity chart) need.
    if (rendered > 0) await db.sequelize.query('VACUUM (ANALYZE) posts');
  } finally {
    await db.close();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`Stored the HTML and excerpt of ${rendered} posts in ${seconds} s.`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
