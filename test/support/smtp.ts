// A real SMTP server for the tests (the smtp-server package) on a loopback port, keeping every
// message it accepts, parsed; it can stop and start again on its port (a mail server outage).
// And the app's own mail sender on a test app's database, delivering to it.
import type { Logger } from 'pino';
import pino from 'pino';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Database } from '../../src/db/database.js';
import { type MailSender, startMailSender } from '../../src/mail/sender.js';
import { createMailTransport } from '../../src/mail/transport.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  messageId: string;
}

export interface TestSmtp {
  readonly port: number;
  /** SMTP_URL for the app. */
  readonly url: string;
  /** Every mail accepted so far, in order. */
  readonly mails: ReceivedMail[];
  /**
   * The first mail to `to` (whose subject matches, if given) among those accepted, waiting for it if need be;
   * with `skip`, the one after the first `skip` such mails (`skip: mailsTo(to, subject).length`: the next one).
   */
  waitForMail(to: string, options?: { subject?: RegExp; withinMs?: number; skip?: number }): Promise<ReceivedMail>;
  /** The mails to `to` (whose subject matches, if given) accepted so far. */
  mailsTo(to: string, subject?: RegExp): ReceivedMail[];
  /** Stops accepting connections (the port is then refused), and starts again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** The one link to this site a mail holds. */
export function linkIn(mail: ReceivedMail): URL {
  const links = mail.text.match(/https?:\/\/\S+\/(?:password\/reset|email\/confirm)\/\S+/g) ?? [];
  if (links.length !== 1) throw new Error(`expected one link in the mail, found ${links.length}:\n${mail.text}`);
  return new URL(links[0]);
}

export async function startSmtp(): Promise<TestSmtp> {
  const port = await freePort();
  const mails: ReceivedMail[] = [];
  let server: SMTPServer | undefined;
  const listen = async (): Promise<void> => {
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        simpleParser(stream).then(
          (parsed) => {
            for (const recipient of session.envelope.rcptTo) {
              mails.push({
                to: recipient.address,
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                messageId: parsed.messageId ?? '',
              });
            }
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      smtp.once('error', reject);
      smtp.listen(port, '127.0.0.1', () => resolve());
    });
    server = smtp;
  };
  await listen();
  const mailsTo = (to: string, subject?: RegExp): ReceivedMail[] =>
    mails.filter((mail) => mail.to === to && (!subject || subject.test(mail.subject)));
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    waitForMail: (to, options = {}) =>
      waitFor(
        `a mail to ${to}${options.subject ? ` about ${String(options.subject)}` : ''}${options.skip ? ` after ${options.skip}` : ''}`,
        () => mailsTo(to, options.subject)[options.skip ?? 0],
        { withinMs: options.withinMs ?? 10_000, everyMs: 25 },
      ),
    mailsTo,
    async stop() {
      const running = server;
      server = undefined;
      await new Promise<void>((resolve) => (running ? running.close(() => resolve()) : resolve()));
    },
    start: listen,
  };
}

/** The app's mail sender on `db`, delivering to `smtp`, looking every 50 ms; stop() it in the file's teardown. */
export function startTestSender(db: Database, smtp: TestSmtp, logger: Logger = pino({ level: 'silent' })): MailSender {
  const transport = createMailTransport({ kind: 'smtp', url: smtp.url }, 'Users and posts <no-reply@example.test>');
  return startMailSender({ sequelize: db.sequelize, transport: transport!, logger, pollMs: 50 });
}
