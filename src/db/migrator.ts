import fs from 'node:fs';
import path from 'node:path';
import { type QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';

const ROOT = path.resolve(__dirname, '../..');

interface SchemaScript {
  up(queryInterface: QueryInterface, sequelize: typeof Sequelize): Promise<unknown>;
  down(queryInterface: QueryInterface, sequelize: typeof Sequelize): Promise<unknown>;
}

/** The migration or seeder files, in run order; each module is loaded only when it runs. */
function scriptsIn(folder: 'migrations' | 'seeders'): { name: string; load: () => SchemaScript }[] {
  const dir = path.join(ROOT, folder);
  return fs
    .readdirSync(dir)
    .filter((file) => /^(?!.*\.d\.ts$).*\.(cjs|js|cts|ts)$/.test(file))
    .sort()
    .map((name) => ({
      name,
      // Loaded as sequelize-cli loads them, so both run the very same modules.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      load: () => require(path.join(dir, name)) as SchemaScript,
    }));
}

/**
 * Runs the same migration files as sequelize-cli, recorded in the same table
 * (SequelizeMeta) under the same names, so the app and the CLI always agree on what ran.
 */
function createMigrator(sequelize: Sequelize) {
  const queryInterface = sequelize.getQueryInterface();
  return new Umzug({
    migrations: () =>
      scriptsIn('migrations').map(({ name, load }) => ({
        name,
        up: () => load().up(queryInterface, Sequelize),
        down: () => load().down(queryInterface, Sequelize),
      })),
    // The table name is explicit: the instance's `underscored` option would otherwise
    // turn it into sequelize_meta, a table sequelize-cli never reads.
    storage: new SequelizeStorage({ sequelize, modelName: 'SequelizeMeta', tableName: 'SequelizeMeta' }),
    logger: undefined,
  });
}

export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const done = await createMigrator(sequelize).up();
  return done.map((m) => m.name);
}

export async function pendingMigrations(sequelize: Sequelize): Promise<string[]> {
  const pending = await createMigrator(sequelize).pending();
  return pending.map((m) => m.name);
}

/** Runs the named seeders as `sequelize-cli db:seed` does: unrecorded, each idempotent. */
export async function runSeeders(sequelize: Sequelize, names: string[]): Promise<void> {
  const queryInterface = sequelize.getQueryInterface();
  for (const { name, load } of scriptsIn('seeders')) {
    if (names.includes(name)) await load().up(queryInterface, Sequelize);
  }
}
