// `npm run create-admin -- <username> <email>`: creates an admin account from the shell.
// The password comes from ADMIN_PASSWORD, or is asked for (without echo) on a terminal.
// The database is the one sequelize-cli uses: DATABASE_URL, or the running embedded one.
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { createDatabase } from '../db/database.js';
import { loadConfig } from '../config.js';
import { FieldError } from '../errors.js';
import { USERNAME_PATTERN } from '../models/fields.js';
import { passwordProblem } from '../security/password-policy.js';
import { createUsersService } from '../services/users.service.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CLI's own CommonJS config
const cliConfig = require('../db/cli-config.cjs') as { databaseUrl: () => string };

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function askHidden(question: string): Promise<string> {
  // Echo nothing that is typed: the prompt goes to stderr, the keystrokes nowhere.
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = readline.createInterface({ input: process.stdin, output: silent, terminal: true });
  process.stderr.write(question);
  return new Promise((resolve) =>
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    }),
  );
}

async function readPassword(username: string): Promise<string> {
  if (process.env.ADMIN_PASSWORD) return process.env.ADMIN_PASSWORD;
  if (!process.stdin.isTTY) throw new Error('Set ADMIN_PASSWORD, or run this on a terminal to be asked for it.');
  const password = await askHidden('Password for the new admin: ');
  const problem = passwordProblem(password, username);
  if (problem) throw new Error(problem);
  if ((await askHidden('Repeat it: ')) !== password) throw new Error('The two passwords differ.');
  return password;
}

async function main(): Promise<void> {
  const [rawUsername, rawEmail] = process.argv.slice(2);
  if (!rawUsername || !rawEmail) throw new Error('Usage: npm run create-admin -- <username> <email>');
  const username = rawUsername.trim().toLowerCase();
  const email = rawEmail.trim().toLowerCase();
  if (!USERNAME_PATTERN.test(username)) throw new Error('The username must be 3 to 30 letters, digits or underscores.');
  if (!EMAIL.test(email) || email.length > 254) throw new Error('That is not an email address.');
  const password = await readPassword(username);
  const problem = passwordProblem(password, username);
  if (problem) throw new Error(problem);

  const config = loadConfig();
  const db = createDatabase(cliConfig.databaseUrl(), { ...config, dbPoolMax: 1, dbPoolMin: 0 });
  try {
    const user = await createUsersService(db.sequelize).signUp(
      { username, email, password },
      { role: 'admin', confirmed: true },
    );
    console.log(`Created the admin account "${user.username}" (${user.email}).`);
  } catch (error) {
    if (error instanceof FieldError) throw new Error(error.message, { cause: error });
    throw error;
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
