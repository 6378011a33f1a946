#!/usr/bin/env node
// Valvo accessibility audit.
//
// Usage:
//   node audit.mjs --base http://127.0.0.1:PORT --email E --password P
//                  [--max-pages 200] [--tab-stops 10] [--json report.json] [--parallel 2] [--logged-in-only]
//                  [--screenshots DIR]  (public pages at 390 and 1280 px, fi and sv)
//                  [--no-lang-match]
//
// Crawls the site (same-origin <a href> links) in fi, sv and en, first as an
// anonymous visitor and then logged in, with a fresh browser context per crawl.
// On every page it runs axe-core (WCAG 2.0/2.1 A and AA) and its own checks:
//   html-lang          <html lang> is fi, sv or en
//   html-lang-mismatch <html lang> is the language the crawl asked for (--no-lang-match turns it off)
//   single-h1          exactly one <h1>
//   skip-link          the first Tab stop is <a href="#id"> and the id exists
//   focus-visible      the first --tab-stops Tab stops are on screen and show a focus indicator
//   form-label         every input/select/textarea (not hidden/submit/button/reset/image) has a label
//   http-status        the page answered with a status below 400
//   page-error         the page could not be loaded or checked
// Prints one line per page (`ok URL` / `FAIL URL: rule, rule`), the details of
// the failures grouped by rule, and a last line `N passed, M failed`.
// Exits 1 if any page failed, the login failed, or a crawl visited fewer than
// 3 pages; else 0.

import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { writeFileSync } from 'node:fs';

const LANGS = ['fi', 'sv', 'en'];
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const MIN_PAGES_PER_CRAWL = 3;
const NAV_TIMEOUT_MS = 30_000;
const AXE_TIMEOUT_MS = 120_000;
const SKIP_EXTENSIONS = /\.(pdf|csv|json|svg|png|jpe?g|gif|webp|ico|zip|gz|tar|xml|txt|xlsx?|docx?|odt|ods|js|mjs|css|map|woff2?|ttf|mp[34]|webm)$/i;
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

// ---------------------------------------------------------------- arguments

