import { body } from 'express-validator';
import { MAX_LENGTH, ROLES } from '../models/fields.js';
import type { ProfileInput } from '../services/users.service.js';
import { displayNameRule, emailRule, newPasswordRule } from './accounts.validator.js';
import { NOT_TEXT, textField } from './common.js';

/** What the profile form yields: exactly what the service takes. */
export type ProfileForm = ProfileInput;

const linkRule = (field: string) =>
  textField(field)
    .isLength({ max: MAX_LENGTH.profileLink })
    .withMessage(`Use at most ${MAX_LENGTH.profileLink} characters.`)
    .bail()
    .if((value: string) => value !== '')
    .isURL({ protocols: ['http', 'https'], require_protocol: true })
    .withMessage('Enter a full web address starting with https://.');

export const profileRules = [
  displayNameRule().notEmpty().withMessage('Enter a display name.'),
  emailRule(),
  textField('bio', { multiline: true })
    .isLength({ max: MAX_LENGTH.bio })
    .withMessage(`Keep your bio to ${MAX_LENGTH.bio.toLocaleString('en')} characters.`),
  linkRule('website'),
  linkRule('github'),
  body('role').optional().isIn(ROLES).withMessage('Choose member or admin.'),
  // Asked (by the service) when the account's owner changes the email.
  body('currentPassword').optional().isString().withMessage(NOT_TEXT),
];

export interface DeleteForm {
  currentPassword?: string;
}

/** The owner deleting their own account gives the password; an admin deleting another does not. */
export const deleteRules = [body('currentPassword').optional().isString().withMessage(NOT_TEXT)];

export interface PasswordForm {
  currentPassword: string;
  newPassword: string;
}

export const passwordRules = [
  body('currentPassword')
    .isString()
    .withMessage(NOT_TEXT)
    .bail()
    .notEmpty()
    .withMessage('Enter your current password.'),
  newPasswordRule('newPassword', (req) => req.params?.username),
];
