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
  return new Umzug({
    migrations: () =>
      fs
        .readdirSync(dir)
        .filter((file) => /^(?!.*\.d\.ts$).*\.(cjs|js|cts|ts)$/.test(file))
        .sort()
        .map((name) => {
          const script = require(path.join(dir, name)) as SchemaScript;
          return {
            name,
            up: () => script.up(queryInterface, Sequelize),
            down: () => script.down(queryInterface, Sequelize),
          };
        }),
    storage: new SequelizeStorage({
      sequelize,
      modelName: folder === 'migrations' ? 'SequelizeMeta' : 'SequelizeData',
    }),
    logger: undefined,
  });
}

export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const done = await createUmzug(sequelize, 'migrations').up();
  return done.map((m) => m.name);
}

export async function seed(sequelize: Sequelize): Promise<string[]> {
  const done = await createUmzug(sequelize, 'seeders').up();
  return done.map((m) => m.name);
}