function usage(msg) {
  if (msg) console.error(`error: ${msg}`);
  console.error(
    'usage: node audit.mjs --base http://127.0.0.1:PORT --email E --password P ' +
      '[--max-pages 200] [--tab-stops 10] [--json FILE] [--no-lang-match]',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { maxPages: 200, perKind: 0, errorPages: [], invalidForms: [], tabStops: 10, json: null, langMatch: true, parallel: 2, loggedInOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--base': opts.base = next(); break;
      case '--email': opts.email = next(); break;
      case '--password': opts.password = next(); break;
      case '--max-pages': opts.maxPages = Number.parseInt(next(), 10); break;
      // At most N pages per page kind (path with numbers replaced by {n}, query ignored):
      // covers every kind of page in a few minutes instead of every page.
      case '--per-kind': opts.perKind = Number.parseInt(next(), 10); break;
      // A page that must answer with an error status (404, 400…) and still be accessible (logged in).
      case '--error-page': opts.errorPages.push(next()); break;
      // PATH#FIELD=VALUE: open the form, put VALUE in #FIELD, submit it, and audit the page with
      // the validation errors (which must answer 4xx).
      case '--invalid-form': opts.invalidForms.push(next()); break;
      case '--tab-stops': opts.tabStops = Number.parseInt(next(), 10); break;
      case '--json': opts.json = next(); break;
      // Crawls run side by side, N at a time (each in its own browser context).
      case '--parallel': opts.parallel = Number.parseInt(next(), 10); break;
      // Only the logged-in crawls (a second user's pages; the anonymous ones are the same).
      case '--logged-in-only': opts.loggedInOnly = true; break;
      case '--no-lang-match': opts.langMatch = false; break;
      case '--screenshots': opts.screenshots = next(); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!opts.base) usage('--base is required');
  if (!opts.email || !opts.password) usage('--email and --password are required');
  if (!Number.isInteger(opts.maxPages) || opts.maxPages < 1) usage('--max-pages must be a positive integer');
  if (!Number.isInteger(opts.tabStops) || opts.tabStops < 1) usage('--tab-stops must be a positive integer');
  if (!Number.isInteger(opts.parallel) || opts.parallel < 1) usage('--parallel must be a positive integer');
  try {
    const u = new URL(opts.base);
    opts.origin = u.origin;
  } catch {
    usage(`--base is not a URL: ${opts.base}`);
  }
  return opts;
}

// ---------------------------------------------------------------- URLs

// Canonical form of a same-origin URL for this crawl, or null if it is not to
// be followed. The `lang` parameter is dropped when it names the crawl's
// language (the cookie already says so) and the link is skipped when it names
// another one (that language has its own crawl, and following it would switch
// this crawl's cookie).
function normalize(raw, origin, lang) {
  let u;
  try {
    u = new URL(raw, origin);
  } catch {
    return null;
  }
  if (u.origin !== origin) return null;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  u.hash = '';
  const lower = u.href.toLowerCase();
  if (lower.includes('logout')) return null;
  if (u.pathname === '/api' || u.pathname.startsWith('/api/')) return null;
  if (SKIP_EXTENSIONS.test(u.pathname)) return null;
  const l = u.searchParams.get('lang');
  if (l !== null) {
    if (l !== lang) return null;
    u.searchParams.delete('lang');
  }
  let s = u.href;
  if (s.endsWith('?')) s = s.slice(0, -1);
  return s;
}

function isLoginPath(url) {
  const p = new URL(url).pathname.replace(/\/+$/, '');
  return p === '/login';
}

// ---------------------------------------------------------------- page checks

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

function clip(s, n = 200) {
  s = String(s ?? '').replace(/\s+/g, ' ').trim();
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

async function runAxe(page) {
  const results = await withTimeout(
    new AxeBuilder({ page }).withTags(AXE_TAGS).analyze(),
    AXE_TIMEOUT_MS,
    'axe',
  );
  return results.violations.map((v) => ({
    rule: v.id,
    impact: v.impact ?? 'unknown',
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.slice(0, 3).map((n) => ({
      target: Array.isArray(n.target) ? n.target.map(String).join(' ') : String(n.target),
      html: clip(n.html),
    })),
    nodeCount: v.nodes.length,
  }));
}

// Static DOM checks: html lang, h1 count, form labels.
async function domChecks(page, lang, langMatch) {
  const r = await page.evaluate(() => {
    const out = {};
    out.htmlLang = document.documentElement.getAttribute('lang');
    const h1s = [...document.querySelectorAll('h1')];
    out.h1 = h1s.map((h) => h.outerHTML.slice(0, 200));

    const textOf = (el) => {
      if (!el) return '';
      let t = (el.textContent || '').trim();
      if (!t) {
        for (const img of el.querySelectorAll('img[alt]')) t += img.getAttribute('alt');
      }
      return t.trim();
    };
    const unlabeled = [];
    const skipTypes = new Set(['hidden', 'submit', 'button', 'reset', 'image']);
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.tagName === 'INPUT' && skipTypes.has((el.getAttribute('type') || 'text').toLowerCase())) continue;
      let ok = false;
      if (el.labels && [...el.labels].some((l) => textOf(l))) ok = true;
      const aria = el.getAttribute('aria-label');
      if (aria && aria.trim()) ok = true;
      const lb = el.getAttribute('aria-labelledby');
      if (lb) {
        const t = lb.split(/\s+/).filter(Boolean).map((id) => textOf(document.getElementById(id))).join('');
        if (t) ok = true;
      }
      if (!ok) {
        let sel = el.tagName.toLowerCase();
        if (el.id) sel += `#${el.id}`;
        if (el.getAttribute('name')) sel += `[name="${el.getAttribute('name')}"]`;
        unlabeled.push({ target: sel, html: el.outerHTML.slice(0, 300) });
      }
    }
    out.unlabeled = unlabeled;
    return out;
  });

  const problems = [];
  const v = (r.htmlLang || '').trim().toLowerCase();
  const primary = v.split('-')[0];
  if (!['fi', 'sv', 'en'].includes(primary)) {
    problems.push({
      rule: 'html-lang',
      help: `<html lang> must be fi, sv or en (found ${r.htmlLang === null ? 'no lang attribute' : JSON.stringify(r.htmlLang)})`,
      nodes: [],
    });
  } else if (langMatch && primary !== lang) {
    problems.push({
      rule: 'html-lang-mismatch',
      help: `<html lang> is ${JSON.stringify(r.htmlLang)} but this crawl asked for ?lang=${lang}`,
      nodes: [],
    });
  }
  if (r.h1.length !== 1) {
    problems.push({
      rule: 'single-h1',
      help: `page must have exactly one <h1> (found ${r.h1.length})`,
      nodes: r.h1.slice(0, 3).map((h) => ({ target: 'h1', html: clip(h) })),
      nodeCount: r.h1.length,
    });
  }
  if (r.unlabeled.length) {
    problems.push({
      rule: 'form-label',
      help: 'form field has no label (label[for], wrapping <label>, aria-label or aria-labelledby)',
      nodes: r.unlabeled.slice(0, 3).map((n) => ({ target: n.target, html: clip(n.html) })),
      nodeCount: r.unlabeled.length,
    });
  }
  return problems;
}

