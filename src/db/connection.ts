// A PostgreSQL URL turned into connection settings with libpq's meanings of sslmode, for
// every path that connects: the app's Sequelize and its replicas, the session store, the
// replica checks, sequelize-cli, the CLI scripts, the seeders and the benchmarks. None of
// them hands a URL to pg itself: pg-connection-string reads sslmode=require as verify-full.
//
// sslmode, as libpq (and so psql) reads it:
//   disable      plain
//   allow,       TLS when the server offers it, otherwise plain (allow is taken as prefer);
//   prefer       prefer is the default when the URL has no sslmode
//   require      TLS, the certificate not checked
//   verify-ca    TLS, the certificate signed by the CA in sslrootcert, any host name
//   verify-full  TLS, signed by that CA (or one Node.js trusts: no sslrootcert, or
//                sslrootcert=system) and issued for the URL's host
// As in libpq, an sslrootcert file is checked against in every mode that uses TLS. Unlike
// libpq, a TLS attempt that fails its checks is not retried plain.
//
// pg cannot fall back to plain by itself (an 'N' to its SSLRequest is an error), so before
// a connection opens, the server is asked first: the 8-byte SSLRequest, then, on 'S', the
// TLS handshake with the same checks. Its answer picks plain or TLS, and a certificate that
// fails becomes an error naming the host, sslmode and sslrootcert. An answer is kept for a
// minute per server and mode; a failure is not kept.
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import {
  ConnectionError,
  ConnectionRefusedError,
  HostNotFoundError,
  HostNotReachableError,
  InvalidConnectionError,
} from 'sequelize';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Whether and how one server is reached over TLS. */
export interface SslPlan {
  /** What is done: libpq's rules applied (require with sslrootcert checks as verify-ca). */
  readonly mode: SslMode;
  /** How the URL put it, for messages: "sslmode=require", or the default. */
  readonly asGiven: string;
  /** sslrootcert as given (a file or "system"), for messages. */
  readonly rootCert: string | undefined;
  /** tls.connect's options when TLS is used. */
  readonly tls: tls.ConnectionOptions;
}

/** Where, as whom, and how to connect: everything a PostgreSQL URL says. */
export interface DatabaseTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly database: string | undefined;
  /** libpq's `options`, sent at connection start (e.g. "-c search_path=app"). */
  readonly options: string | undefined;
  readonly ssl: SslPlan;
}

/** A URL that cannot be used as given; its message names the variable, never the password. */
export class DatabaseUrlError extends Error {
  override name = 'DatabaseUrlError';
}

/** A TLS connection refused by its own checks (or a server without TLS where TLS is required). */
export class DatabaseTlsError extends Error {
  override name = 'DatabaseTlsError';
}

const PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'options', 'channel_binding'];

const HINTS: Record<string, string> = {
  ssl: 'use sslmode=require (or verify-full) instead of ssl',
  application_name: 'the app names its own sessions (a forced shutdown ends them by that name)',
  connect_timeout: 'set DB_CONNECT_TIMEOUT_MS (milliseconds) instead',
};

/**
 * Reads a postgres:// URL: host, port, user, password and database (percent-decoded), and
 * the TLS plan from sslmode, sslrootcert, sslcert and sslkey (the files are read now).
 * `label` names the URL in errors (the environment variable it came from).
 */
