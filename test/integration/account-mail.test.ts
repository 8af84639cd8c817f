// Account recovery by mail, over HTTP against the in-process app, with a real SMTP server and
// the app's own outbox sender delivering to it: forgotten passwords, rate limits, address
// confirmation, admin-sent reset links, secrets kept out of the logs, and CSRF.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { AppConfig } from '../../src/config.js';
import type { MailSender } from '../../src/mail/sender.js';
import type { User } from '../../src/models/index.js';
import { type Served, serveApp, startTestApp, type TestApp } from '../support/app.js';
import { Visitor } from '../support/browser.js';
import { createUser, hex, PASSWORD, profileOf } from '../support/factories.js';
import type { Reply } from '../support/http.js';
import { linkIn, type ReceivedMail, startSmtp, startTestSender, type TestSmtp } from '../support/smtp.js';
import { scalar, sessionsOf } from '../support/sql.js';
import { waitFor } from '../support/wait.js';

// The app, the SMTP server and the sender are started and stopped here rather than by
// useTestApp, so that the sender stops before the database it reads is dropped.
let started: { app: TestApp; smtp: TestSmtp; sender: MailSender } | undefined;
const current = () => {
  if (!started) throw new Error('the app starts in a before hook');
  return started;
};
const t = {
  get port() {
    return current().app.port;
  },
  get db() {
    return current().app.db;
  },
  get sql() {
    return current().app.sql;
  },
};
const smtp = (): TestSmtp => current().smtp;

// Every line the sender and the second apps of the log test write.
const logLines: string[] = [];
const captured = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });

before(async () => {
  const app = await startTestApp();
  const mailServer = await startSmtp();
  started = { app, smtp: mailServer, sender: startTestSender(app.db, mailServer, captured) };
});

after(async () => {
  if (!started) return;
  await started.sender.stop();
  await started.smtp.stop();
  await started.app.close();
});

const NEW_PASSWORD = 'violet-harbour-lantern-42';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The token of a mailed link (the last segment of its path). */
const tokenOf = (link: string): string => link.split('/').pop()!;

/** The flash messages of a page, as text. */
function flashesIn(html: string): string[] {
  return [...html.matchAll(/<p class="flash flash-\w+" role="\w+">([^<]*)<\/p>/g)].map((match) => match[1]!);
}