// Keyboard checks: the first Tab stop is a working skip link, and the first
// `tabStops` Tab stops are on screen and visibly different when focused.
async function keyboardChecks(page, tabStops) {
  const problems = [];
  // No transitions/animations, so computed styles are the final ones.
  await page.addStyleTag({
    content: '*,*::before,*::after{transition:none!important;animation:none!important;scroll-behavior:auto!important}',
  });
  // Start sequential focus navigation at the very top of the document, even if
  // an element has autofocus: focus a temporary element placed first in <body>.
  await page.evaluate(() => {
    const s = document.createElement('span');
    s.tabIndex = -1;
    s.id = '__a11y_start__';
    document.body.insertBefore(s, document.body.firstChild);
    s.focus();
  });

  const STYLE_PROPS = [
    'outline-style', 'outline-width', 'outline-color', 'outline-offset',
    'box-shadow',
    'border-top-color', 'border-bottom-color', 'border-left-color', 'border-right-color',
    'border-top-width', 'border-bottom-width', 'border-top-style', 'border-bottom-style',
    'background-color', 'color', 'text-decoration-line', 'text-decoration-thickness',
  ];

  const stops = [];
  for (let i = 0; i < tabStops; i++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(({ i, props }) => {
      const el = document.activeElement;
      if (i === 0) document.getElementById('__a11y_start__')?.remove();
      if (!el || el === document.body || el === document.documentElement) return null;
      if (el.hasAttribute('data-a11y-stop')) return { repeat: true };
      el.setAttribute('data-a11y-stop', String(i));
      const cs = getComputedStyle(el);
      const styles = {};
      for (const p of props) styles[p] = cs.getPropertyValue(p);
      const r = el.getBoundingClientRect();
      const onScreen =
        r.width > 0 && r.height > 0 &&
        r.right > 0 && r.bottom > 0 && r.left < window.innerWidth && r.top < window.innerHeight;
      const href = el.tagName === 'A' ? el.getAttribute('href') : null;
      let targetExists = null;
      if (href && href.startsWith('#') && href.length > 1) {
        let id = href.slice(1);
        try { id = decodeURIComponent(id); } catch { /* keep raw */ }
        targetExists = document.getElementById(id) !== null;
      }
      let html = el.outerHTML;
      html = html.replace(/ data-a11y-stop="\d+"/, '');
      return {
        tag: el.tagName.toLowerCase(),
        href,
        targetExists,
        onScreen,
        styles,
        html: html.slice(0, 300),
      };
    }, { i, props: STYLE_PROPS });
    if (!info || info.repeat) break;
    stops.push(info);
  }

  // Unfocused styles of the same elements.
  const unfocused = await page.evaluate((props) => {
    if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
    const out = {};
    for (const el of document.querySelectorAll('[data-a11y-stop]')) {
      const cs = getComputedStyle(el);
      const styles = {};
      for (const p of props) styles[p] = cs.getPropertyValue(p);
      out[el.getAttribute('data-a11y-stop')] = styles;
      el.removeAttribute('data-a11y-stop');
    }
    return out;
  }, STYLE_PROPS);

  // Skip link.
  const first = stops[0];
  if (!first) {
    problems.push({ rule: 'skip-link', help: 'pressing Tab once focuses nothing; expected a skip link', nodes: [] });
  } else if (first.tag !== 'a' || !first.href || !first.href.startsWith('#') || first.href.length < 2) {
    problems.push({
      rule: 'skip-link',
      help: 'the first Tab stop must be a skip link <a href="#id">',
      nodes: [{ target: first.tag, html: clip(first.html) }],
    });
  } else if (!first.targetExists) {
    problems.push({
      rule: 'skip-link',
      help: `the skip link's target ${first.href} does not exist on the page`,
      nodes: [{ target: first.tag, html: clip(first.html) }],
    });
  }

  // Focus indicators.
  const transparent = (c) => /^transparent$|rgba\([^)]*,\s*0\)$/.test(c.trim());
  const bad = [];
  stops.forEach((s, i) => {
    const f = s.styles;
    const u = unfocused[String(i)] || {};
    const why = [];
    if (!s.onScreen) why.push('not on screen when focused');
    const outlineVisible =
      f['outline-style'] !== 'none' && parseFloat(f['outline-width']) > 0 && !transparent(f['outline-color']);
    const outlineChanged =
      outlineVisible &&
      ['outline-style', 'outline-width', 'outline-color', 'outline-offset'].some((p) => f[p] !== u[p]);
    const shadowChanged = f['box-shadow'] !== 'none' && f['box-shadow'] !== u['box-shadow'];
    const otherChanged = [
      'border-top-color', 'border-bottom-color', 'border-left-color', 'border-right-color',
      'border-top-width', 'border-bottom-width', 'border-top-style', 'border-bottom-style',
      'background-color', 'color', 'text-decoration-line', 'text-decoration-thickness',
    ].some((p) => f[p] !== u[p]);
    if (!outlineChanged && !shadowChanged && !otherChanged) {
      why.push(`no focus indicator (outline ${f['outline-style']} ${f['outline-width']}, box-shadow ${f['box-shadow']})`);
    }
    if (why.length) bad.push({ target: `tab stop ${i + 1} <${s.tag}>: ${why.join('; ')}`, html: clip(s.html) });
  });
  if (bad.length) {
    problems.push({
      rule: 'focus-visible',
      help: 'keyboard focus must be visible: focused element on screen with an outline, box-shadow or other style change',
      nodes: bad.slice(0, 3),
      nodeCount: bad.length,
    });
  }
  return problems;
}

