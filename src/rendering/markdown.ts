import { Marked, type MarkedToken, type Token } from 'marked';
import sanitizeHtml from 'sanitize-html';

const marked = new Marked({ gfm: true, breaks: false, async: false });

// The only HTML a user can put on a page passes through this allow-list: no scripts,
// no event handlers, no styles, and links only to http(s) and mailto.
const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'p',
    'br',
    'hr',
    'blockquote',
    'pre',
    'code',
    'ul',
    'ol',
    'li',
    'strong',
    'em',
    'del',
    's',
    'a',
    'img',
    'table',
    'thead',
    'tbody',
    'tr',
    'th',
    'td',
  ],
  allowedAttributes: {
    // rel is set by transformTags below, whatever the author wrote.
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title'],
    code: ['class'],
    th: ['align'],
    td: ['align'],
    ol: ['start'],
  },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
  transformTags: {
    a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }),
  },
};

/**
 * The version of what renderMarkdown and toExcerpt make of a body. Posts keep their HTML
 * and excerpt with the version that made them: raise it whenever either output changes
 * (marked, sanitize-html or the options above), and every stored post is rendered again,
 * on read at first, for good by `npm run posts:render`.
 */
export const RENDERER_VERSION = 1;

/** Markdown source to safe HTML. */
export function renderMarkdown(source: string): string {
  return sanitizeHtml(marked.parse(source) as string, SANITIZE);
}

/**
 * A plain-text preview of the start of a Markdown body: the words a reader sees on the post's
 * page, as written (EJS escapes them), without markup.
 */
export function toExcerpt(markdownStart: string, maxLength = 240): string {
  // Lexing is what an excerpt costs: lex a prefix, and longer ones only while its text falls short.
  let prefix = lexPrefix(markdownStart, Math.max(Math.ceil(1.5 * maxLength), 256), true);
  while (prefix.text.length <= maxLength && prefix.end < markdownStart.length) {
    prefix = lexPrefix(markdownStart, 2 * prefix.end, false);
  }
  const { text } = prefix;
  if (text.length <= maxLength) return text;
  const cut = text.slice(0, maxLength);
  let end = Math.max(cut.lastIndexOf(' '), maxLength - 20);
  // Never keep half of a character outside the BMP (an emoji).
  if (end > 0 && isHighSurrogate(cut.charCodeAt(end - 1))) end -= 1;
  return `${cut.slice(0, end).trimEnd()}…`;
}

const BLANK_LINE = /\n[ \t\r]*\n/;

/**
 * The text of `source` up to the first blank line after `budget` characters (there blocks lex
 * as in the whole body), or, if `mayCutBlock` and none comes soon, up to `budget`; and that end.
 */
