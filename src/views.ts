import path from 'node:path';
import ejs from 'ejs';

export const VIEWS_DIR = path.resolve(__dirname, '../views');
const LAYOUT = path.join(VIEWS_DIR, 'layout.ejs');

type RenderCallback = (error: Error | null, html?: string) => void;

/**
 * EJS with one shared layout: each page renders first, then the layout around it as
 * `body`. A page opts out with `layout: false`.
 */
export function renderWithLayout(file: string, options: object, callback: RenderCallback): void {
  ejs.renderFile(file, options, (error, body) => {
    if (error) return callback(error);
    if ((options as { layout?: boolean }).layout === false) return callback(null, body);
    ejs.renderFile(LAYOUT, { ...options, body }, callback);
  });
}

const dateFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});

/** Helpers every view can call. */
export const viewHelpers = {
  formatDate: (date: Date | string): string => dateFormat.format(new Date(date)),
  isoDate: (date: Date | string): string => new Date(date).toISOString(),
  plural: (count: number, one: string, many = `${one}s`): string =>
    `${count.toLocaleString('en')} ${count === 1 ? one : many}`,
};