export function parseDatabaseUrl(url: string, label = 'DATABASE_URL'): DatabaseTarget {
  const fail = (problem: string): never => {
    throw new DatabaseUrlError(`${label}: ${problem}`);
  };
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // Never the URL itself in the message: it holds the password.
    fail('is not a valid URL');
  }
  if (!parsed || !/^postgres(ql)?:$/.test(parsed.protocol)) return fail('must be a postgres:// or postgresql:// URL');

  const query = parsed.searchParams;
  for (const name of new Set(query.keys())) {
    if (!PARAMETERS.includes(name)) {
      fail(`the parameter "${name}" is not supported (${HINTS[name] ?? `supported: ${PARAMETERS.join(', ')}`})`);
    }
    if (query.getAll(name).length > 1) fail(`${name} is given more than once`);
  }
  const param = (name: string): string | undefined => query.get(name) ?? undefined;

  const channelBinding = param('channel_binding');
  if (channelBinding === 'require') {
    fail(
      'channel_binding=require cannot be honoured (pg does not bind channels through Sequelize): ' +
        'remove it, and use sslmode=verify-full to be sure of the server',
    );
  }
  if (channelBinding !== undefined && channelBinding !== 'prefer' && channelBinding !== 'disable') {
    fail(`channel_binding "${channelBinding}" is not one of disable, prefer`);
  }

  const read = (name: string, file: string, mark: RegExp, kind: string): string => {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      fail(`cannot read ${name}=${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    if (!mark.test(text)) fail(`${name}=${file} holds no PEM ${kind}`);
    return text;
  };

  const given = param('sslmode');
  if (given !== undefined && !(SSL_MODES as readonly string[]).includes(given)) {
    fail(`sslmode "${given}" is not one of ${SSL_MODES.join(', ')}`);
  }
  const rootCert = param('sslrootcert');
  const system = rootCert === 'system';
  // libpq: sslrootcert=system makes verify-full the default, and refuses any weaker mode.
  let mode = (given ?? (system ? 'verify-full' : 'prefer')) as SslMode;
  if (system && mode !== 'verify-full') {
    fail(`sslmode=${mode} cannot be used with sslrootcert=system (use verify-full)`);
  }
  if (mode === 'require' && rootCert !== undefined) mode = 'verify-ca';
  if (mode === 'verify-ca' && rootCert === undefined) {
    fail('sslmode=verify-ca needs sslrootcert=<CA file>: without it any certificate from a public CA would pass');
  }

  const certFile = param('sslcert');
  const keyFile = param('sslkey');
  if ((certFile === undefined) !== (keyFile === undefined)) fail('sslcert and sslkey go together');
  const client: tls.ConnectionOptions =
    certFile !== undefined && keyFile !== undefined
      ? {
          cert: read('sslcert', certFile, /-----BEGIN CERTIFICATE-----/, 'certificate'),
          key: read('sslkey', keyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key'),
        }
      : {};
  // As libpq: a CA file given is checked against in every mode that uses TLS.
  const ca =
    rootCert !== undefined && !system && mode !== 'disable'
      ? read('sslrootcert', rootCert, /-----BEGIN CERTIFICATE-----/, 'certificate')
      : undefined;
  let options: tls.ConnectionOptions;
  if (mode === 'verify-full') options = { ...client, ...(ca === undefined ? {} : { ca }) };
  // The chain alone: any host name is accepted.
  else if (ca !== undefined) options = { ...client, ca, checkServerIdentity: () => undefined };
  else options = { ...client, rejectUnauthorized: false };

  const decode = (text: string): string | undefined => {
    try {
      return text === '' ? undefined : decodeURIComponent(text);
    } catch {
      return fail('has a % not followed by two hex digits (write % itself as %25)');
    }
  };
  return {
    host: decode(parsed.hostname)?.replace(/^\[(.*)\]$/, '$1') ?? 'localhost',
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    user: decode(parsed.username),
    password: decode(parsed.password),
    database: decode(parsed.pathname.slice(1)),
    options: param('options'),
    ssl: {
      mode,
      asGiven:
        given === undefined
          ? system
            ? 'sslmode=verify-full (the default with sslrootcert=system)'
            : 'sslmode=prefer (the default)'
          : `sslmode=${given}`,
      rootCert,
      tls: options,
    },
  };
}

/** What is wrong with `url` for parseDatabaseUrl, or undefined: for validating the configuration. */
export function databaseUrlProblem(url: string, label: string): string | undefined {
  try {
    parseDatabaseUrl(url, label);
    return undefined;
  } catch (error) {
    if (error instanceof DatabaseUrlError) return error.message;
    throw error;
  }
}

/** `host:port` of a target, for messages and logs (never the password). */
export function serverName(target: Pick<DatabaseTarget, 'host' | 'port'>): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

// ---------------------------------------------------------------------------------------
// Deciding TLS for a connection about to open

// The SSLRequest message: its length (8), then the code 80877103 (1234 and 5679 in 16 bits each).
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const REMEMBER_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;

const CA_FAILURES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_CHAIN_TOO_LONG',
]);

function tlsFailure(host: string, port: number, plan: SslPlan, what: string, cause?: unknown): DatabaseTlsError {
  const details = cause instanceof Error ? `; ${cause.message}` : '';
  return new DatabaseTlsError(`TLS to ${serverName({ host, port })} failed: ${what} (${plan.asGiven}${details})`, {
    cause,
  });
}

/** Node's verification error as what it means for this URL. */
function explainTlsError(host: string, port: number, plan: SslPlan, error: unknown): DatabaseTlsError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (CA_FAILURES.has(code)) {
    const by =
      plan.rootCert !== undefined && plan.rootCert !== 'system'
        ? `the CA in sslrootcert=${plan.rootCert}`
        : "a CA Node.js trusts (give the server's CA with sslrootcert=/path/to/ca.pem)";
    return tlsFailure(host, port, plan, `the server's certificate is not signed by ${by}`, error);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = /altnames: (.*)$|list: (.*)$/.exec((error as { reason?: string }).reason ?? '');
    const listed = names ? ` (it is for ${names[1] ?? names[2]})` : '';
    return tlsFailure(host, port, plan, `the server's certificate is not for ${host}${listed}`, error);
  }
  if (code === 'CERT_HAS_EXPIRED') return tlsFailure(host, port, plan, "the server's certificate has expired", error);
  if (code === 'CERT_NOT_YET_VALID') {
    return tlsFailure(host, port, plan, "the server's certificate is not valid yet", error);
  }
  return tlsFailure(host, port, plan, 'the TLS handshake did not succeed', error);
}

