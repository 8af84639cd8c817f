import { MAX_LENGTH } from '../models/fields.js';
import { textField } from './common.js';

/** What the comment form yields. */
export interface CommentForm {
  body: string;
}

export const commentRules = [
  textField('body', { multiline: true })
    .notEmpty()
    .withMessage('Write something in your comment.')
    .bail()
    .isLength({ max: MAX_LENGTH.comment })
    .withMessage(`Keep your comment to ${MAX_LENGTH.comment.toLocaleString('en')} characters.`),
];
