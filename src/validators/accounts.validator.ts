import type { Request } from 'express';
import { body } from 'express-validator';
import { MAX_LENGTH, USERNAME_PATTERN } from '../models/fields.js';
import { passwordProblem } from '../security/password-policy.js';
import { NOT_TEXT, textField } from './common.js';

export interface SignupForm {
  username: string;
  email: string;
  password: string;
  displayName: string;
}

/**
 * A new password, taken exactly as typed (no trimming, no normalisation), checked against
 * the policy and the account's username.
 */
export const newPasswordRule = (field: string, username: (req: Request) => unknown) =>
  body(field)
    .isString()
    .withMessage(NOT_TEXT)
    .bail()
    .custom((password: string, { req }) => {
      const name = username(req as Request);
      const problem = passwordProblem(password, typeof name === 'string' ? name : undefined);
      if (problem) throw new Error(problem);
      return true;
    });

export const emailRule = () =>
  textField('email')
    .toLowerCase()
    .isLength({ max: MAX_LENGTH.email })
    .withMessage('That email address is too long.')
    .bail()
    .isEmail()
    .withMessage('Enter an email address like name@example.com.');

export const displayNameRule = () =>
  textField('displayName')
    .isLength({ max: MAX_LENGTH.displayName })
    .withMessage(`Use at most ${MAX_LENGTH.displayName} characters.`);

export const signupRules = [
  textField('username')
    .toLowerCase()
    .matches(USERNAME_PATTERN)
    .withMessage('Use 3 to 30 characters: letters, digits or underscores.'),
  emailRule(),
  newPasswordRule('password', (req) => (req.body as { username?: unknown }).username),
  displayNameRule(),
];

export interface LoginForm {
  login: string;
  password: string;
}

export const loginRules = [
  textField('login').notEmpty().withMessage('Enter your username or email.'),
  body('password').isString().withMessage(NOT_TEXT).bail().notEmpty().withMessage('Enter your password.'),
];

export interface ForgotForm {
  email: string;
}

export const forgotRules = [emailRule()];

export interface ResetForm {
  password: string;
}

/** The policy, which needs the account's username, is applied by the service. */
export const resetRules = [
  body('password').isString().withMessage(NOT_TEXT).bail().notEmpty().withMessage('Enter a new password.'),
];