function lexPrefix(source: string, budget: number, mayCutBlock: boolean): { text: string; end: number } {
  if (source.length <= budget) return { text: plainText(marked.lexer(source)), end: source.length };
  const searched = source.slice(budget, mayCutBlock ? 2 * budget : undefined);
  const blank = searched.search(BLANK_LINE);
  if (blank !== -1 || budget + searched.length === source.length) {
    const end = blank === -1 ? source.length : budget + blank;
    return { text: plainText(marked.lexer(source.slice(0, end))), end };
  }
  // The block cut at `budget` may lex differently (a link without its end): leave it out.
  const tokens = marked.lexer(source.slice(0, budget));
  tokens.pop();
  return { text: plainText(tokens), end: budget };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The text of marked's tokens, whitespace collapsed. */
function plainText(tokens: Token[]): string {
  const text = new PlainText();
  text.tokens(tokens);
  return text.toString();
}

// A tag (with its name in group 2), a comment, a declaration or a processing instruction.
const HTML_MARKUP =
  /<!--[\s\S]*?(?:-->|$)|<[!?][^>]*>?|<(\/?)([A-Za-z][A-Za-z0-9-]*)(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>=`]+))?)*\s*\/?>/g;

// Text flows through these elements; any other tag separates words, as on the page.
const INLINE_ELEMENTS = new Set([
  'a',
  'abbr',
  'b',
  'bdi',
  'bdo',
  'cite',
  'code',
  'data',
  'del',
  'dfn',
  'em',
  'font',
  'i',
  'ins',
  'kbd',
  'mark',
  'q',
  's',
  'samp',
  'small',
  'span',
  'strong',
  'sub',
  'sup',
  'time',
  'u',
  'var',
  'wbr',
]);

// sanitize-html drops the content of these elements (its nonTextTags), so the page never shows it.
const HIDDEN_CONTENT_ELEMENTS = new Set(['script', 'style', 'textarea', 'option', 'xmp']);

const CHARACTER_REFERENCE = /&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]{1,7}|#[Xx][0-9A-Fa-f]{1,6});/g;
const TEXT_ONLY: sanitizeHtml.IOptions = { allowedTags: [], allowedAttributes: {} };
// The sanitizer's text output escapes only these; they are also the commonest references.
const SANITIZER_ESCAPES = /&(?:amp|lt|gt|quot);/g;
const UNESCAPED: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"' };

/** `&amp;`, `&copy;`… as the browser shows them: sanitize-html's parser knows every HTML5 name. */
function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(
    CHARACTER_REFERENCE,
    (reference) =>
      UNESCAPED[reference] ??
      sanitizeHtml(reference, TEXT_ONLY).replace(SANITIZER_ESCAPES, (escape) => UNESCAPED[escape] ?? escape),
  );
}

/** Collects the text of marked's tokens; blocks, list items and table cells end with a space. */
class PlainText {
  private text = '';
  // The name of the element whose hidden content is being skipped.
  private hiddenUntilEndOf: string | null = null;

  tokens(tokens: Token[]): void {
    for (const token of tokens as MarkedToken[]) {
      switch (token.type) {
        case 'text':
          if (token.tokens) {
            // A block of text, as in a tight list item.
            this.tokens(token.tokens);
            this.add(' ');
          } else {
            // marked has decoded numeric references here, but not the named ones.
            this.add(decodeReferences(token.text));
          }
          break;
        case 'escape':
        case 'codespan':
          this.add(token.text);
          break;
        case 'link':
          // An autolink shows its address as written, references and all.
          if (token.autolink) this.add(token.text);
          else this.tokens(token.tokens);
          break;
        case 'image':
        case 'em':
        case 'strong':
        case 'del':
          this.tokens(token.tokens);
          break;
        case 'html':
          this.html(token.text);
          if (token.block) this.add(' ');
          break;
        case 'code':
          this.add(token.text);
          this.add(' ');
          break;
        case 'heading':
        case 'paragraph':
        case 'blockquote':
        case 'list_item':
          this.tokens(token.tokens);
          this.add(' ');
          break;
        case 'list':
          this.tokens(token.items);
          break;
        case 'table':
          for (const cell of [...token.header, ...token.rows.flat()]) {
            this.tokens(cell.tokens);
            this.add(' ');
          }
          break;
        case 'br':
        case 'hr':
        case 'space':
          this.add(' ');
          break;
        case 'checkbox':
        case 'def':
          break;
      }
    }
  }

  /** Raw HTML, inline or a block: its text without its tags, as the sanitized page shows it. */
  private html(source: string): void {
    let textStart = 0;
    for (const markup of source.matchAll(HTML_MARKUP)) {
      this.add(decodeReferences(source.slice(textStart, markup.index)));
      textStart = markup.index + markup[0].length;
      const name = markup[2]?.toLowerCase();
      if (name === undefined) continue;
      const closing = markup[1] === '/';
      if (this.hiddenUntilEndOf !== null) {
        if (closing && name === this.hiddenUntilEndOf) this.hiddenUntilEndOf = null;
      } else if (!closing && HIDDEN_CONTENT_ELEMENTS.has(name)) {
        this.hiddenUntilEndOf = name;
      } else if (!INLINE_ELEMENTS.has(name)) {
        this.add(' ');
      }
    }
    this.add(decodeReferences(source.slice(textStart)));
  }

  private add(text: string): void {
    if (this.hiddenUntilEndOf === null) this.text += text;
  }

  toString(): string {
    return this.text.replace(/\s+/g, ' ').trim();
  }
}

/** What a post keeps of its body, made once when it is saved. */
export function rendered(body: string): { bodyHtml: string; excerpt: string; renderedWith: number } {
  return { bodyHtml: renderMarkdown(body), excerpt: toExcerpt(body), renderedWith: RENDERER_VERSION };
}

/** A post's excerpt: as stored when the current renderer made it, else made now. */
export function excerptOf(post: { body: string; excerpt: string | null; renderedWith: number }): string {
  return post.renderedWith === RENDERER_VERSION && post.excerpt !== null ? post.excerpt : toExcerpt(post.body);
}

/** A post's HTML: as stored when the current renderer made it, else made now. */
export function htmlOf(post: { body: string; bodyHtml: string | null; renderedWith: number }): string {
  return post.renderedWith === RENDERER_VERSION && post.bodyHtml !== null ? post.bodyHtml : renderMarkdown(post.body);
}
