// console.mjs: drives the admin console in Debian's headless Chromium with playwright-core,
// against a real gridsyncd seeded by seed.py (run by console_browser.sh, which reads the
// "ok NAME" / "not ok NAME: why" lines this prints).
//
// Environment: CHROMIUM (default /usr/bin/chromium), PW_DIR (folder whose node_modules holds playwright-core), URL (https://
// 127.0.0.1:PORT), TOKEN (admin token), STATE (seed.py's state file), ART (folder for
// screenshots), UDD (a fresh Chromium profile folder), SERVER_SPKI (base64 SHA-256 of the test
// server's public key: Chromium accepts that key's certificate and no other; pinning the CA's
// key is not enough, the server sends only its own certificate).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const require = createRequire(resolve(process.env.PW_DIR || '.', 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const env = (k) => {
  if (!process.env[k]) {
    console.log(`not ok console_env: ${k} is not set`);
    process.exit(1);
  }
  return process.env[k];
};
const URL = env('URL');
const TOKEN = env('TOKEN');
const ART = env('ART');
const seed = JSON.parse(readFileSync(env('STATE'), 'utf8'));

let failures = 0;
const ok = (name) => console.log(`ok ${name}`);
const notok = (name, why) => {
  failures++;
  console.log(`not ok ${name}: ${String(why).replace(/\s+/g, ' ').slice(0, 400)}`);
};
async function check(name, fn) {
  try {
    await fn();
    ok(name);
  } catch (e) {
    notok(name, e && e.message ? e.message : e);
  }
}
function expect(cond, why) {
  if (!cond) throw new Error(why);
}

const pageErrors = [];
const consoleErrors = [];
const requests = [];

const context = await chromium.launchPersistentContext(env('UDD'), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--ignore-certificate-errors-spki-list=${env('SERVER_SPKI')}`,
  ],
  viewport: { width: 1280, height: 900 },
  locale: 'zh-CN',
  timezoneId: 'Asia/Shanghai',
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(15000);
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => {
  if (m.type() === 'error') consoleErrors.push(m.text());
});
page.on('request', (r) => requests.push({ method: r.method(), url: r.url() }));

// Full-page screenshots from the top, so the sticky bar is where a person sees it.
async function shot(name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${ART}/${name}.png`, fullPage: true });
}

const card = (table) => page.locator(`[data-testid="conflict-${seed.conflicts[table]}"]`);