// ---------------------------------------------------------------- crawl

async function newContext(browser) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: false,
    // Valvo's Content-Security-Policy forbids inline styles; the audit's own
    // helper style (no transitions) must still apply.
    bypassCSP: true,
  });
  context.setDefaultNavigationTimeout(NAV_TIMEOUT_MS);
  context.setDefaultTimeout(NAV_TIMEOUT_MS);
  return context;
}

async function login(page, opts) {
  const loginUrl = `${opts.origin}/login`;
  await page.goto(loginUrl, { waitUntil: 'load' });
  const form = page.locator('form').filter({ has: page.locator('[name="password"]') }).first();
  if ((await form.count()) === 0) throw new Error(`no form with a password field at ${page.url()}`);
  await form.locator('[name="email"]').first().fill(opts.email);
  await form.locator('[name="password"]').first().fill(opts.password);
  const submit = form
    .locator('button[type="submit"], input[type="submit"], button:not([type])')
    .first();
  if ((await submit.count()) === 0) throw new Error('login form has no submit button');
  await submit.click();
  try {
    await page.waitForURL((u) => !isLoginPath(u.href), { timeout: 15_000, waitUntil: 'load' });
  } catch {
    throw new Error(`still on ${page.url()} after submitting the login form (wrong credentials?)`);
  }
}