/** The message shown at a form field, and that field's input marked invalid. */
function assertFieldError(html: string, field: string, message: RegExp): void {
  const shown = new RegExp(`id="field-${field}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(
    html,
  );
  assert.ok(shown, `no error shown at ${field}`);
  assert.match(shown[1]!, message);
  assert.match(html, new RegExp(`<input id="field-${field}"[^>]*aria-invalid="true"`));
}

/** Waits until the sender has delivered (or at least tried) every mail due in the outbox. */
async function outboxDelivered(): Promise<void> {
  await waitFor(
    'the outbox to be delivered',
    async () =>
      (await scalar<number>(t.sql, 'SELECT count(*)::int FROM mail_outbox WHERE sent_at IS NULL')) === 0
        ? true
        : undefined,
    { withinMs: 10_000, everyMs: 25 },
  );
}

const RESET_SUBJECT = /^Set a new password/;
const CHANGED_SUBJECT = /password was changed/;
const CONFIRM_SUBJECT = /^Confirm your address/;
const CONFIRM_NEW_SUBJECT = /^Confirm your new address/;
const CHANGE_NOTICE_SUBJECT = /^A new address was requested/;

/** Does `action`, then waits for the next mail to `to` about `subject`. */
async function nextMail(to: string, subject: RegExp, action: () => Promise<unknown>): Promise<ReceivedMail> {
  const skip = smtp().mailsTo(to, subject).length;
  await action();
  return smtp().waitForMail(to, { subject, skip });
}

/** Asks for a reset link for `email` as an anonymous visitor on `port`; the reply. */
function askForReset(email: string, port: number = t.port, headers?: Record<string, string>): Promise<Reply> {
  return new Visitor(port).submit('POST', '/password/forgot', { email }, headers ? { headers } : {});
}

/** A reset link mailed to `user`, as its path. */
async function resetLinkFor(user: User): Promise<string> {
  const mail = await nextMail(user.email, RESET_SUBJECT, async () => {
    const res = await askForReset(user.email);
    assert.equal(res.status, 303);
  });
  return linkIn(mail).pathname;
}

const passwordHashOf = (userId: number): Promise<string> =>
  scalar<string>(t.sql, 'SELECT password_hash FROM users WHERE id = $1', [userId]);

interface TokenRow {
  used_at: Date | null;
  email: string | null;
}

const tokenRow = async (token: string): Promise<TokenRow | undefined> =>
  (await t.sql.query<TokenRow>('SELECT used_at, email FROM account_tokens WHERE token_hash = $1', [sha256(token)]))
    .rows[0];

const confirmedAt = (userId: number): Promise<Date | null> =>
  scalar<Date | null>(t.sql, 'SELECT email_confirmed_at FROM users WHERE id = $1', [userId]);

const emailOf = (userId: number): Promise<string> =>
  scalar<string>(t.sql, 'SELECT email FROM users WHERE id = $1', [userId]);

const tokensOf = (userId: number): Promise<number> =>
  scalar<number>(t.sql, 'SELECT count(*)::int FROM account_tokens WHERE user_id = $1', [userId]);

const outboxRowsTo = (email: string): Promise<number> =>
  scalar<number>(t.sql, 'SELECT count(*)::int FROM mail_outbox WHERE recipient = $1', [email]);

/** Whether `login` and `password` log in, through the form. */
async function logsIn(login: string, password: string): Promise<boolean> {
  const res = await new Visitor(t).submit('POST', '/login', { login, password });
  return res.status === 303;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

describe('forgetting the password', () => {
  test('the login page › links to the form that asks for a reset link', async () => {
    const login = await new Visitor(t).get('/login');
    assert.equal(login.status, 200);
    assert.match(login.body, /<a href="\/password\/forgot">Forgot your password\?<\/a>/);
    const form = await new Visitor(t).get('/password/forgot');
    assert.equal(form.status, 200);
    assert.match(form.body, /<form method="post" action="\/password\/forgot"/);
    assert.match(form.body, /name="_csrf" value="[^"]{20,}"/);
    assert.match(form.body, /name="email" type="email"/);
  });

  test('POST /password/forgot with a known and an unknown address › the same answer; only the known one is mailed', async () => {
    const user = await createUser();
    const unknown = `nobody_${hex()}@example.com`;
    const known = new Visitor(t);
    const stranger = new Visitor(t);
    const [toKnown, toUnknown] = [
      await known.submit('POST', '/password/forgot', { email: user.email }),
      await stranger.submit('POST', '/password/forgot', { email: unknown }),
    ];
    assert.equal(toKnown.status, 303);
    assert.equal(toUnknown.status, toKnown.status);
    assert.equal(toKnown.headers.location, '/login');
    assert.equal(toUnknown.headers.location, toKnown.headers.location);
    const [knownPage, unknownPage] = [await known.get('/login'), await stranger.get('/login')];
    const knownFlash = flashesIn(knownPage.body).map((text) => text.replace(user.email, '<address>'));
    const unknownFlash = flashesIn(unknownPage.body).map((text) => text.replace(unknown, '<address>'));
    assert.equal(knownFlash.length, 1);
    assert.match(knownFlash[0]!, /^If an account uses <address>, we have sent it a link/);
    assert.deepEqual(unknownFlash, knownFlash);

    const mail = await smtp().waitForMail(user.email, { subject: RESET_SUBJECT });
    assert.match(linkIn(mail).pathname, /^\/password\/reset\/[\w-]{43}$/);
    assert.match(mail.text, new RegExp(`Hello ${user.displayName},`));
    await outboxDelivered();
    assert.equal(smtp().mailsTo(unknown).length, 0);
    assert.equal(await outboxRowsTo(unknown), 0);
  });

  test('the mailed link › opens the form for a new password of that account, kept out of caches', async () => {
    const user = await createUser();
    const link = await resetLinkFor(user);
    const res = await new Visitor(t).get(link);
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(res.body, /<h1>Set a new password<\/h1>/);
    assert.match(res.body, new RegExp(`<strong>@${user.username}</strong>`));
    assert.ok(res.body.includes(`<form method="post" action="${link}"`));
    assert.match(res.body, /name="password" type="password" value=""/);
  });

  test('a new password against the policy › 422 at the field, not cached, and nothing changes', async () => {
    const user = await createUser();
    const session = await Visitor.loggedIn(t, user);
    const link = await resetLinkFor(user);
    const hashBefore = await passwordHashOf(user.id);
    const refused: [string, string, RegExp][] = [
      ['too short', 'Sh0rt-pw!', /Use at least 10 characters/],
      ['common', 'password123', /one of the most common ones/],
      ['containing the username', `my-${user.username.toUpperCase()}-pw`, /does not contain your username/],
    ];
    for (const [what, password, message] of refused) {
      const res = await new Visitor(t).submit('POST', link, { password });
      assert.equal(res.status, 422, what);
      assert.equal(res.headers['cache-control'], 'no-store', what);
      assertFieldError(res.body, 'password', message);
      assert.ok(!res.body.includes(password), `${what}: the password is echoed back`);
    }
    assert.equal(await passwordHashOf(user.id), hashBefore);
    assert.equal((await tokenRow(tokenOf(link)))?.used_at, null);
    assert.ok(await session.isLoggedIn(), 'a refused password ended a session');
    assert.equal(smtp().mailsTo(user.email, CHANGED_SUBJECT).length, 0);
    assert.equal(await outboxRowsTo(user.email), 1, 'only the reset link was queued');
    // The link still works.
    assert.equal((await new Visitor(t).get(link)).status, 200);
  });

  test('a good new password › 303 to /login; the old password is refused, the new one works; every session ended; a notice mailed', async () => {
    const user = await createUser();
    const sessions = [await Visitor.loggedIn(t, user), await Visitor.loggedIn(t, user)];
    assert.equal(await sessionsOf(t.sql, user.id), 2);
    const link = await resetLinkFor(user);

    const browser = new Visitor(t);
    const notice = await nextMail(user.email, CHANGED_SUBJECT, async () => {
      const res = await browser.submit('POST', link, { password: NEW_PASSWORD });
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/login');
    });
    const next = await browser.get('/login');
    assert.match(
      flashesIn(next.body).join('\n'),
      /Your new password is set, and every session of the account was logged out/,
    );
    assert.match(notice.text, /was just changed, and every session of the account was logged out/);
    assert.ok(!/\/password\/reset\//.test(notice.text), 'the notice holds a reset link');

    assert.equal(await sessionsOf(t.sql, user.id), 0);
    for (const session of sessions) assert.equal(await session.isLoggedIn(), false);
    assert.equal(await logsIn(user.username, PASSWORD), false);
    assert.equal(await logsIn(user.username, NEW_PASSWORD), true);
    assert.equal(await logsIn(user.email, NEW_PASSWORD), true);
  });

  test('a used link › 410 page, for GET and POST; the password stays', async () => {
    const user = await createUser();
    const link = await resetLinkFor(user);
    assert.equal((await new Visitor(t).submit('POST', link, { password: NEW_PASSWORD })).status, 303);
    const hash = await passwordHashOf(user.id);

    const again = await new Visitor(t).get(link);
    assert.equal(again.status, 410);
    assert.match(again.body, /This link was used already: each link works once./);
    assert.ok(!again.body.includes('name="password"'));
    const post = await new Visitor(t).submit('POST', link, { password: 'another-fine-password-7' });
    assert.equal(post.status, 410);
    assert.equal(await passwordHashOf(user.id), hash);
  });

  test('an altered or cut token › 404 page, for GET and POST; nothing changes', async () => {
    const user = await createUser();
    const link = await resetLinkFor(user);
    const token = tokenOf(link);
    const altered = `/password/reset/${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const cut = `/password/reset/${token.slice(0, 20)}`;
    const hash = await passwordHashOf(user.id);
    for (const path of [altered, cut]) {
      const res = await new Visitor(t).get(path);
      assert.equal(res.status, 404, path);
      assert.match(res.body, /This link is not one we sent, or it was cut short./);
      const post = await new Visitor(t).submit('POST', path, { password: NEW_PASSWORD });
      assert.equal(post.status, 404, path);
    }
    assert.equal(await passwordHashOf(user.id), hash);
    assert.equal((await tokenRow(token))?.used_at, null);
  });

  test('an expired link › 410 page, for GET and POST; the password stays', async () => {
    const user = await createUser();
    const link = await resetLinkFor(user);
    const expired = await t.sql.query(
      `UPDATE account_tokens SET expires_at = now() - interval '1 minute' WHERE token_hash = $1`,
      [sha256(tokenOf(link))],
    );
    assert.equal(expired.rowCount, 1);
    const hash = await passwordHashOf(user.id);
    const res = await new Visitor(t).get(link);
    assert.equal(res.status, 410);
    assert.match(res.body, /This link has expired./);
    const post = await new Visitor(t).submit('POST', link, { password: NEW_PASSWORD });
    assert.equal(post.status, 410);
    assert.equal(await passwordHashOf(user.id), hash);
    assert.equal(await logsIn(user.username, PASSWORD), true);
  });

  test('two links › a reset through the later one uses up the earlier one (410)', async () => {
    const user = await createUser();
    const earlier = await resetLinkFor(user);
    const later = await resetLinkFor(user);
    assert.notEqual(earlier, later);
    assert.equal((await new Visitor(t).get(earlier)).status, 200);
    assert.equal((await new Visitor(t).submit('POST', later, { password: NEW_PASSWORD })).status, 303);
    const res = await new Visitor(t).get(earlier);
    assert.equal(res.status, 410);
    assert.match(res.body, /used already/);
    const post = await new Visitor(t).submit('POST', earlier, { password: 'another-fine-password-7' });
    assert.equal(post.status, 410);
    assert.equal(await logsIn(user.username, NEW_PASSWORD), true);
  });

  test('the database › keeps only the hash of a token, and no mail body once sent', async () => {
    const user = await createUser();
    const link = await resetLinkFor(user);
    const token = tokenOf(link);
    assert.equal((await new Visitor(t).submit('POST', link, { password: NEW_PASSWORD })).status, 303);
    await smtp().waitForMail(user.email, { subject: CHANGED_SUBJECT });
    await outboxDelivered();

    const { rows: tokens } = await t.sql.query<{ token_hash: string; text: string }>(
      'SELECT token_hash, account_tokens::text AS text FROM account_tokens WHERE user_id = $1',
      [user.id],
    );
    assert.equal(tokens.length, 1);
    assert.equal(tokens[0]!.token_hash, sha256(token));
    assert.ok(!tokens[0]!.text.includes(token), 'the token is stored');
    const { rows: mails } = await t.sql.query<{
      kind: string;
      body: string | null;
      sent_at: Date | null;
      text: string;
    }>('SELECT kind, body, sent_at, mail_outbox::text AS text FROM mail_outbox WHERE recipient = $1 ORDER BY id', [
      user.email,
    ]);
    assert.deepEqual(
      mails.map((mail) => mail.kind),
      ['password_reset', 'password_changed'],
    );
    for (const mail of mails) {
      assert.ok(mail.sent_at, `${mail.kind} not sent`);
      assert.equal(mail.body, null, `${mail.kind} kept its body`);
      assert.ok(!mail.text.includes(token), `${mail.kind} holds the token`);
    }
    // Anywhere else in the database either.
    const dump = await scalar<string>(
      t.sql,
      `SELECT string_agg(x::text, '') FROM (
         SELECT u::text AS x FROM users u UNION ALL SELECT s::text FROM sessions s
         UNION ALL SELECT r::text FROM rate_limits r) rows`,
    );
    assert.ok(!dump.includes(token), 'the token is stored somewhere');
  });

  test('a known and an unknown address › answered in about the same time', async () => {
    // The work done before the answer is structurally the same for both: the rate limits'
    // counters, the form's validation, a flash message and a redirect. Whether the address has
    // an account is looked up, and a link issued (a transaction more, for a known address),
    // only once the answer is sent; no mail is sent during a request either (the outbox).
    // So the medians differ by noise only; the bound is generous for a shared, busy machine.
    const user = await createUser();
    const unknown = `nobody_${hex()}@example.com`;
    const timed = async (email: string): Promise<number> => {
      const visitor = new Visitor(t);
      const csrf = await visitor.csrfToken();
      const res = await visitor.submit('POST', '/password/forgot', { email }, { csrf });
      assert.equal(res.status, 303);
      return res.ms;
    };
    await timed(user.email);
    await timed(unknown);
    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    for (let i = 0; i < 11; i++) {
      knownMs.push(await timed(user.email));
      unknownMs.push(await timed(unknown));
    }
    const difference = Math.abs(median(knownMs) - median(unknownMs));
    assert.ok(
      difference < 50,
      `medians differ by ${difference.toFixed(1)} ms: known ${knownMs.map(Math.round).join(', ')}; unknown ${unknownMs.map(Math.round).join(', ')}`,
    );
    await outboxDelivered();
  });
});

