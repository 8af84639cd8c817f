// The one report writer: number formats, Markdown tables, and the saving of a generated
// Markdown file (formatted as the repository formats it), shared by every bench script.
import fs from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { log, ROOT } from './support.js';

export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ms = (n: number): string => (Number.isNaN(n) ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1));
export const mib = (n: number | undefined): string => (n === undefined ? '–' : n.toFixed(0));
export const percent = (n: number, of: number): string => {
  const share = (100 * n) / Math.max(1, of);
  return `${share > 0 && share < 0.1 ? share.toPrecision(1) : share.toFixed(1)} %`;
};

/** A Markdown table; `align` holds `l` or `r` per column. */
export function table(head: string[], align: string, rows: string[][]): string[] {
  const rule = [...align].map((a) => (a === 'r' ? '--:' : '---'));
  return [head, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`);
}

/** Statuses `counts` holds that `keep` does not accept, e.g. "404 ×120, 500 ×2". */
export function statusList(counts: Map<number, number>, keep: (status: number) => boolean): string {
  return [...counts]
    .filter(([status]) => !keep(status))
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status} ×${count}`)
    .join(', ');
}

/** `markdown` formatted by prettier, written to `file` (relative to the root); the formatted text. */
export async function saveMarkdown(file: string, markdown: string): Promise<string> {
  const target = path.join(ROOT, file);
  const formatted = await prettier.format(markdown, { ...(await prettier.resolveConfig(target)), filepath: target });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, formatted);
  log(`saved as ${file}`);
  return formatted;
}
