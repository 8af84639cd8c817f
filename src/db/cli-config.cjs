// The database sequelize-cli works on: DATABASE_URL when set, otherwise the embedded
// PostgreSQL that `npm start` (or `npm run db`) is running, whose address it records in
// .data/postgres.json. CommonJS because sequelize-cli loads this file itself.
const fs = require('node:fs');
const path = require('node:path');
// TypeScript: .sequelizerc registered tsx before sequelize-cli loads this file.
const { decideTlsBeforeConnect, parseDatabaseUrl, sequelizeConnection } = require('./connection.ts');

function databaseUrl() {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const dataDir = path.resolve(process.env.DATA_DIR || '.data');
  const infoFile = path.join(dataDir, 'postgres.json');
  try {
    return String(JSON.parse(fs.readFileSync(infoFile, 'utf8')).url);
  } catch {
    throw new Error(
      `No database to work on: set DATABASE_URL, or start the embedded PostgreSQL with ` +
        `\`npm start\` or \`npm run db\` (it records its address in ${infoFile}).`,
    );
  }
}

const settings = {
  // Host, user… and the TLS plan, never `url`: sequelize-cli would parse it itself and drop
  // its query string (sslmode, sslrootcert).
  ...sequelizeConnection(parseDatabaseUrl(databaseUrl())),
  hooks: { beforeConnect: decideTlsBeforeConnect },
  dialect: 'postgres',
  logging: false,
  migrationStorageTableName: 'SequelizeMeta',
  // Seeders are not recorded (sequelize-cli's default): each is idempotent instead, so
  // db:seed:all can always run again, also after db:migrate:undo:all rebuilt the tables
  // (a record of past seeding would outlive the data it describes).
  seederStorage: 'none',
};

// databaseUrl: for the CLI scripts that use the same database (src/cli/).
module.exports = { development: settings, test: settings, production: settings, databaseUrl };