/** The first byte the server sends; a server that hangs up first fails like pg's connection. */
function firstByte(socket: net.Socket, signal: AbortSignal): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const onData = (data: Buffer): void => {
      settle();
      resolve(data[0]);
    };
    const onClose = (): void => {
      settle();
      reject(new Error('Connection terminated unexpectedly'));
    };
    const onAbort = (): void => {
      settle();
      reject(signal.reason as Error);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    signal.addEventListener('abort', onAbort);
  });
}

/**
 * Asks the server at host:port whether it speaks TLS, and when it does, shakes hands with
 * the plan's checks: true for TLS, false for plain. Rejects as a connection attempt would
 * (refused, unreachable, timed out), or with a DatabaseTlsError.
 */
async function askServer(host: string, port: number, plan: SslPlan, timeoutMs: number): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  const socket = net.connect({ host, port });
  // Errors after the answer (a reset while closing) must not go unhandled.
  socket.on('error', () => undefined);
  let open: net.Socket = socket;
  let handshaking = false;
  try {
    await once(socket, 'connect', { signal });
    socket.write(SSL_REQUEST);
    const answer = await firstByte(socket, signal);
    if (answer === 0x4e /* N */) {
      if (plan.mode === 'allow' || plan.mode === 'prefer') return false;
      throw tlsFailure(host, port, plan, 'the server does not offer TLS');
    }
    if (answer !== 0x53 /* S */) throw tlsFailure(host, port, plan, 'the server answered the TLS request oddly');
    handshaking = true;
    // As pg does: the host name for the checks, and as SNI unless it is an address.
    const secure = tls.connect({ socket, host, ...(net.isIP(host) ? {} : { servername: host }), ...plan.tls });
    secure.on('error', () => undefined);
    open = secure;
    await once(secure, 'secureConnect', { signal });
    return true;
  } catch (error) {
    if (signal.aborted) {
      throw Object.assign(new Error(`timeout expired connecting to ${serverName({ host, port })}`), {
        code: 'ETIMEDOUT',
      });
    }
    if (handshaking && !(error instanceof DatabaseTlsError)) throw explainTlsError(host, port, plan, error);
    throw error;
  } finally {
    // Closed before any startup message: PostgreSQL logs nothing for such a visit.
    open.end();
    open.unref();
  }
}

const answers = new Map<string, { tls: Promise<boolean>; until: number }>();

/**
 * pg's `ssl` option for a connection about to open to `host:port` under `plan`: false for
 * plain, otherwise a fresh copy of the TLS options (pg changes the object it is given).
 */
async function decideSsl(
  host: string,
  port: number,
  plan: SslPlan,
  timeoutMs: number | undefined,
): Promise<false | tls.ConnectionOptions> {
  if (plan.mode === 'disable') return false;
  const key = `${host}\0${port}\0${plan.mode}\0${plan.rootCert ?? ''}`;
  let entry = answers.get(key);
  if (!entry || entry.until < Date.now()) {
    const asked = askServer(host, port, plan, timeoutMs || DEFAULT_TIMEOUT_MS);
    const current = { tls: asked, until: Infinity };
    entry = current;
    answers.set(key, current);
    // A failure is not remembered: the next connection asks again.
    void asked.then(
      () => {
        current.until = Date.now() + REMEMBER_MS;
      },
      () => {
        if (answers.get(key) === current) answers.delete(key);
      },
    );
  }
  return (await entry.tls) ? { ...plan.tls } : false;
}

