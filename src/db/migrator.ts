import fs from 'node:fs';
import path from 'node:path';
import { type QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';

const ROOT = path.resolve(__dirname, '../..');

interface SchemaScript {
  up(queryInterface: QueryInterface, sequelize: typeof Sequelize): Promise<unknown>;
  down(queryInterface: QueryInterface, sequelize: typeof Sequelize): Promise<unknown>;
}

/**
 * Runs the same migration and seeder files as sequelize-cli, recorded in the same tables
 * (SequelizeMeta, SequelizeData) under the same names, so the app and the CLI always
 * agree on what has run.
 */
function createUmzug(sequelize: Sequelize, folder: 'migrations' | 'seeders') {
  const dir = path.join(ROOT, folder);
  const queryInterface = sequelize.getQueryInterface();
  const table = folder === 'migrations' ? 'SequelizeMeta' : 'SequelizeData';
  return new Umzug({
    migrations: () =>
      fs
        .readdirSync(dir)
        .filter((file) => /^(?!.*\.d\.ts$).*\.(cjs|js|cts|ts)$/.test(file))
        .sort()
        .map((name) => {
          // Loaded as sequelize-cli loads them, so both run the very same modules.
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const script = require(path.join(dir, name)) as SchemaScript;
          return {
            name,
            up: () => script.up(queryInterface, Sequelize),
            down: () => script.down(queryInterface, Sequelize),
          };
        }),
    // The table name is explicit: the instance's `underscored` option would otherwise
    // turn it into sequelize_meta, a table sequelize-cli never reads.
    storage: new SequelizeStorage({ sequelize, modelName: table, tableName: table }),
    logger: undefined,
  });
}

export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const done = await createUmzug(sequelize, 'migrations').up();
  return done.map((m) => m.name);
}

export async function pendingMigrations(sequelize: Sequelize): Promise<string[]> {
  const pending = await createUmzug(sequelize, 'migrations').pending();
  return pending.map((m) => m.name);
}

/** Runs the named seeders that have not run yet, recorded as sequelize-cli records them. */
export async function seed(sequelize: Sequelize, names: string[]): Promise<string[]> {
  const seeders = createUmzug(sequelize, 'seeders');
  const pending = new Set((await seeders.pending()).map((m) => m.name));
  const done = await seeders.up({ migrations: names.filter((name) => pending.has(name)) });
  return done.map((m) => m.name);
}
