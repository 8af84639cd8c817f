import { body } from 'express-validator';
import { BODY_MAX, TITLE_MAX } from '../models/post.model.js';
import type { PostInput } from '../services/posts.service.js';
import { textField } from './common.js';

/** What the post form yields: exactly what the service takes. */
export type PostForm = PostInput;

export const postRules = [
  textField('title')
    .notEmpty()
    .withMessage('Give your post a title.')
    .bail()
    .isLength({ max: TITLE_MAX })
    .withMessage(`Keep the title to ${TITLE_MAX} characters.`),
  textField('body', { multiline: true })
    .notEmpty()
    .withMessage('Write something in the body.')
    .bail()
    .isLength({ max: BODY_MAX })
    .withMessage(`Keep the body to ${BODY_MAX.toLocaleString('en')} characters.`),
  // An unticked checkbox sends nothing.
  body('published').default(false).isIn([false, 'on', 'true', '1']).toBoolean(),
];