/** pg's `ssl` option for the next connection to `target` (see decideSsl). */
function sslFor(target: DatabaseTarget, timeoutMs?: number): Promise<false | tls.ConnectionOptions> {
  return decideSsl(target.host, target.port, target.ssl, timeoutMs);
}

// ---------------------------------------------------------------------------------------
// node-postgres

function clientSettings(target: DatabaseTarget): pg.ClientConfig {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ...(target.options === undefined ? {} : { options: target.options }),
  };
}

/** A pg.Client's settings for `target`, TLS decided; `extra` adds timeouts, a name… */
export async function clientConfig(target: DatabaseTarget, extra: pg.ClientConfig = {}): Promise<pg.ClientConfig> {
  return { ...clientSettings(target), ...extra, ssl: await sslFor(target, extra.connectionTimeoutMillis) };
}

type ConnectCallback = (
  err: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

/** A pg.Pool that decides TLS before a checkout that opens a connection, so that the client uses it. */
class TlsDecidingPool extends pg.Pool {
  constructor(
    private readonly target: DatabaseTarget,
    config: pg.PoolConfig,
  ) {
    // Replaced before the first connection opens; TLS unless disabled, should anything open one sooner.
    super({ ...config, ssl: target.ssl.mode === 'disable' ? false : { ...target.ssl.tls } });
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    // Only a checkout that opens a connection needs it: pg-pool hands out idle ones first.
    const opens = this.idleCount === 0 && this.totalCount < (this.options.max ?? 10);
    const ready = opens
      ? sslFor(this.target, this.options.connectionTimeoutMillis).then((ssl) => {
          this.options.ssl = ssl;
        })
      : Promise.resolve();
    if (!callback) return ready.then(() => super.connect());
    void ready.then(
      () => super.connect(callback),
      (error: Error) => callback(error, undefined, () => undefined),
    );
  }
}

/** A pg.Pool on `target` (its `config` adds size, timeouts, a name…), TLS decided per connection. */
export function createPool(target: DatabaseTarget, config: pg.PoolConfig = {}): pg.Pool {
  return new TlsDecidingPool(target, { ...clientSettings(target), ...config });
}

// ---------------------------------------------------------------------------------------
// Sequelize (the app's, and sequelize-cli's through src/db/cli-config.cjs)

export interface SequelizeConnection {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  database: string | undefined;
  /** `sslPlan` is read by decideTlsBeforeConnect; `ssl` is what it decided. */
  dialectOptions: { ssl: false | tls.ConnectionOptions; sslPlan: SslPlan; options?: string };
}

/** Sequelize's settings for one server; give Sequelize decideTlsBeforeConnect as its beforeConnect hook. */
export function sequelizeConnection(target: DatabaseTarget): SequelizeConnection {
  return {
    host: target.host,
    port: target.port,
    username: target.user,
    password: target.password,
    database: target.database,
    dialectOptions: {
      ssl: false,
      sslPlan: target.ssl,
      ...(target.options === undefined ? {} : { options: target.options }),
    },
  };
}

/** The error Sequelize itself would give for a connection that failed this way. */
function asSequelizeError(error: Error): ConnectionError {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ECONNREFUSED':
      return new ConnectionRefusedError(error);
    case 'ENOTFOUND':
      return new HostNotFoundError(error);
    case 'EHOSTUNREACH':
      return new HostNotReachableError(error);
    case 'EINVAL':
      return new InvalidConnectionError(error);
    default:
      return new ConnectionError(error);
  }
}

/**
 * Sequelize's beforeConnect hook: sets `dialectOptions.ssl` of the connection about to open
 * (the primary's, or one replica's) from its `sslPlan`.
 */
export async function decideTlsBeforeConnect(config: {
  host?: string;
  port?: string | number;
  dialectOptions?: object;
}): Promise<void> {
  const dialectOptions = config.dialectOptions as { sslPlan?: SslPlan; connectionTimeoutMillis?: number } | undefined;
  if (!dialectOptions?.sslPlan) return;
  try {
    const ssl = await decideSsl(
      config.host ?? 'localhost',
      Number(config.port ?? 5432),
      dialectOptions.sslPlan,
      dialectOptions.connectionTimeoutMillis,
    );
    config.dialectOptions = { ...dialectOptions, ssl };
  } catch (error) {
    throw asSequelizeError(error as Error);
  }
}
