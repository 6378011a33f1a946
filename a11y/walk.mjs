#!/usr/bin/env node
// What a screen-reader user meets on a page, for a person to read through:
// the page as the accessibility tree reads it (roles, names, states, in
// reading order), then every Tab stop in order with its role and name; with
// --submit, the same again after the form was sent empty (the errors).
//
// Usage:
//   node walk.mjs URL [URL ...] [--submit] [--width 390]
//
// A tool for the review of the public forms (each in fi and sv), not a
// check: it prints, it judges nothing. The accessibility audit (audit.mjs)
// is the check.

import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const submit = args.includes('--submit');
const wi = args.indexOf('--width');
const width = wi >= 0 ? Number.parseInt(args[wi + 1], 10) : 390;
const urls = args.filter((a, i) => a.startsWith('http') && args[i - 1] !== '--width');
if (urls.length === 0) {
  console.error('usage: node walk.mjs URL [URL ...] [--submit] [--width 390]');
  process.exit(2);
}

async function tabStops(page, most = 60) {
  const stops = [];
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  for (let i = 0; i < most; i++) {
    await page.keyboard.press('Tab');
    const s = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
      const name =
        e.getAttribute('aria-label') ||
        label ||
        e.innerText ||
        e.value ||
        e.getAttribute('title') ||
        '';
      const kind = e.tagName.toLowerCase() + (e.type ? `[${e.type}]` : '');
      const checked = e.type === 'radio' || e.type === 'checkbox' ? (e.checked ? ' (checked)' : '') : '';
      const req = e.required || e.getAttribute('aria-required') === 'true' ? ' (required)' : '';
      const invalid = e.getAttribute('aria-invalid') === 'true' ? ' (invalid)' : '';
      const described = (e.getAttribute('aria-describedby') || '')
        .split(/\s+/)
        .filter(Boolean)
        .map((id) => document.getElementById(id)?.innerText?.trim())
        .filter(Boolean)
        .join(' | ');
      return `${kind}: ${name.replace(/\s+/g, ' ').trim()}${checked}${req}${invalid}${described ? ` — ${described}` : ''}`;
    });
    if (s === null || (stops.length > 0 && s === stops[0])) break;
    stops.push(s);
  }
  return stops;
}

async function show(page, what) {
  console.log(`--- ${what}: reading order`);
  console.log(await page.locator('body').ariaSnapshot());
  console.log(`--- ${what}: Tab stops`);
  (await tabStops(page)).forEach((s, i) => console.log(`${String(i + 1).padStart(2)}. ${s}`));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  for (const url of urls) {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    console.log(`=== ${url} (${width} px)`);
    await page.goto(url, { waitUntil: 'load' });
    await show(page, 'page');
    if (submit) {
      const button = page.locator('main form button[type=submit], main form button:not([type])').last();
      if ((await button.count()) > 0) {
        await Promise.all([page.waitForLoadState('load'), button.click()]);
        console.log(`focused after sending: ${await page.evaluate(() => {
          const e = document.activeElement;
          return e ? `${e.tagName.toLowerCase()}#${e.id} ${(e.innerText || '').slice(0, 80)}` : 'none';
        })}`);
        await show(page, 'after sending it empty');
      }
    }
    await context.close();
  }
} finally {
  await browser.close();
}
