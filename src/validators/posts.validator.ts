import { body } from 'express-validator';
import { MAX_LENGTH } from '../models/fields.js';
import type { PostInput } from '../services/posts.service.js';
import { textField } from './common.js';

/** What the post form yields: exactly what the service takes. */
export type PostForm = PostInput;

export const postRules = [
  textField('title')
    .notEmpty()
    .withMessage('Give your post a title.')
    .bail()
    .isLength({ max: MAX_LENGTH.title })
    .withMessage(`Keep the title to ${MAX_LENGTH.title} characters.`),
  textField('body', { multiline: true })
    .notEmpty()
    .withMessage('Write something in the body.')
    .bail()
    .isLength({ max: MAX_LENGTH.body })
    .withMessage(`Keep the body to ${MAX_LENGTH.body.toLocaleString('en')} characters.`),
  // An unticked checkbox sends nothing.
  body('published').default(false).isIn([false, 'on', 'true', '1']).toBoolean(),
];
