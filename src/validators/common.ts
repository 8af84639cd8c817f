import type { Request } from 'express';
import { body, type ValidationChain, matchedData, param, query, validationResult } from 'express-validator';
import { NotFoundError } from '../errors.js';

export type FieldErrors = Record<string, string>;

/** A field sent more than once (or not as text) by something other than our forms. */
export const NOT_TEXT = 'Send this field once, as text.';

/** Unicode NFC, so that the same text typed on two systems is stored the same. */
export const nfc = (value: unknown): unknown => (typeof value === 'string' ? value.normalize('NFC') : value);

/** One piece of text from a form: a single string, Unicode NFC, trimmed; absent is empty. */
export const textField = (field: string): ValidationChain =>
  body(field).default('').isString().withMessage(NOT_TEXT).bail().customSanitizer(nfc).trim();

/** The first error message of each field, or undefined when the input is valid. */
export function fieldErrors(req: Request): FieldErrors | undefined {
  const errors: FieldErrors = {};
  for (const error of validationResult(req).array()) {
    if (error.type === 'field' && error.location === 'body') errors[error.path] ??= String(error.msg);
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}

/** Valid input of a chain set, typed; anything the chains don't name is dropped. */
export function formData<T>(req: Request): T {
  return matchedData(req, { locations: ['body'], includeOptionals: true }) as T;
}

export const pageQuery: ValidationChain = query('page').optional().isInt({ min: 1, max: 1_000_000 }).toInt();
export const searchQuery: ValidationChain = query('q')
  .optional()
  .isString()
  .withMessage(NOT_TEXT)
  .bail()
  .customSanitizer(nfc)
  .trim()
  .isLength({ max: 200 });
export const idParam: ValidationChain = param('id').isInt({ min: 1, max: 2_147_483_647 }).toInt();
export const usernameParam: ValidationChain = param('username').matches(/^[A-Za-z0-9_]{3,30}$/);

export interface ListQuery {
  page: number;
  q?: string;
}

/** Reads validated URL parts; a malformed id, username or page is a 404, not a 500. */
export function urlData<T>(req: Request): T {
  const malformed = validationResult(req)
    .array()
    .some((error) => error.type === 'field' && (error.location === 'params' || error.location === 'query'));
  if (malformed) throw new NotFoundError();
  const data = matchedData<{ page?: number; q?: string }>(req, { locations: ['params', 'query'] });
  return { ...data, page: data.page ?? 1, q: data.q || undefined } as T;
}
