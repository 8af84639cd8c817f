// `npm run db`: runs the embedded PostgreSQL alone, for sequelize-cli commands or psql,
// until Ctrl-C. `npm start` runs the same server itself; don't run both at once.
import { loadConfig } from '../config.js';
import { startEmbeddedPostgres } from './embedded.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const db = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedDbPort });
  console.log(`Embedded PostgreSQL is running: ${db.url}`);
  console.log('sequelize-cli commands in this folder now reach it. Ctrl-C stops it.');
  const stop = (): void => {
    db.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
