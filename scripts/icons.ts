// Makes the bitmap icons from public/favicon.svg, the one drawing of the site's icon:
// public/favicon.ico (32 and 16 px, for what asks /favicon.ico by name) and
// public/apple-touch-icon.png (180 px, for home screens). Run it after changing the SVG:
//   npm run icons
// Drawn by Debian's Chromium (CHROMIUM_PATH), the browser the tests use; never a downloaded one.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { PUBLIC_DIR } from '../src/rendering/assets.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/chromium-args.js';

/** An ICO file holding each PNG as it is (every browser since 2007 reads PNG entries). */
function icoOf(images: { size: number; png: Buffer }[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // 1: an icon
  header.writeUInt16LE(images.length, 4);
  let offset = 6 + 16 * images.length;
  const entries = images.map(({ size, png }) => {
    const entry = Buffer.alloc(16);
    entry.writeUInt8(size >= 256 ? 0 : size, 0); // width (0 means 256)
    entry.writeUInt8(size >= 256 ? 0 : size, 1); // height
    entry.writeUInt8(0, 2); // no palette
    entry.writeUInt8(0, 3); // reserved
    entry.writeUInt16LE(1, 4); // colour planes
    entry.writeUInt16LE(32, 6); // bits per pixel
    entry.writeUInt32LE(png.length, 8);
    entry.writeUInt32LE(offset, 12);
    offset += png.length;
    return entry;
  });
  return Buffer.concat([header, ...entries, ...images.map((image) => image.png)]);
}

async function main(): Promise<void> {
  const svg = fs.readFileSync(path.join(PUBLIC_DIR, 'favicon.svg'), 'utf8');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  try {
    const draw = async (size: number, padding = 0): Promise<Buffer> => {
      const page = await browser.newPage({ viewport: { width: size, height: size } });
      const inner = size - 2 * padding;
      // A home-screen icon fills its square (the system rounds the corners): the drawing
      // sits on its own blue, with a margin.
      await page.setContent(
        `<body style="margin:0;background:${padding ? '#0b5cad' : 'transparent'}">` +
          `<div style="padding:${padding}px;width:${inner}px;height:${inner}px">` +
          svg.replace('<svg ', `<svg width="${inner}" height="${inner}" `) +
          '</div></body>',
      );
      const png = await page.screenshot({ omitBackground: padding === 0, type: 'png' });
      await page.close();
      return png;
    };
    const ico = icoOf([
      { size: 32, png: await draw(32) },
      { size: 16, png: await draw(16) },
    ]);
    fs.writeFileSync(path.join(PUBLIC_DIR, 'favicon.ico'), ico);
    fs.writeFileSync(path.join(PUBLIC_DIR, 'apple-touch-icon.png'), await draw(180, 18));
    console.log(`public/favicon.ico (${ico.length} bytes) and public/apple-touch-icon.png written`);
  } finally {
    await browser.close();
  }
}

void main();
