import type { Request } from 'express';
import { FieldError } from '../errors.js';
import { type FieldErrors, fieldErrors } from '../validators/common.js';

/** What the user typed into `fields`, as strings, to put back into a re-rendered form. */
export function typedValues<K extends string>(req: Request, fields: readonly K[]): Record<K, string> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const values = {} as Record<K, string>;
  for (const field of fields) {
    const value = body[field];
    values[field] = typeof value === 'string' ? value : '';
  }
  return values;
}

/**
 * Every write handler's one shape. Invalid input: the form again with 422. A problem the
 * service finds at one field (a taken name: 409; a wrong current password): the form
 * again with its status and message. Otherwise `save`'s result, for the handler's 303;
 * undefined when the form was shown again.
 */
export async function saveForm<T>(
  req: Request,
  showForm: (status: number, errors: FieldErrors) => void | Promise<void>,
  save: () => Promise<T>,
): Promise<T | undefined> {
  const errors = fieldErrors(req);
  if (errors) {
    await showForm(422, errors);
    return undefined;
  }
  try {
    return await save();
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    await showForm(error.status, { [error.field]: error.message });
    return undefined;
  }
}
