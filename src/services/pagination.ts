import { NotFoundError } from '../errors.js';

export const PAGE_SIZE = 20;

export interface Page<T> {
  readonly items: T[];
  readonly page: number;
  readonly totalPages: number;
  readonly total: number;
}

export function offsetFor(page: number, size = PAGE_SIZE): number {
  return (page - 1) * size;
}

/** A page past the end is a 404; the first page of an empty list is not. */
export function toPage<T>(items: T[], total: number, page: number, size = PAGE_SIZE): Page<T> {
  const totalPages = Math.max(1, Math.ceil(total / size));
  if (page > totalPages) throw new NotFoundError('There is no such page.');
  return { items, page, totalPages, total };
}

/** A LIKE pattern matching `text` literally anywhere. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