describe('rate limits on the mails', () => {
  /** Another app on the test database with lowered limits, for `use`, closed afterwards. */
  async function withApp(config: Partial<AppConfig>, use: (app: Served) => Promise<void>): Promise<void> {
    const app = await serveApp(t.db, config);
    try {
      await use(app);
    } finally {
      await app.close();
    }
  }

  test('a third request for one address within the hour › 429, for a known and an unknown address alike', async () => {
    await withApp({ mailLimitPerAddress: 2 }, async (app) => {
      const user = await createUser();
      const unknown = `nobody_${hex()}@example.com`;
      for (const email of [user.email, unknown]) {
        assert.equal((await askForReset(email, app.port)).status, 303, email);
        // The limit holds for the address in any case.
        assert.equal((await askForReset(email.toUpperCase(), app.port)).status, 303, email);
        const third = await askForReset(email, app.port);
        assert.equal(third.status, 429, email);
        assert.match(String(third.headers['retry-after']), /^\d+$/);
        assert.match(third.body, /<p class="status-code">429<\/p>/);
      }
      // The links are issued once the answers are sent.
      await waitFor('two links', async () => ((await tokensOf(user.id)) >= 2 ? true : undefined), {
        withinMs: 10_000,
      });
      // Another address is not held back.
      const other = await createUser();
      await nextMail(other.email, RESET_SUBJECT, async () => {
        assert.equal((await askForReset(other.email, app.port)).status, 303);
      });
      await outboxDelivered();
      assert.equal(await tokensOf(user.id), 2, 'the refused request issued a link');
      assert.equal(smtp().mailsTo(user.email, RESET_SUBJECT).length, 2);
    });
  });

  test('a third request from one IP address within the hour › 429, whichever address it names', async () => {
    // Behind one proxy (TRUST_PROXY=1), X-Forwarded-For tells the visitors apart.
    await withApp({ resetLimitPerIp: 2, trustProxy: 1 }, async (app) => {
      const user = await createUser();
      const ip = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.7`;
      const from = { 'X-Forwarded-For': ip };
      assert.equal((await askForReset(`nobody_${hex()}@example.com`, app.port, from)).status, 303);
      assert.equal((await askForReset(`nobody_${hex()}@example.com`, app.port, from)).status, 303);
      assert.equal((await askForReset(user.email, app.port, from)).status, 429);
      assert.equal((await askForReset(`nobody_${hex()}@example.com`, app.port, from)).status, 429);
      // Another visitor is not held back.
      await nextMail(user.email, RESET_SUBJECT, async () => {
        const res = await askForReset(user.email, app.port, {
          'X-Forwarded-For': `192.0.2.${Math.floor(Math.random() * 250)}`,
        });
        assert.equal(res.status, 303);
      });
      await outboxDelivered();
      assert.equal(await tokensOf(user.id), 1, 'the refused request issued a link');
    });
  });

  test('a third "send it again" by one account within the hour › 429', async () => {
    await withApp({ mailLimitPerAddress: 2 }, async (app) => {
      const user = await createUser({ confirmed: false });
      const owner = await Visitor.loggedIn(app, user);
      assert.equal((await owner.submit('POST', '/email/confirm')).status, 303);
      assert.equal((await owner.submit('POST', '/email/confirm')).status, 303);
      assert.equal((await owner.submit('POST', '/email/confirm')).status, 429);
      assert.equal(await tokensOf(user.id), 2);
      // Another account is not held back.
      const other = await Visitor.loggedIn(app, await createUser({ confirmed: false }));
      assert.equal((await other.submit('POST', '/email/confirm')).status, 303);
    });
  });
});

describe('confirming an address', () => {
  /** A new account through the signup form: its browser (logged in), and its confirmation mail. */
  async function signUp(): Promise<{ browser: Visitor; username: string; email: string; link: string }> {
    const username = `c_${hex()}`;
    const email = `${username}@example.com`;
    const browser = new Visitor(t);
    const mail = await nextMail(email, CONFIRM_SUBJECT, async () => {
      const res = await browser.submit('POST', '/signup', { username, email, password: PASSWORD });
      assert.equal(res.status, 303);
    });
    return { browser, username, email, link: linkIn(mail).pathname };
  }

  const userIdOf = (username: string): Promise<number> =>
    scalar<number>(t.sql, 'SELECT id FROM users WHERE username = $1', [username]);

  const NOTICE = /Please confirm your address, ([^:]+): follow the link we mailed to it./;

  test('POST /signup › a confirmation link is mailed; the pages ask to confirm the address', async () => {
    const { browser, username, email, link } = await signUp();
    assert.match(link, /^\/email\/confirm\/[\w-]{43}$/);
    const id = await userIdOf(username);
    assert.equal(await confirmedAt(id), null);
    assert.equal((await tokenRow(tokenOf(link)))?.email, email);
    for (const path of [`/users/${username}`, '/posts']) {
      const page = await browser.get(path);
      assert.equal(page.status, 200);
      assert.equal(NOTICE.exec(page.body)?.[1], email, path);
      assert.match(page.body, /<form method="post" action="\/email\/confirm" class="notice">/);
      assert.match(page.body, /<button type="submit" class="link-button">Send it again<\/button>/);
    }
    assert.match((await browser.get(`/users/${username}`)).body, /Email address not confirmed yet./);
  });

  test('GET of the link › a page with a button, and nothing confirmed (mail scanners fetch links)', async () => {
    const { username, email, link } = await signUp();
    const id = await userIdOf(username);
    for (let i = 0; i < 2; i++) {
      const res = await new Visitor(t).get(link);
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.match(res.body, /<h1>Confirm your address<\/h1>/);
      assert.ok(res.body.includes(`Confirm <strong>${email}</strong> as the address of the account`));
      assert.ok(res.body.includes(`<form method="post" action="${link}"`));
      assert.match(res.body, /<button type="submit" class="button">Yes, confirm it<\/button>/);
    }
    assert.equal(await confirmedAt(id), null);
    assert.equal((await tokenRow(tokenOf(link)))?.used_at, null);
  });

  test('POST of the link › the address confirmed; the notice gone; the profile says so; the link used', async () => {
    const { browser, username, email, link } = await signUp();
    const id = await userIdOf(username);
    const res = await browser.submit('POST', link);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `/users/${username}`);
    assert.ok(await confirmedAt(id));
    assert.equal(await emailOf(id), email);
    const profile = await browser.get(`/users/${username}`);
    assert.deepEqual(flashesIn(profile.body), [`The address ${email} is confirmed for @${username}.`]);
    assert.doesNotMatch(profile.body, NOTICE);
    assert.match(profile.body, /Email address confirmed./);
    assert.doesNotMatch(profile.body, /not confirmed yet/);
    // The link again, from another browser: used up.
    const again = await new Visitor(t).submit('POST', link);
    assert.equal(again.status, 410);
  });

  test('POST of the link from a browser not logged in › confirmed, 303 to /login', async () => {
    const { username, link } = await signUp();
    const res = await new Visitor(t).submit('POST', link);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/login');
    assert.ok(await confirmedAt(await userIdOf(username)));
  });

  test('"Send it again" › a new link mailed; it confirms the address', async () => {
    const { browser, username, email, link } = await signUp();
    const mail = await nextMail(email, CONFIRM_SUBJECT, async () => {
      const res = await browser.submit('POST', '/email/confirm');
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, `/users/${username}`);
    });
    const page = await browser.get(`/users/${username}`);
    assert.ok(flashesIn(page.body).includes(`We sent a new link to ${email}. It works once, for 24 hours.`));
    const second = linkIn(mail).pathname;
    assert.notEqual(second, link);
    assert.equal((await browser.submit('POST', second)).status, 303);
    assert.ok(await confirmedAt(await userIdOf(username)));
    // Once confirmed, there is nothing to send again.
    const skip = smtp().mailsTo(email, CONFIRM_SUBJECT).length;
    assert.equal((await browser.submit('POST', '/email/confirm')).status, 303);
    assert.deepEqual(flashesIn((await browser.get(`/users/${username}`)).body), [
      `The address ${email} is confirmed already: there is no link to send.`,
    ]);
    await outboxDelivered();
    assert.equal(smtp().mailsTo(email, CONFIRM_SUBJECT).length, skip);
  });

  test('"Send it again" by a visitor not logged in › 303 to /login, nothing mailed', async () => {
    const before = await scalar<number>(t.sql, 'SELECT count(*)::int FROM mail_outbox');
    const res = await new Visitor(t).submit('POST', '/email/confirm');
    assert.equal(res.status, 303);
    assert.match(String(res.headers.location), /^\/login/);
    assert.equal(await scalar<number>(t.sql, 'SELECT count(*)::int FROM mail_outbox'), before);
  });

  test('a new address by the owner › a link to it and a notice to the old one; it changes when the link is POSTed; other links used up', async () => {
    const user = await createUser({ confirmed: false });
    const owner = await Visitor.loggedIn(t, user);
    const oldEmail = user.email;
    const newEmail = `new_${hex()}@example.com`;
    // An open link for the old address, and one for an address asked for first.
    const oldLink = linkIn(
      await nextMail(oldEmail, CONFIRM_SUBJECT, () => owner.submit('POST', '/email/confirm')),
    ).pathname;
    const firstEmail = `first_${hex()}@example.com`;
    const firstLink = linkIn(
      await nextMail(firstEmail, CONFIRM_NEW_SUBJECT, () =>
        owner.submit(
          'PUT',
          `/users/${user.username}`,
          profileOf(user, { email: firstEmail, currentPassword: PASSWORD }),
        ),
      ),
    ).pathname;

    // The notice of that first request, before the one under test.
    await smtp().waitForMail(oldEmail, { subject: CHANGE_NOTICE_SUBJECT });
    const notices = 1;
    const mail = await nextMail(newEmail, CONFIRM_NEW_SUBJECT, async () => {
      const res = await owner.submit(
        'PUT',
        `/users/${user.username}`,
        profileOf(user, { email: newEmail, currentPassword: PASSWORD }),
      );
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, `/users/${user.username}`);
    });
    const notice = await smtp().waitForMail(oldEmail, { subject: CHANGE_NOTICE_SUBJECT, skip: notices });
    assert.ok(notice.text.includes(`asked to change its address to ${newEmail}`), notice.text);
    assert.equal(smtp().mailsTo(newEmail).length, 1, 'the new address got more than its link');
    assert.doesNotMatch(notice.text, /\/email\/confirm\//, 'the old address got the link');
    assert.equal(await emailOf(user.id), oldEmail, 'the address changed before it was confirmed');
    const edit = await owner.get(`/users/${user.username}/edit`);
    assert.ok(edit.body.includes(`Waiting for ${newEmail} to confirm the change`));

    const link = linkIn(mail).pathname;
    const page = await new Visitor(t).get(link);
    assert.equal(page.status, 200);
    assert.ok(page.body.includes(`Confirm <strong>${newEmail}</strong>`));
    assert.equal(await emailOf(user.id), oldEmail, 'the GET changed the address');

    const res = await owner.submit('POST', link);
    assert.equal(res.status, 303);
    assert.equal(await emailOf(user.id), newEmail);
    assert.ok(await confirmedAt(user.id));
    const profile = await owner.get(`/users/${user.username}`);
    assert.deepEqual(flashesIn(profile.body), [`The address ${newEmail} is confirmed for @${user.username}.`]);
    assert.match(profile.body, /Email address confirmed./);
    for (const used of [oldLink, firstLink]) {
      const again = await new Visitor(t).get(used);
      assert.equal(again.status, 410, used);
    }
    assert.equal(await emailOf(user.id), newEmail);
    assert.equal(await logsIn(newEmail, PASSWORD), true);
    assert.equal(await logsIn(oldEmail, PASSWORD), false);
  });

  test('another account takes the new address before the link is followed › 409 page, nothing changes', async () => {
    const user = await createUser({ confirmed: false });
    const owner = await Visitor.loggedIn(t, user);
    const newEmail = `taken_${hex()}@example.com`;
    const mail = await nextMail(newEmail, CONFIRM_NEW_SUBJECT, () =>
      owner.submit('PUT', `/users/${user.username}`, profileOf(user, { email: newEmail, currentPassword: PASSWORD })),
    );
    const link = linkIn(mail).pathname;
    await createUser({ email: newEmail });

    const res = await owner.submit('POST', link);
    assert.equal(res.status, 409);
    assert.match(res.body, /That address now belongs to another account, so it cannot be yours: nothing was changed./);
    assert.equal(await emailOf(user.id), user.email);
    assert.equal(await confirmedAt(user.id), null);
    assert.equal((await tokenRow(tokenOf(link)))?.used_at, null);
  });

  test('whether the address is confirmed › shown to its owner and admins, not to other visitors', async () => {
    const user = await createUser({ confirmed: false });
    const path = `/users/${user.username}`;
    const STATUS = /<p class="email-status">([^<]*)<\/p>/;
    const owner = await Visitor.loggedIn(t, user);
    const admin = await Visitor.loggedIn(t, await createUser({ role: 'admin' }));
    const member = await Visitor.loggedIn(t, await createUser());
    const anonymous = new Visitor(t);
    for (const visitor of [owner, admin]) {
      assert.equal(STATUS.exec((await visitor.get(path)).body)?.[1], 'Email address not confirmed yet.');
    }
    for (const visitor of [member, anonymous]) {
      const page = await visitor.get(path);
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.body, /Email address/);
    }
    await t.sql.query('UPDATE users SET email_confirmed_at = now() WHERE id = $1', [user.id]);
    for (const visitor of [owner, admin]) {
      assert.equal(STATUS.exec((await visitor.get(path)).body)?.[1], 'Email address confirmed.');
    }
    for (const visitor of [member, anonymous]) assert.doesNotMatch((await visitor.get(path)).body, /Email address/);
  });
});

describe('an admin mails a reset link', () => {
  test('POST /users/:username/password-reset by an admin › 303; the account gets a link the admin never sees', async () => {
    const user = await createUser();
    const admin = await Visitor.loggedIn(t, await createUser({ role: 'admin' }));
    const profile = await admin.get(`/users/${user.username}`);
    assert.ok(profile.body.includes(`<form method="post" action="/users/${user.username}/password-reset"`));
    let reply: Reply | undefined;
    const mail = await nextMail(user.email, RESET_SUBJECT, async () => {
      reply = await admin.submit('POST', `/users/${user.username}/password-reset`);
    });
    assert.equal(reply?.status, 303);
    assert.equal(reply.headers.location, `/users/${user.username}`);
    const next = await admin.get(`/users/${user.username}`);
    assert.ok(
      flashesIn(next.body).includes(`A link to set a new password was sent to the address of @${user.username}.`),
    );
    const link = linkIn(mail).pathname;
    assert.match(mail.text, /An admin of Users and posts sent you this link/);
    for (const page of [reply, next]) {
      assert.ok(!page.body.includes(tokenOf(link)), 'the admin sees the link');
      assert.doesNotMatch(page.body, /\/password\/reset\//);
    }
    const res = await new Visitor(t).submit('POST', link, { password: NEW_PASSWORD });
    assert.equal(res.status, 303);
    assert.equal(await logsIn(user.username, NEW_PASSWORD), true);
  });

  test('by a member › 403, no link issued', async () => {
    const user = await createUser();
    const member = await Visitor.loggedIn(t, await createUser());
    assert.doesNotMatch((await member.get(`/users/${user.username}`)).body, /password-reset/);
    const res = await member.submit('POST', `/users/${user.username}/password-reset`);
    assert.equal(res.status, 403);
    assert.equal(await tokensOf(user.id), 0);
    assert.equal(await outboxRowsTo(user.email), 0);
  });

  test('by an admin for their own account › 403, no link issued', async () => {
    const adminUser = await createUser({ role: 'admin' });
    const admin = await Visitor.loggedIn(t, adminUser);
    assert.doesNotMatch((await admin.get(`/users/${adminUser.username}`)).body, /password-reset/);
    const res = await admin.submit('POST', `/users/${adminUser.username}/password-reset`);
    assert.equal(res.status, 403);
    assert.equal(await tokensOf(adminUser.id), 0);
    assert.equal(await outboxRowsTo(adminUser.email), 0);
  });

  test('by a visitor not logged in › 303 to /login, no link issued', async () => {
    const user = await createUser();
    const res = await new Visitor(t).submit('POST', `/users/${user.username}/password-reset`);
    assert.equal(res.status, 303);
    assert.match(String(res.headers.location), /^\/login/);
    assert.equal(await tokensOf(user.id), 0);
  });
});

describe('secrets in the logs', () => {
  test('a reset and a confirmation › no token in any log line; the request log shows [token]', async () => {
    const app = await serveApp(t.db, {}, captured);
    try {
      const first = logLines.length;
      const user = await createUser({ confirmed: false });
      const resetMail = await nextMail(user.email, RESET_SUBJECT, async () => {
        assert.equal((await askForReset(user.email, app.port)).status, 303);
      });
      const reset = linkIn(resetMail).pathname;
      const browser = new Visitor(app);
      assert.equal((await browser.get(reset)).status, 200);
      assert.equal((await browser.submit('POST', reset, { password: 'short' })).status, 422);
      assert.equal((await browser.submit('POST', reset, { password: NEW_PASSWORD })).status, 303);
      assert.equal((await browser.get(reset)).status, 410);
      await smtp().waitForMail(user.email, { subject: CHANGED_SUBJECT });

      const owner = new Visitor(app);
      await owner.logIn(user.username, NEW_PASSWORD);
      const confirmMail = await nextMail(user.email, CONFIRM_SUBJECT, async () => {
        assert.equal((await owner.submit('POST', '/email/confirm')).status, 303);
      });
      const confirm = linkIn(confirmMail).pathname;
      assert.equal((await owner.get(confirm)).status, 200);
      assert.equal((await owner.submit('POST', confirm)).status, 303);
      await outboxDelivered();

      const lines = logLines.slice(first);
      const urls = lines.map((line) => (JSON.parse(line) as { req?: { url?: string } }).req?.url);
      assert.ok(urls.includes('/password/reset/[token]'), `no request for a reset link logged: ${urls.join(', ')}`);
      assert.ok(urls.includes('/email/confirm/[token]'), `no request for a confirmation link logged`);
      assert.ok(
        lines.some((line) => line.includes('"mail sent"')),
        'the sender logged nothing: the check below would prove nothing about it',
      );
      for (const token of [tokenOf(reset), tokenOf(confirm)]) {
        const leaks = lines.filter((line) => line.includes(token));
        assert.deepEqual(leaks, [], 'a token in the log');
      }
      for (const line of lines) assert.doesNotMatch(line, /\/(password\/reset|email\/confirm)\/(?!\[token\])[\w-]/);
    } finally {
      await app.close();
    }
  });
});

describe('CSRF on the mail forms', () => {
  test('POST /password/forgot without a CSRF token › 403, no link issued', async () => {
    const user = await createUser();
    const browser = new Visitor(t);
    await browser.get('/password/forgot');
    const res = await browser.submit('POST', '/password/forgot', { email: user.email }, { csrf: null });
    assert.equal(res.status, 403);
    assert.equal(await tokensOf(user.id), 0);
    assert.equal(await outboxRowsTo(user.email), 0);
  });

  test('POST /password/reset/:token without a CSRF token › 403, the password and the link unchanged', async () => {
    const user = await createUser();
    const link = await resetLinkFor(user);
    const hash = await passwordHashOf(user.id);
    const browser = new Visitor(t);
    assert.equal((await browser.get(link)).status, 200);
    const res = await browser.submit('POST', link, { password: NEW_PASSWORD }, { csrf: null });
    assert.equal(res.status, 403);
    assert.equal(await passwordHashOf(user.id), hash);
    assert.equal((await tokenRow(tokenOf(link)))?.used_at, null);
    // With the token it goes through: the 403 was for the missing token.
    assert.equal((await browser.submit('POST', link, { password: NEW_PASSWORD })).status, 303);
  });

  test('POST /email/confirm/:token without a CSRF token › 403, nothing confirmed', async () => {
    const user = await createUser({ confirmed: false });
    const owner = await Visitor.loggedIn(t, user);
    const mail = await nextMail(user.email, CONFIRM_SUBJECT, () => owner.submit('POST', '/email/confirm'));
    const link = linkIn(mail).pathname;
    assert.equal((await owner.get(link)).status, 200);
    const res = await owner.submit('POST', link, {}, { csrf: null });
    assert.equal(res.status, 403);
    assert.equal(await confirmedAt(user.id), null);
    assert.equal((await tokenRow(tokenOf(link)))?.used_at, null);
    assert.equal((await owner.submit('POST', link)).status, 303);
    assert.ok(await confirmedAt(user.id));
  });
});