// One crawl: a fresh context, the language chosen with ?lang=, optionally a
// login, then breadth-first over same-origin links.
async function crawl(browser, opts, { mode, lang }, record) {
  const label = `${mode}/${lang}`;
  console.log(`\n== ${label} ==`);
  const context = await newContext(browser);
  const page = await context.newPage();
  page.on('dialog', (d) => d.dismiss().catch(() => {}));
  let visited = 0;
  try {
    const startUrl = `${opts.origin}/?lang=${lang}`;
    if (mode === 'logged-in') {
      // Choose the language first so the login page is in it too.
      await page.goto(startUrl, { waitUntil: 'load' });
      try {
        await login(page, opts);
      } catch (e) {
        record({ crawl: label, url: `${opts.origin}/login`, problems: [{ rule: 'login', help: e.message, nodes: [] }] });
        return { label, visited, loginFailed: true };
      }
    }

    const seen = new Set();
    const kinds = new Map();
    const queue = [];
    const start = normalize(startUrl, opts.origin, lang);
    seen.add(start);
    queue.push({ canon: start, nav: startUrl });

    while (queue.length && visited < opts.maxPages) {
      const { canon, nav } = queue.shift();
      let response;
      try {
        response = await page.goto(nav, { waitUntil: 'load' });
      } catch (e) {
        if (/download/i.test(e.message)) continue; // an attachment, not a page
        visited++;
        record({ crawl: label, url: canon, problems: [{ rule: 'page-error', help: clip(e.message, 300), nodes: [] }] });
        continue;
      }
      const finalUrl = page.url();
      if (new URL(finalUrl).origin !== opts.origin) continue; // redirected away
      const finalCanon = normalize(finalUrl, opts.origin, lang) ?? canon;
      if (finalCanon !== canon) {
        if (seen.has(finalCanon)) continue; // redirect to a page already queued or audited
        seen.add(finalCanon);
      }
      const ctype = response ? (response.headers()['content-type'] || '') : 'text/html';
      if (!/text\/html|application\/xhtml/i.test(ctype)) continue;
      if (mode === 'logged-in' && isLoginPath(finalUrl) && !isLoginPath(canon)) {
        // Sent back to the login page: the session was lost.
        visited++;
        record({
          crawl: label,
          url: canon,
          problems: [{ rule: 'session-lost', help: `logged-in crawl was redirected to ${finalUrl}`, nodes: [] }],
        });
        continue;
      }

      visited++;
      const problems = [];
      const status = response ? response.status() : 200;
      if (status >= 400) {
        problems.push({ rule: 'http-status', help: `HTTP ${status}`, nodes: [] });
      }
      // Links first, before the checks change the DOM.
      let links = [];
      try {
        links = await page.$$eval('a[href]', (as) => as.map((a) => a.href));
      } catch { /* page navigated away on its own; nothing to follow */ }
      for (const raw of links) {
        const c = normalize(raw, opts.origin, lang);
        if (c && !seen.has(c)) {
          seen.add(c);
          if (opts.perKind > 0) {
            const kind = new URL(c).pathname
              .replace(/\/org\/[^/]+/, '/org/{x}')
              .replace(/\/incidents\/event-types\/[^/]+\/edit$/, '/incidents/event-types/{x}/edit')
              .replace(/\d+/g, '{n}');
            const n = kinds.get(kind) || 0;
            if (n >= opts.perKind) continue;
            kinds.set(kind, n + 1);
          }
          queue.push({ canon: c, nav: c });
        }
      }
      try {
        problems.push(...(await runAxe(page)));
        // A downloadable report file is in its own language, whatever the crawl's.
        const ownLanguage = /\/report-[a-z]+\.html$/.test(new URL(finalUrl).pathname);
        problems.push(...(await domChecks(page, lang, opts.langMatch && !ownLanguage)));
        problems.push(...(await keyboardChecks(page, opts.tabStops)));
      } catch (e) {
        problems.push({ rule: 'page-error', help: clip(e.message, 300), nodes: [] });
      }
      record({ crawl: label, url: finalCanon, problems });
      // The pages the public meets, as a phone and a desktop show them, in
      // Finnish and Swedish: kept for a person to look at.
      if (opts.screenshots && mode === 'anonymous' && lang !== 'en') {
        const u = new URL(finalUrl);
        const slug = (u.pathname + u.search).replace(/[?&]?lang=[a-z]+/, '').replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'home';
        for (const width of [390, 1280]) {
          try {
            await page.setViewportSize({ width, height: 900 });
            await page.screenshot({ path: `${opts.screenshots}/${lang}-${width}-${slug}.png`, fullPage: true });
          } catch (e) {
            console.log(`(no screenshot of ${finalCanon} at ${width}: ${clip(e.message, 120)})`);
          }
        }
        await page.setViewportSize({ width: 1280, height: 900 });
      }
    }
    if (queue.length) console.log(`(stopped at --max-pages ${opts.maxPages}; ${queue.length} links not visited)`);
    if (mode === 'logged-in') {
      for (const path of opts.errorPages) {
        visited++;
        record(await auditSpecial(page, opts, lang, path, null));
      }
      for (const spec of opts.invalidForms) {
        visited++;
        record(await auditSpecial(page, opts, lang, spec.split('#')[0], spec.split('#')[1] || ''));
      }
    }
  } catch (e) {
    record({ crawl: label, url: `${opts.origin}/?lang=${lang}`, problems: [{ rule: 'page-error', help: clip(e.message, 300), nodes: [] }] });
  } finally {
    await context.close().catch(() => {});
  }
  return { label, visited, loginFailed: false };
}

