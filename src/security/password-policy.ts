import { dictionary } from '@zxcvbn-ts/language-common';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;

// The ~50,000 most common passwords of public breach corpora, shipped with zxcvbn-ts.
// Built on first use, not at import.
let common: Set<string> | undefined;

/** True when `password` is one that attackers try first. */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(dictionary['passwords-common'].map((entry) => entry.toLowerCase()));
  return common.has(password.toLowerCase());
}

/** Why `password` is not acceptable for the account `username`, or undefined when it is. */
export function passwordProblem(password: string, username?: string): string | undefined {
  if (password.length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters.`;
  if (password.length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`;
  if (isCommonPassword(password)) return 'That password is one of the most common ones. Choose one nobody would guess.';
  if (username && password.toLowerCase().includes(username.toLowerCase())) {
    return 'Choose a password that does not contain your username.';
  }
  return undefined;
}
