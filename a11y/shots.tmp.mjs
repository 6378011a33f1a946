import { chromium } from 'playwright-core';
const base = 'http://127.0.0.1:18600';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
const shot = async (ctx, path, file, full = true) => {
  const page = await ctx.newPage();
  await page.goto(base + path, { waitUntil: 'load' });
  await page.screenshot({ path: '/tmp/imptest/shots/' + file, fullPage: full });
  return page;
};
for (const [w, tag] of [[1280, 'desk'], [390, 'phone']]) {
  const ctx = await browser.newContext({ viewport: { width: w, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(base + '/login?lang=sv');
  await page.fill('[name="email"]', 'admin@valvo.demo');
  await page.fill('[name="password"]', 'demo password 123');
  await page.click('form button[type="submit"]');
  await page.waitForLoadState('load');
  await shot(ctx, '/imports?lang=sv', `imports-sv-${tag}.png`);
  if (tag === 'desk') {
    const p = await ctx.newPage();
    await p.goto(base + '/imports?lang=fi');
    await p.setInputFiles('#file', '/tmp/imptest/bad_upload.csv');
    await p.click('form[enctype] button[type="submit"]');
    await p.waitForLoadState('load');
    await p.waitForTimeout(500);
    await p.reload();
    console.log('url', p.url());
    await p.screenshot({ path: `/tmp/imptest/shots/import-bad-fi-${tag}.png`, fullPage: true });
  }
  await shot(ctx, '/imports/1?lang=fi', `import1-fi-${tag}.png`);
  await shot(ctx, '/imports/2?lang=sv', `import2-sv-${tag}.png`);
}
await browser.close();