// An error page, or a form submitted with a bad value: it must answer 4xx and
// pass every check like any other page.
async function auditSpecial(page, opts, lang, path, fill) {
  const url = `${opts.origin}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`;
  const problems = [];
  const label = fill === null ? url : `${url} (submitted ${fill})`;
  try {
    let response = await page.goto(url, { waitUntil: 'load' });
    if (fill !== null) {
      const [field, value] = fill.split('=');
      await page.fill(`#${field}`, value ?? '');
      // The submit button of the form the field is in (a page may hold several forms).
      const submit = page.locator(`form:has(#${field}) button[type=submit]`).first();
      [response] = await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        submit.click(),
      ]);
    }
    const status = response ? response.status() : 0;
    if (status < 400 || status >= 500) {
      problems.push({ rule: 'http-status', help: `expected an error status 4xx, got ${status}`, nodes: [] });
    }
    problems.push(...(await runAxe(page)));
    problems.push(...(await domChecks(page, lang, opts.langMatch)));
    problems.push(...(await keyboardChecks(page, opts.tabStops)));
  } catch (e) {
    problems.push({ rule: 'page-error', help: clip(e.message, 300), nodes: [] });
  }
  return { crawl: `special/${lang}`, url: label, problems };
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const results = [];
  const record = (r) => {
    results.push(r);
    if (r.problems.length === 0) console.log(`ok ${r.url}`);
    else console.log(`FAIL ${r.url}: ${[...new Set(r.problems.map((p) => p.rule))].join(', ')}`);
  };

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  // The larger crawls (logged in) first, so the last one to finish is short.
  const modes = opts.loggedInOnly ? ['logged-in'] : ['logged-in', 'anonymous'];
  const jobs = modes.flatMap((mode) => LANGS.map((lang) => ({ mode, lang })));
  const crawls = new Array(jobs.length);
  try {
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const i = next++;
        crawls[i] = await crawl(browser, opts, jobs[i], record);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.parallel, jobs.length) }, worker));
  } finally {
    await browser.close().catch(() => {});
  }

  // Details, grouped by rule and the first affected elements, so a problem in
  // the shared layout is printed once with the list of pages it is on.
  const failed = results.filter((r) => r.problems.length);
  if (failed.length) {
    console.log('\n== failures ==');
    const groups = new Map();
    for (const r of failed) {
      for (const p of r.problems) {
        const key = `${p.rule}\u0000${p.help}\u0000${p.nodes.map((n) => n.target).join('|')}`;
        if (!groups.has(key)) groups.set(key, { p, pages: [] });
        groups.get(key).pages.push(`${r.crawl} ${r.url}`);
      }
    }
    const sorted = [...groups.values()].sort((a, b) => a.p.rule.localeCompare(b.p.rule));
    for (const { p, pages } of sorted) {
      console.log(`\n${p.rule}${p.impact ? ` [${p.impact}]` : ''}: ${p.help}`);
      if (p.helpUrl) console.log(`  ${p.helpUrl}`);
      const more = p.nodeCount && p.nodeCount > p.nodes.length ? ` (first ${p.nodes.length} of ${p.nodeCount})` : '';
      if (p.nodes.length) console.log(`  elements${more}:`);
      for (const n of p.nodes) {
        console.log(`    ${n.target}`);
        if (n.html) console.log(`      ${n.html}`);
      }
      console.log(`  on ${pages.length} page(s):`);
      for (const pg of pages.slice(0, 20)) console.log(`    ${pg}`);
      if (pages.length > 20) console.log(`    … and ${pages.length - 20} more`);
    }
  }

  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify({ base: opts.origin, crawls, pages: results }, null, 2));
  }

  console.log('\n== crawls ==');
  let tooSmall = false;
  for (const c of crawls) {
    const small = c.visited < MIN_PAGES_PER_CRAWL;
    if (small) tooSmall = true;
    const note = c.loginFailed ? ' (login failed)' : small ? ` (fewer than ${MIN_PAGES_PER_CRAWL}: counts as a failure)` : '';
    console.log(`${c.label}: ${c.visited} page(s)${note}`);
  }
  const passed = results.filter((r) => r.problems.length === 0).length;
  console.log(`${passed} passed, ${failed.length} failed`);
  process.exit(failed.length > 0 || tooSmall ? 1 : 0);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
