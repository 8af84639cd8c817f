import { inspect } from 'node:util';
import pino, { type Logger } from 'pino';
import type { Config } from '../config.js';

/** JSON lines; in development, readable ones when pino-pretty (a dev dependency) is there. */
export function createLogger(config: Pick<Config, 'env' | 'logLevel'>, destination?: pino.DestinationStream): Logger {
  let pretty = false;
  if (config.env === 'development') {
    try {
      require.resolve('pino-pretty');
      pretty = true;
    } catch {
      // A production install without dev dependencies: JSON it is.
    }
  }
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    // Behind the request serializers (src/app.ts), which keep headers out: whatever else
    // logs an object holding one of these never writes it. A failed query's bound
    // parameters may hold a password hash or an email address.
    redact: {
      paths: [
        'req.headers.cookie',
        'req.headers.authorization',
        'res.headers["set-cookie"]',
        '*.password',
        '*.currentPassword',
        '*.newPassword',
        '*._csrf',
        'err.parameters',
        'err.original.parameters',
        'err.parent.parameters',
      ],
      censor: '[redacted]',
    },
    transport:
      pretty && !destination
        ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } }
        : undefined,
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Libraries that print their own warnings and errors (Sequelize on a failed rollback, a
 * session store's default) write them to the log as JSON lines like everything else, so
 * that nothing, a stack least of all, goes out beside the structured log.
 */
export function routeConsoleToLog(logger: Logger): void {
  const write =
    (level: 'warn' | 'error') =>
    (...args: unknown[]): void => {
      const err = args.find((arg) => arg instanceof Error);
      const text = args
        .filter((arg) => !(arg instanceof Error))
        .map((arg) => (typeof arg === 'string' ? arg : inspect(arg)));
      logger[level]({ err, source: 'console' }, text.join(' ') || err?.message || '');
    };
  console.warn = write('warn');
  console.error = write('error');
}
