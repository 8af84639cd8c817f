import { body } from 'express-validator';
import { MAX_LENGTH, MAX_TAGS, TAG_PATTERN } from '../models/fields.js';
import type { PostInput } from '../services/posts.service.js';
import { textField } from './common.js';

/** What the post form yields: what the service takes, with the tags as one text (parseTags). */
export type PostForm = Omit<PostInput, 'tags'> & { tags: string };

/** The tags of the form's one field: split at commas, trimmed, lowercased, each once. */
export function parseTags(text: string): string[] {
  const tags = text
    .split(',')
    .map((tag) => tag.trim().toLowerCase())
    .filter((tag) => tag !== '');
  return [...new Set(tags)];
}

/** The post form's input as the service takes it. */
export const postInput = (form: PostForm): PostInput => ({ ...form, tags: parseTags(form.tags) });

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
  // One field, "cooking, weeknight-meals", kept as typed for the form; parseTags reads it.
  textField('tags')
    .custom((text: string) => parseTags(text).length <= MAX_TAGS)
    .withMessage(`Use at most ${MAX_TAGS} tags.`)
    .bail()
    .custom((text: string) => {
      const bad = parseTags(text).find((tag) => !TAG_PATTERN.test(tag));
      if (bad !== undefined) {
        throw new Error(`“${bad}” is not a tag: use 1 to ${MAX_LENGTH.tag} of a–z, 0–9 and -, commas between tags.`);
      }
      return true;
    }),
  // An unticked checkbox sends nothing.
  body('published').default(false).isIn([false, 'on', 'true', '1']).toBoolean(),
];
