// Read replicas on one machine, to try by hand: `npm run replicas`.
//   1. An embedded PostgreSQL primary in a temporary directory: migrated, the demo data.
//   2. A hot standby of it, streaming on another loopback port, applying changes
//      REPLICA_DELAY_MS late (default 0; try 3000 to watch read-your-writes at work).
//   3. The app (src/server.ts) on PORT (3000) with DATABASE_URL = the primary and
//      DATABASE_REPLICA_URLS = the standby. Log in as the demo admin and write: your pages
//      show your write at once, while a private window shows it only after the delay.
//      GET /readyz lists the standby.
// Ctrl-C stops the app, the standby and the primary, and removes the directory.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { DEMO_ADMIN_USERNAME, DEMO_PASSWORD } from '../src/db/demo.js';
import { startStandby } from '../test/support/standby.js';
import { freePort } from '../test/support/ports.js';
import { migrateDatabase } from '../test/support/postgres.js';
import { seedDemo } from '../bench/database.js';

const ROOT = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const applyDelayMs = Number(process.env.REPLICA_DELAY_MS ?? 0);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-and-posts-replicas-'));
  fs.chmodSync(dataDir, 0o755);
  const primary = await startEmbeddedPostgres({ dataDir, port: await freePort() });
  await migrateDatabase(primary.url);
  await seedDemo(primary.url);
  const standby = await startStandby({ url: primary.url, dataDir }, { applyDelayMs });
  console.log(`primary:  ${primary.url}\nstandby:  ${standby.url} (applying ${applyDelayMs} ms late)`);

  const app = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    stdio: 'inherit',
    // Its own process group: Ctrl-C reaches this script, which stops everything in order.
    detached: true,
    env: { ...process.env, DATABASE_URL: primary.url, DATABASE_REPLICA_URLS: standby.url },
  });
  console.log(`demo admin: "${DEMO_ADMIN_USERNAME}" / "${DEMO_PASSWORD}"`);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (app.exitCode === null) {
      const exited = new Promise((resolve) => app.once('exit', resolve));
      app.kill('SIGTERM');
      await exited;
    }
    await standby.dispose();
    await primary.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  app.once('exit', () => void stop());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
