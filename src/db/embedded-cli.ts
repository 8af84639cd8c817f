// `npm run db`: runs the embedded PostgreSQL alone, for sequelize-cli commands or psql,
// until SIGTERM or SIGINT (Ctrl-C). `npm start` runs the same server itself; don't run
// both at once.
import { loadConfig } from '../config.js';
import { startEmbeddedPostgres } from './embedded.js';

async function main(): Promise<void> {
  // Kept until the server is up: stopping half-started would leave it behind.
  let stopRequested = false;
  let stop = (): void => {
    stopRequested = true;
  };
  process.once('SIGINT', () => stop());
  process.once('SIGTERM', () => stop());

  const config = loadConfig();
  const db = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedDbPort });
  console.log(`Embedded PostgreSQL is running: ${db.url}`);
  console.log(`Its data is in ${db.directory}. sequelize-cli commands in this folder now reach it. Ctrl-C stops it.`);
  stop = (): void => {
    db.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  if (stopRequested) stop();
}

main().catch((error: unknown) => {
  console.error(`Cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
