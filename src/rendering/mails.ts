// The mails the site sends, as plain text: what each says, with absolute links built from
// the site's origin. The services put them in the outbox; src/mail/ delivers them.

export interface MailMessage {
  /** What the mail is for, for logs and metrics. */
  kind: 'password_reset' | 'password_changed' | 'confirm_email' | 'email_change_requested';
  to: string;
  subject: string;
  text: string;
}

const SITE = 'Users and posts';

const signature = (origin: string): string => `\n-- \n${SITE}\n${origin}/\n`;

export const mails = {
  passwordReset(to: string, o: { name: string; link: string; origin: string; byAdmin: boolean }): MailMessage {
    const why = o.byAdmin
      ? `An admin of ${SITE} sent you this link to set a new password for your account.`
      : `Someone (we hope you) asked to set a new password for your account on ${SITE}.`;
    return {
      kind: 'password_reset',
      to,
      subject: `Set a new password for ${SITE}`,
      text:
        `Hello ${o.name},\n\n${why} This link lets you choose one; it works once, for one hour:\n\n` +
        `${o.link}\n\nIf you did not ask for it, you can ignore this mail: your password stays as it is.\n` +
        signature(o.origin),
    };
  },

  passwordChanged(to: string, o: { name: string; origin: string }): MailMessage {
    return {
      kind: 'password_changed',
      to,
      subject: `Your ${SITE} password was changed`,
      text:
        `Hello ${o.name},\n\nThe password of your account on ${SITE} was just changed, and every session ` +
        `of the account was logged out.\n\nIf you did not do this, set a new password at once:\n\n` +
        `${o.origin}/password/forgot\n` +
        signature(o.origin),
    };
  },

  confirmAddress(to: string, o: { name: string; link: string; origin: string; change: boolean }): MailMessage {
    const what = o.change
      ? `Someone (we hope you) asked to use this address for the account “${o.name}” on ${SITE}. The change takes effect when you follow this link`
      : `Welcome to ${SITE}, ${o.name}! Please confirm that this address is yours by following this link`;
    return {
      kind: 'confirm_email',
      to,
      subject: o.change ? `Confirm your new address for ${SITE}` : `Confirm your address for ${SITE}`,
      text:
        `${what} (it works once, for 24 hours):\n\n${o.link}\n\n` +
        'If this was not you, ignore this mail: nothing changes.\n' +
        signature(o.origin),
    };
  },

  emailChangeRequested(to: string, o: { name: string; newEmail: string; origin: string }): MailMessage {
    return {
      kind: 'email_change_requested',
      to,
      subject: `A new address was requested for your ${SITE} account`,
      text:
        `Hello ${o.name},\n\nSomeone logged in to your account on ${SITE} asked to change its address ` +
        `to ${o.newEmail}. Nothing changes until that address confirms it.\n\n` +
        `If this was not you, change your password:\n\n${o.origin}/password/forgot\n` +
        signature(o.origin),
    };
  },
};
