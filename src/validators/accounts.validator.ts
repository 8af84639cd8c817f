import { body } from 'express-validator';
import { USERNAME_PATTERN } from '../models/user.model.js';
import { NOT_TEXT, textField } from './common.js';

export interface SignupForm {
  username: string;
  email: string;
  password: string;
  displayName: string;
}

export const emailRule = () =>
  textField('email')
    .toLowerCase()
    .isLength({ max: 254 })
    .withMessage('That email address is too long.')
    .bail()
    .isEmail()
    .withMessage('Enter an email address like name@example.com.');

export const displayNameRule = () =>
  textField('displayName').isLength({ max: 50 }).withMessage('Use at most 50 characters.');

export const signupRules = [
  textField('username')
    .toLowerCase()
    .matches(USERNAME_PATTERN)
    .withMessage('Use 3 to 30 characters: letters, digits or underscores.'),
  emailRule(),
  // Passwords are taken exactly as typed: no trimming, no normalisation.
  body('password')
    .isString()
    .withMessage(NOT_TEXT)
    .bail()
    .isLength({ min: 10 })
    .withMessage('Use at least 10 characters.')
    .bail()
    .isLength({ max: 200 })
    .withMessage('Use at most 200 characters.'),
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
