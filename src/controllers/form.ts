import type { Request } from 'express';

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