try {
  let first = null;
  await check('console_tls_trusted', async () => {
    first = await page.goto(URL + '/admin');
    expect(first && first.status() === 200, `status ${first && first.status()}`);
    const sec = await first.securityDetails();
    expect(sec && /^TLS 1\.[23]$/.test(sec.protocol), 'TLS details: ' + JSON.stringify(sec));
  });

  await check('console_headers', async () => {
    const h = await first.allHeaders();
    expect(/default-src 'self'/.test(h['content-security-policy'] || ''), 'CSP: ' + h['content-security-policy']);
    expect(!/unsafe-inline/.test(h['content-security-policy']), 'CSP allows inline script');
    expect(h['x-content-type-options'] === 'nosniff', 'nosniff');
    expect(h['x-frame-options'] === 'DENY', 'X-Frame-Options');
    expect(h['referrer-policy'] === 'no-referrer', 'Referrer-Policy');
  });

  await check('console_signin_page_zh', async () => {
    await page.locator('#token').waitFor();
    const text = await page.locator('main').innerText();
    expect(text.includes('管理员令牌') && text.includes('登录'), 'no Chinese sign-in form: ' + text);
    await page.screenshot({ path: `${ART}/console-signin.png` });
  });

  await check('console_signin_wrong_token', async () => {
    await page.fill('#token', TOKEN.slice(0, -2) + 'xx');
    await page.click('button[type=submit]');
    await page.locator('.signin .error', { hasText: '令牌不正确' }).waitFor();
  });

  await check('console_signin', async () => {
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    await card('resident').waitFor();
    const posts = requests.filter((r) => r.url.endsWith('/admin/session') && r.method === 'POST');
    expect(posts.length === 2, `${posts.length} sign-in POSTs`);
    const secret = TOKEN.split('.')[1];
    const leaked = requests.filter((r) => r.url.includes(secret));
    expect(leaked.length === 0, 'the token is in a URL: ' + (leaked[0] && leaked[0].url));
    expect(!page.url().includes(secret), 'token in the page URL');
  });

  await check('console_cookie_flags', async () => {
    const cookies = await context.cookies(URL);
    const c = cookies.find((x) => x.name === '__Host-gs_session');
    expect(c, 'no session cookie: ' + JSON.stringify(cookies.map((x) => x.name)));
    expect(c.httpOnly && c.secure && c.sameSite === 'Strict' && c.path === '/', JSON.stringify(c));
    const visible = await page.evaluate(() => document.cookie);
    expect(!visible.includes('gs_session'), 'the session cookie is readable by script');
  });

  await check('console_conflicts_listed', async () => {
    const n = await page.locator('article.conflict').count();
    expect(n === 3, `${n} conflict cards`);
    const head = await page.locator('.count').innerText();
    expect(head.includes('3'), 'count line: ' + head);
  });

  await check('console_conflict_in_context', async () => {
    const care = card('care');
    await care.locator('.c-head .chip', { hasText: '王秀' }).waitFor();
    const head = await care.locator('.c-head').innerText();
    expect(head.includes('养老服务需求') && head.includes('状态') && head.includes('城关-1'), 'care head: ' + head);
    const winner = await care.locator('[data-testid=side-winner]').innerText();
    const other = await care.locator('[data-testid=side-other]').innerText();
    expect(winner.includes('已完成') && winner.includes('张伟') && winner.includes(seed.devices.A.id), 'winner side: ' + winner);
    expect(other.includes('处理中') && other.includes('李娜') && other.includes(seed.devices.B.id), 'other side: ' + other);
    const policy = await care.locator('.policy').innerText();
    expect(policy.includes('状态规则'), 'policy: ' + policy);
    await care.locator('details.context summary').click();
    const ctx = await care.locator('.context-body').innerText();
    expect(ctx.includes('紧急') && ctx.includes('助餐') && ctx.includes('优先级'), 'record context: ' + ctx);
    const visit = await card('visit').locator('.c-head').innerText();
    expect(visit.includes('走访') && visit.includes('走访记录'), 'visit head: ' + visit);
  });

  await check('console_script_value_shown_as_text', async () => {
    const res = card('resident');
    const winner = await res.locator('[data-testid=side-winner] .value').textContent();
    expect(winner === seed.script_name, 'winner shows ' + JSON.stringify(winner));
    const chip = await res.locator('.c-head').innerText();
    expect(chip.includes('<script>'), 'resident chip: ' + chip);
    const pwned = await page.evaluate(() => window.__pwned);
    expect(pwned === undefined, 'injected script ran: __pwned=' + pwned);
    const imgs = await page.locator('img[src="x"]').count();
    const scripts = await page.locator('main script').count();
    expect(imgs === 0 && scripts === 0, `${imgs} injected img, ${scripts} injected script elements`);
  });

  await shot('console-conflicts');

  await check('console_resolve_keep_other', async () => {
    const res = card('resident');
    await res.locator('[data-testid=keep-other]').check();
    await res.locator('textarea[id^=note-]').fill('户籍核对：以身份证为准 <b>ok</b>');
    await res.locator('[data-testid=resolve-submit]').click();
    const box = res.locator('[data-testid=resolution]');
    await box.waitFor();
    const text = await box.innerText();
    expect(text.includes('王秀瑛') && text.includes('户籍核对：以身份证为准 <b>ok</b>'), 'resolution: ' + text);
    const status = await res.locator('.status').innerText();
    expect(status.includes('已裁决'), 'status: ' + status);
    await page.locator('#toast.show').waitFor();
    const count = await page.locator('.count').innerText();
    expect(count.includes('2'), 'count after resolving: ' + count);
  });

  await shot('console-resolved');

  await check('console_english', async () => {
    await page.click('[data-testid=lang]');
    await page.locator('nav a', { hasText: 'Conflicts' }).waitFor();
    await card('care').locator('.badge', { hasText: 'Care request' }).waitFor();
    const head = await card('care').locator('.c-head').innerText();
    expect(head.includes('Status'), 'English field label: ' + head);
    const winner = await card('care').locator('[data-testid=side-winner]').innerText();
    expect(winner.includes('Done'), 'English enum label: ' + winner);
    await shot('console-conflicts-en');
    await page.click('[data-testid=lang]');
    await page.locator('nav a', { hasText: '冲突处理' }).waitFor();
  });

  await check('console_resolve_enter_value', async () => {
    const visit = card('visit');
    await visit.locator('[data-testid=keep-value]').check();
    await visit.locator(`#value-${seed.conflicts.visit}`).fill('已核实：血压偏高，村医已上门。');
    await visit.locator('textarea[id^=note-]').fill('电话回访');
    await visit.locator('[data-testid=resolve-submit]').click();
    const text = await visit.locator('[data-testid=resolution]').innerText();
    expect(text.includes('已核实：血压偏高，村医已上门。') && text.includes('电话回访'), 'resolution: ' + text);
  });

  await check('console_devices_page', async () => {
    await page.click('nav a[href="#/devices"]');
    const table = page.locator('[data-testid=devices]');
    await table.waitFor();
    const silent = page.locator(`tr[data-device="${seed.devices.C.id}"]`);
    expect(await silent.getAttribute('class') === 'silent', 'device C is not marked silent');
    const t = await silent.innerText();
    expect(t.includes('超过 3 天未同步') && t.includes('5 天前'), 'silent row: ' + t);
    const a = await page.locator(`tr[data-device="${seed.devices.A.id}"]`).innerText();
    expect(a.includes('正常') && a.includes('城关-1') && a.includes('成功'), 'device A row: ' + a);
    const grids = await page.locator('[data-testid=grids]').innerText();
    expect(grids.includes('城关-1') && grids.includes('城关-2') && grids.includes('养老服务需求'), 'grids: ' + grids);
    const row = await page.locator('[data-testid=grids] tr', { hasText: '城关-1' }).innerText();
    expect(/\s1$/.test(row.trim()), 'open conflicts of 城关-1 should be 1: ' + JSON.stringify(row));
    await shot('console-devices');
  });

  await check('console_reload_keeps_session', async () => {
    await page.reload();
    await page.locator('[data-testid=devices]').waitFor();
  });

  await check('console_signout', async () => {
    await page.click('[data-testid=signout]');
    await page.locator('#token').waitFor();
    const st = await page.evaluate(async () => (await fetch('/admin/session', { cache: 'no-store' })).status);
    expect(st === 401, 'session after sign-out: ' + st);
  });

  await check('console_no_page_errors', async () => {
    // the wrong-token attempt and the post-sign-out probe are expected 401s; anything else
    // (a CSP or Trusted Types violation, a script error) fails
    const unexpected = consoleErrors.filter((m) => !/status of 401/.test(m));
    expect(pageErrors.length === 0 && unexpected.length === 0,
      JSON.stringify({ pageErrors, consoleErrors: unexpected }));
  });

  await check('console_no_external_requests', async () => {
    const origin = new globalThis.URL(URL).origin;
    const ext = requests.filter((r) => !r.url.startsWith(origin) && !r.url.startsWith('data:'));
    expect(ext.length === 0, 'external: ' + ext.map((r) => r.url).join(' '));
  });
} catch (e) {
  notok('console_driver', e && e.stack ? e.stack : e);
  try {
    await page.screenshot({ path: `${ART}/console-failure.png`, fullPage: true });
  } catch (e2) {
    // nothing more to save
  }
} finally {
  await context.close();
}
process.exit(failures ? 1 : 0);
