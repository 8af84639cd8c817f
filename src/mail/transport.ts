import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

/** Where mails go: an SMTP server, a folder of .eml files (development), or nowhere yet. */
export type MailSetting = { kind: 'smtp'; url: string } | { kind: 'folder'; dir: string } | { kind: 'off' };

export interface OutgoingMail {
  /** The outbox row's id: the Message-ID is made from it, so a mail sent twice is one mail to a client. */
  id: number;
  to: string;
  subject: string;
  text: string;
}

export interface MailTransport {
  /** For the banner and the log: where mails go (never the SMTP password). */
  readonly description: string;
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

// Bounds on one delivery: the sender holds the outbox row's lock while it talks to the
// server, and PostgreSQL ends a transaction left idle for long (idle_in_transaction_session_timeout).
const SMTP_TIMEOUTS = { connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 10_000 };

function messageOf(mail: OutgoingMail, from: string) {
  const domain = /@([^>\s]+)>?$/.exec(from)?.[1] ?? 'localhost';
  return { from, to: mail.to, subject: mail.subject, text: mail.text, messageId: `<outbox-${mail.id}@${domain}>` };
}

export function createMailTransport(setting: MailSetting, from: string): MailTransport | undefined {
  if (setting.kind === 'off') return undefined;
  if (setting.kind === 'smtp') {
    const url = new URL(setting.url);
    const transporter = nodemailer.createTransport({ url: setting.url, ...SMTP_TIMEOUTS });
    return {
      description: `SMTP server ${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`,
      send: async (mail) => void (await transporter.sendMail(messageOf(mail, from))),
      close: () => transporter.close(),
    };
  }
  // Per mail, the message as an SMTP server would receive it (NNNNNN.eml, for a mail client)
  // and the same as plain text (NNNNNN.txt, whose links are not wrapped, to read in a
  // terminal); each written aside and renamed, the .eml last, so a reader never sees half
  // a file, and a mail sent again replaces itself.
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const write = async (file: string, content: string | Buffer): Promise<void> => {
    await fs.writeFile(`${file}.tmp`, content);
    await fs.rename(`${file}.tmp`, file);
  };
  return {
    description: `the folder ${setting.dir}`,
    async send(mail) {
      const info = await builder.sendMail(messageOf(mail, from));
      await fs.mkdir(setting.dir, { recursive: true });
      const name = path.join(setting.dir, String(mail.id).padStart(6, '0'));
      await write(`${name}.txt`, `From: ${from}\nTo: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.text}`);
      await write(`${name}.eml`, info.message as Buffer);
    },
    close: () => undefined,
  };
}
