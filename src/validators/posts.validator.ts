import { body } from 'express-validator';
import { BODY_MAX, TITLE_MAX } from '../models/post.model.js';
import { nfc, NOT_TEXT } from './common.js';

export interface PostForm {
  title: string;
  body: string;
  published: boolean;
}

export const postRules = [
  body('title')
    .isString()
    .withMessage(NOT_TEXT)
    .bail()
    .customSanitizer(nfc)
    .trim()
    .notEmpty()
    .withMessage('Give your post a title.')
    .bail()
    .isLength({ max: TITLE_MAX })
    .withMessage(`Keep the title to ${TITLE_MAX} characters.`),
  body('body')
    .isString()
    .withMessage(NOT_TEXT)
    .bail()
    .customSanitizer(nfc)
    // Trailing spaces are Markdown line breaks; only trailing blank lines are dropped.
    .customSanitizer((value: string) => value.replace(/\s+$/, ''))
    .notEmpty()
    .withMessage('Write something in the body.')
    .bail()
    .isLength({ max: BODY_MAX })
    .withMessage(`Keep the body to ${BODY_MAX.toLocaleString('en')} characters.`),
  // An unticked checkbox sends nothing.
  body('published').default(false).isIn([false, 'on', 'true', '1']).toBoolean(),
];
