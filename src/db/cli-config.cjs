// The database sequelize-cli works on: DATABASE_URL when set, otherwise the embedded
// PostgreSQL that `npm start` (or `npm run db`) is running, whose address it records in
// .data/postgres.json. CommonJS because sequelize-cli loads this file itself.
const fs = require('node:fs');
const path = require('node:path');

function databaseUrl() {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const dataDir = path.resolve(process.env.DATA_DIR || '.data');
  const infoFile = path.join(dataDir, 'postgres.json');
  try {
    return JSON.parse(fs.readFileSync(infoFile, 'utf8')).url;
  } catch {
    throw new Error(
      `No database to work on: set DATABASE_URL, or start the embedded PostgreSQL with ` +
        `\`npm start\` or \`npm run db\` (it records its address in ${infoFile}).`,
    );
  }
}

const settings = {
  url: databaseUrl(),
  dialect: 'postgres',
  logging: false,
  migrationStorageTableName: 'SequelizeMeta',
  // Seeders are not recorded (sequelize-cli's default): each is idempotent instead, so
  // db:seed:all can always run again, also after db:migrate:undo:all rebuilt the tables
  // (a record of past seeding would outlive the data it describes).
  seederStorage: 'none',
};

module.exports = { development: settings, test: settings, production: settings };
