// The HTML safety oracle: whether a page holds anything from input that a browser would run or load.
import assert from 'node:assert/strict';
import { DomUtils, parseDocument } from 'htmlparser2';

export type HtmlDocument = ReturnType<typeof parseDocument>;
export type HtmlElement = ReturnType<typeof DomUtils.findAll>[number];

// The app has no scripts, frames, plugins or styles of its own: any of these on a page came from input.
// Its only SVG is the profile's activity chart, drawn with inert shapes (SVG_DRAWING).
const FORBIDDEN_TAGS = new Set([
  'script',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'math',
  'base',
  'style',
]);
const SVG_DRAWING = new Set(['title', 'desc', 'g', 'line', 'rect', 'text']);
const URL_ATTRIBUTES = new Set([
  'href',
  'src',
  'action',
  'formaction',
  'xlink:href',
  'srcset',
  'poster',
  'background',
  'data',
  'cite',
  'ping',
  'lowsrc',
  'dynsrc',
  'codebase',
]);
export const SAME_SITE_PATH = /^\/(?![/\\])/;
// The test apps listen on loopback: an absolute URL there is the site's own (its canonical link).
const OWN_ORIGIN = /^http:\/\/127\.0\.0\.1:\d+\/(?![/\\])/;
const UNSAFE_SCHEME = /^(?:javascript|vbscript|data):/;

/** Whether a browser would run or load `value` as a script or inline document. */
function unsafeUrl(value: string): boolean {
  // Browsers skip whitespace and control characters inside a scheme, and ignore its case.
  const compact = [...value]
    .filter((char) => {
      const code = char.charCodeAt(0);
      return code > 0x20 && !(code >= 0x7f && code <= 0x9f);
    })
    .join('')
    .toLowerCase();
  return UNSAFE_SCHEME.test(compact);
}

function describeElement(element: HtmlElement): string {
  const html = DomUtils.getOuterHTML(element);
  return html.length > 160 ? `${html.slice(0, 160)}…` : html;
}

/** The problems that make `html` unsafe to show a visitor: none for a clean page. */
export function htmlProblems(html: string): string[] {
  const doc = parseDocument(html);
  const problems: string[] = [];
  for (const element of DomUtils.findAll(() => true, doc.children)) {
    const name = element.name.toLowerCase();
    const shown = describeElement(element);
    if (FORBIDDEN_TAGS.has(name)) problems.push(`<${name}> element: ${shown}`);
    if (name === 'svg') {
      for (const inner of DomUtils.findAll(() => true, element.children)) {
        if (!SVG_DRAWING.has(inner.name.toLowerCase())) problems.push(`<svg> containing <${inner.name}>: ${shown}`);
      }
    }
    if (name === 'meta' && 'http-equiv' in element.attribs) problems.push(`<meta http-equiv>: ${shown}`);
    if (name === 'form' && !SAME_SITE_PATH.test(element.attribs.action ?? '')) {
      problems.push(`<form> whose action is not a path on this site: ${shown}`);
    }
    const href = element.attribs.href ?? '';
    const ownCanonical = element.attribs.rel === 'canonical' && OWN_ORIGIN.test(href);
    if (name === 'link' && !SAME_SITE_PATH.test(href) && !ownCanonical) {
      problems.push(`<link> to another site: ${shown}`);
    }
    for (const [attribute, value] of Object.entries(element.attribs)) {
      const key = attribute.toLowerCase();
      if (key.startsWith('on')) problems.push(`event handler attribute ${key}: ${shown}`);
      if (key === 'style') problems.push(`style attribute: ${shown}`);
      if (key === 'srcdoc') problems.push(`srcdoc attribute: ${shown}`);
      if (key === 'formaction' && !SAME_SITE_PATH.test(value)) problems.push(`formaction off this site: ${shown}`);
      if (URL_ATTRIBUTES.has(key) && value.split(',').some(unsafeUrl)) {
        problems.push(`${key} with a javascript:/vbscript:/data: URL: ${shown}`);
      }
    }
  }
  return problems;
}

/** Fails, naming every problem, unless `html` is safe to show; returns the parsed page. */
export function assertSafeHtml(html: string, where: string): HtmlDocument {
  const problems = htmlProblems(html);
  if (problems.length > 0) assert.fail(`${where} is unsafe:\n  - ${problems.join('\n  - ')}`);
  return parseDocument(html);
}

/** `text` appears on the page as text (so it was escaped), and never as raw markup. */
export function assertShowsText(html: string, doc: HtmlDocument, text: string, where: string): void {
  assert.ok(
    DomUtils.textContent(doc).includes(text),
    `${where} does not show ${JSON.stringify(text)} as text (escaped)`,
  );
  if (/[<>]/.test(text)) assert.ok(!html.includes(text), `${where} holds ${JSON.stringify(text)} unescaped`);
}

/** The value of a form field as the browser would show it: an input's value or a textarea's text. */
export function fieldValue(doc: HtmlDocument, name: string): string | undefined {
  const field = DomUtils.findOne(
    (element) => (element.name === 'input' || element.name === 'textarea') && element.attribs.name === name,
    doc.children,
  );
  if (!field) return undefined;
  return field.name === 'textarea' ? DomUtils.textContent(field) : (field.attribs.value ?? '');
}

export function assertFieldValue(doc: HtmlDocument, name: string, expected: string, where: string): void {
  assert.equal(fieldValue(doc, name), expected, `${where}: the ${name} field does not hold the input as typed`);
}
