// The browser types that functions run inside the page (page.evaluate) need.
//
// The few browser types the in-page functions need. The project compiles for Node without
// the DOM library (adding it would retype setTimeout and friends in src/), so functions
// passed to page.evaluate() take the page's globals through `inPage()`'s type instead.
import type axe from 'axe-core';

export interface El {
  readonly id: string;
  readonly tagName: string;
  readonly outerHTML: string;
  readonly textContent: string | null;
  readonly hidden: boolean;
  readonly type?: string;
  readonly labels?: ArrayLike<El> | null;
  open?: boolean;
  getAttribute(name: string): string | null;
  closest(selector: string): El | null;
  getClientRects(): { readonly length: number };
  querySelectorAll(selector: string): Iterable<El> & ArrayLike<El>;
}

export interface BrowserGlobals {
  readonly document: {
    readonly activeElement: El | null;
    readonly body: El;
    readonly title: string;
    readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number };
    querySelectorAll(selector: string): Iterable<El> & ArrayLike<El>;
    getElementById(id: string): El | null;
  };
  readonly getComputedStyle: (el: El) => {
    readonly outlineStyle: string;
    readonly outlineWidth: string;
    readonly boxShadow: string;
  };
  readonly matchMedia: (query: string) => { readonly matches: boolean };
  readonly requestAnimationFrame: (callback: () => void) => number;
  axe?: typeof axe;
}
