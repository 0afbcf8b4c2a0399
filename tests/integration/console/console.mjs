// console.mjs: drives the admin console in Debian's headless Chromium with playwright-core,
// against a real gridsyncd seeded by seed.py (run by console_browser.sh, which reads the
// "ok NAME" / "not ok NAME: why" lines this prints).
//
// Environment: CHROMIUM (default /usr/bin/chromium), PW_DIR (folder whose node_modules holds playwright-core), URL (https://
// 127.0.0.1:PORT), TOKEN (admin token), STATE (seed.py's state file), ART (folder for
// screenshots), UDD (a fresh Chromium profile folder), SERVER_SPKI (base64 SHA-256 of the test
// server's public key: Chromium accepts that key's certificate and no other; pinning the CA's
// key is not enough, the server sends only its own certificate), CA (the server's CA, for
// reading the admin API from here, outside the browser, to hold the pages against).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import https from 'node:https';

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
const CA = readFileSync(env('CA'));
const ADMIN = 'county'; // the name of the admin `gridsyncd init` makes: acknowledgements name the admin (issue 20)

// GET an admin API path with the admin token, from Node (not the page): what the server
// says, to hold the page's figures against.
// POST path with a JSON body, as the admin (the token, not the page's session).
function apiPost(path, obj) {
  return new Promise((done, fail) => {
    const u = new globalThis.URL(URL + path);
    const data = JSON.stringify(obj);
    const req = https.request({
      hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', ca: CA,
      headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => (res.statusCode < 300 ? done(JSON.parse(body))
        : fail(new Error(`POST ${path}: ${res.statusCode} ${body.slice(0, 200)}`))));
    });
    req.on('error', fail);
    req.end(data);
  });
}

function apiGet(path) {
  return new Promise((done, fail) => {
    const u = new globalThis.URL(URL + path);
    const req = https.request({
      hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: 'GET', ca: CA,
      headers: { Authorization: 'Bearer ' + TOKEN },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? done(JSON.parse(body))
        : fail(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`))));
    });
    req.on('error', fail);
    req.end();
  });
}

// The page's percentages (core.js pct): one decimal at most, "—" when there is nothing to divide.
const pct = (r) => (r === null || r === undefined ? '—' : String(Math.round(r * 1000) / 10) + '%');
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

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
const cspViolations = [];
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
// every CSP or Trusted Types refusal in any page of the run, reported back here (a binding
// lives across navigations and reloads, unlike anything kept in the page)
await context.exposeBinding('__gsCspViolation', (src, v) => { cspViolations.push(v); });
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__gsCspViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
  });
});

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
    await page.locator('[data-testid=overview] [data-testid=visits-chart]').waitFor();
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

  // ---- 概览 / Overview: the first page after sign-in ------------------------------------
  // a page is loaded when its data-loaded names the route now shown (the old page stays in
  // the DOM until the hashchange renders the new one)
  const loaded = (testid) => page.waitForFunction((id) => {
    const e = document.querySelector(`[data-testid=${id}]`);
    return e && e.getAttribute('data-loaded') === location.hash;
  }, testid);
  const overviewLoaded = () => loaded('overview');
  const statText = async (id) => (await page.locator(`[data-testid=${id}] .n`).innerText()).trim();
  const tableRows = (sel, key) => page.$$eval(`${sel} tbody tr`, (rows, k) => rows.map((r) => [r.dataset[k],
    ...[...r.querySelectorAll('td')].map((td) => td.textContent.trim())]), key);
  let dash = null;

  await check('console_overview_is_first_page', async () => {
    await overviewLoaded();
    const active = await page.locator('nav a.active').innerText();
    expect(active.trim() === '概览', 'active nav: ' + active);
    const heads = await page.locator('[data-testid=overview] h2').allInnerTexts();
    for (const want of ['重点人员走访覆盖', '近 30 天每日走访', '居民标签', '未办结的养老服务需求', '矛盾纠纷', '未解除的预警', '未同步的设备', '各网格情况']) {
      expect(heads.includes(want), `no panel ${want}: ${JSON.stringify(heads)}`);
    }
  });

  await check('console_overview_figures_match_api', async () => {
    dash = await apiGet('/v1/admin/dashboard');
    const got = {
      coverage: await statText('stat-coverage'), visits: await statText('stat-visits'),
      care: await statText('stat-care'), disputes: await statText('stat-disputes'),
      warnings: await statText('stat-warnings'), silent: await statText('stat-silent'),
    };
    const want = {
      coverage: pct(dash.coverage.ratio), visits: String(dash.visits.total),
      care: String(dash.care_open.total), disputes: pct(dash.disputes.ratio),
      warnings: String(dash.warnings_open.total), silent: String(dash.devices_silent.total),
    };
    expect(same(got, want), `stats ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
    expect(want.coverage === '50%' && want.disputes === '66.7%' && want.warnings === '5', 'seeded figures: ' + JSON.stringify(want));
    const fig = await page.locator('[data-testid=coverage-figure]').innerText();
    expect(fig.includes('50%') && fig.includes(`${dash.coverage.visited} / ${dash.coverage.vulnerable}`), 'coverage figure: ' + fig);
    const bar = await page.locator('[data-testid=coverage] svg.ratio-bar rect.fill').getAttribute('width');
    expect(Number(bar) === dash.coverage.ratio * 100, 'coverage bar width ' + bar);
    // residents by tag, every tag of the schema, in its order
    const tags = await tableRows('[data-testid=tags-table]', 'tag');
    expect(same(tags.map((r) => [r[0], r[1]]), Object.entries(dash.residents.by_tag).map(([k, n]) => [k, String(n)])), 'tags: ' + JSON.stringify(tags));
    // open care requests by priority (urgent first) and age, then the totals by age
    const care = await tableRows('[data-testid=care-table]', 'priority');
    const ages = (o) => [o.total, o.lt_1d, o.d1_3, o.d3_7, o.gt_7d].map(String);
    const wantCare = ['urgent', 'normal', 'low'].map((p) => [p, ...ages(dash.care_open.by_priority[p])]).concat([['all', ...ages(dash.care_open.by_age)]]);
    expect(same(care, wantCare), `care ${JSON.stringify(care)} want ${JSON.stringify(wantCare)}`);
    // disputes per month and the share closed
    const months = (await tableRows('[data-testid=disputes-table]', 'month')).map((r) => r.slice(0, 4)); // not the bar
    const wantMonths = dash.disputes.by_month.map((m) => [m.month, String(m.total), String(m.closed), pct(m.ratio)]);
    expect(same(months, wantMonths), `months ${JSON.stringify(months)} want ${JSON.stringify(wantMonths)}`);
    const dfig = await page.locator('[data-testid=disputes-figure]').innerText();
    expect(dfig.includes('66.7%') && dfig.includes(`${dash.disputes.closed} / ${dash.disputes.total}`), 'disputes figure: ' + dfig);
    // open warnings by rule and level (urgent, attention, notice, total), and per level
    const warn = await tableRows('[data-testid=warnings-table]', 'rule');
    const lv = (o) => [o.urgent, o.attention, o.notice, o.total].map(String);
    const wantWarn = Object.entries(dash.warnings_open.by_rule).map(([r, o]) => [r, ...lv(o)])
      .concat([['all', ...lv({ ...dash.warnings_open.by_level, total: dash.warnings_open.total })]]);
    expect(same(warn, wantWarn), `warnings ${JSON.stringify(warn)} want ${JSON.stringify(wantWarn)}`);
    // silent devices
    const silent = await page.$$eval('[data-testid=silent-devices] tbody tr', (rows) => rows.map((r) => r.dataset.device));
    expect(same(silent, dash.devices_silent.devices.map((d) => d.id)), 'silent devices: ' + JSON.stringify(silent));
    const srow = await page.locator(`[data-testid=silent-devices] tr[data-device="${seed.devices.C.id}"]`).innerText();
    expect(srow.includes('王芳') && srow.includes('城关-2') && srow.includes('5 天前'), 'silent row: ' + srow);
    // the grids, each: visits, open care, disputes, warnings, silent devices
    const grids = (await tableRows('[data-testid=grid-breakdown] table', 'grid')).map((r) => {
      expect(r[1] === r[0], 'grid cell ' + JSON.stringify(r));
      return [r[0], ...r.slice(2)];
    });
    const wantGrids = dash.grids.map((g) => [g.grid, g.vulnerable, g.vulnerable ? `${pct(g.coverage)}（${g.visited}/${g.vulnerable}）` : '—',
      g.visits, g.care_open, g.disputes, pct(g.dispute_ratio), g.warnings_open, g.devices_silent].map(String));
    expect(same(grids, wantGrids), `grids ${JSON.stringify(grids)} want ${JSON.stringify(wantGrids)}`);
  });

  await check('console_overview_chart_svg', async () => {
    const chart = page.locator('[data-testid=visits-chart]');
    expect(await chart.evaluate((e) => e.namespaceURI === 'http://www.w3.org/2000/svg' && e.tagName === 'svg'), 'not an inline SVG');
    const bars = await page.$$eval('[data-testid=visits-chart] rect.bar', (rs) => rs.map((r) => ({
      day: r.dataset.day, n: Number(r.dataset.n), h: Number(r.getAttribute('height')), title: r.querySelector('title') && r.querySelector('title').textContent,
    })));
    const days = dash.visits.by_day;
    expect(bars.length === days.length && days.length === 30, `${bars.length} bars for ${days.length} days`);
    expect(same(bars.map((b) => [b.day, b.n]), days.map((d) => [d.day, d.n])), 'bars ' + JSON.stringify(bars.map((b) => [b.day, b.n])));
    expect(bars.every((b) => (b.n > 0) === (b.h > 0)), 'a bar height does not match its count: ' + JSON.stringify(bars));
    const top = bars.reduce((m, b) => (b.n > m.n ? b : m), bars[0]);
    expect(bars.every((b) => b.h <= top.h) && bars.filter((b) => b.n === top.n).every((b) => b.h === top.h), 'the highest bar is not the largest count');
    expect(bars.every((b) => b.title && b.title.includes('次走访')), 'a bar without its title');
    const scripts = await chart.evaluate((e) => e.querySelectorAll('script, foreignObject').length);
    expect(scripts === 0, 'script in the chart');
  });

  await check('console_overview_warning_links', async () => {
    const a = page.locator('[data-testid=warnings-table] a[data-rule=care_overdue][data-level=urgent]');
    expect(await a.getAttribute('href') === '#/warnings?rule=care_overdue&level=urgent', 'link: ' + await a.getAttribute('href'));
    const all = page.locator('[data-testid=warnings-table] tr[data-rule=all] a[data-level=urgent]');
    expect(await all.getAttribute('href') === '#/warnings?level=urgent', 'level link: ' + await all.getAttribute('href'));
    const none = await page.locator('[data-testid=warnings-table] tr[data-rule=device_silent] a').count();
    expect(none === 0, 'a zero count is a link');
  });

  await shot('console-overview-zh');

  await check('console_overview_one_grid', async () => {
    await page.selectOption('[data-testid=overview-grid]', '城关-1');
    await overviewLoaded();
    expect(decodeURIComponent(page.url()).endsWith('#/overview?grid=城关-1'), 'url ' + page.url());
    const g = await apiGet('/v1/admin/dashboard?grid=' + encodeURIComponent('城关-1'));
    const got = [await statText('stat-visits'), await statText('stat-warnings'), await statText('stat-care'), await statText('stat-coverage')];
    const want = [g.visits.total, g.warnings_open.total, g.care_open.total, pct(g.coverage.ratio)].map(String);
    expect(same(got, want) && want[1] === '4', `grid stats ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
    const bars = await page.locator('[data-testid=visits-chart] rect.bar').count();
    expect(bars === g.visits.by_day.length, `${bars} bars`);
    expect(await page.locator('[data-testid=grid-breakdown]').count() === 0, 'the per-grid table on a grid');
    const link = await page.locator('[data-testid=warnings-table] a[data-rule=hazard_open][data-level=urgent]').getAttribute('href');
    expect(decodeURIComponent(link) === '#/warnings?grid=城关-1&rule=hazard_open&level=urgent', 'grid link ' + link);
    await page.selectOption('[data-testid=overview-grid]', '');
    await overviewLoaded();
  });

  await check('console_overview_english', async () => {
    await page.click('[data-testid=lang]');
    await page.locator('nav a', { hasText: 'Overview' }).waitFor();
    await overviewLoaded();
    const heads = await page.locator('[data-testid=overview] h2').allInnerTexts();
    expect(heads.includes('Visits per day, last 30 days') && heads.includes('Open care requests') && heads.includes('Warnings not cleared'), 'English panels: ' + JSON.stringify(heads));
    const tags = await page.locator('[data-testid=tags-table]').innerText();
    expect(tags.includes('Lives alone') && !tags.includes('独居'), 'tag labels: ' + tags);
    const warn = await page.locator('[data-testid=warnings-table]').innerText();
    expect(warn.includes('Care request overdue') && warn.includes('Urgent') && warn.includes('Attention'), 'rule and level labels: ' + warn);
    const stats = await page.locator('.stats').innerText();
    expect(stats.includes('Vulnerable residents visited') && stats.includes('1 of 2 visited in time'), 'English stats: ' + stats);
    const title = await page.locator('[data-testid=visits-chart] rect.bar[data-n="2"] title').first().textContent();
    expect(/: 2 visits$/.test(title), 'English bar title: ' + title);
    await shot('console-overview-en');
    await page.click('[data-testid=lang]');
    await page.locator('nav a', { hasText: '概览' }).waitFor();
  });

  // ---- 预警 / Warnings --------------------------------------------------------------------
  const warningsLoaded = () => loaded('warnings');
  const cardIds = () => page.$$eval('article.warning', (as) => as.map((a) => a.dataset.id));
  let warnings = null;

  await check('console_warnings_from_overview_link', async () => {
    await page.click('[data-testid=warnings-table] a[data-rule=care_overdue][data-level=urgent]');
    await warningsLoaded();
    const ids = await cardIds();
    const all = (await apiGet('/v1/admin/warnings')).warnings;
    const want = all.filter((w) => w.rule === 'care_overdue' && w.level === 'urgent').map((w) => w.id);
    expect(same(ids, want) && want.length === 1, `cards ${JSON.stringify(ids)} want ${JSON.stringify(want)}`);
    expect(await page.inputValue('[data-testid=warnings-rule]') === 'care_overdue' && await page.inputValue('[data-testid=warnings-level]') === 'urgent', 'the filter is not shown');
    expect(await page.locator('nav a.active').innerText() === '预警', 'active nav');
  });

  await check('console_warnings_listed_in_context', async () => {
    await page.click('nav a[href="#/warnings"]');
    await warningsLoaded();
    warnings = (await apiGet('/v1/admin/warnings')).warnings;
    const ids = await cardIds();
    expect(same(ids, warnings.map((w) => w.id)) && ids.length === 5, `cards ${JSON.stringify(ids)} want the API's order ${JSON.stringify(warnings.map((w) => w.id))}`);
    const count = await page.locator('[data-testid=warnings-count]').innerText();
    expect(count.includes('5'), 'count: ' + count);
    // urgent first; the titles exactly the server's Chinese ones, <script> as text
    const levels = await page.$$eval('article.warning .c-head .level', (ls) => ls.map((l) => l.textContent));
    expect(same(levels, ['紧急', '紧急', '紧急', '关注', '关注']), 'levels: ' + JSON.stringify(levels));
    const titles = await page.$$eval('article.warning [data-testid=warning-title]', (ts) => ts.map((x) => x.textContent));
    expect(same(titles, warnings.map((w) => w.title)), 'titles: ' + JSON.stringify(titles));
    const alone = warnings.find((w) => w.rule === 'unvisited_vulnerable');
    expect(alone.title === '独居老人' + seed.script_name + '已2天未走访', 'unvisited title ' + alone.title);
    expect(await page.evaluate(() => window.__pwned) === undefined, 'the title ran a script');
    expect(await page.locator('main img').count() === 0 && await page.locator('main script').count() === 0, 'markup from a title');
    const aloneCard = await page.locator(`[data-testid="warning-${alone.id}"]`).innerText();
    expect(aloneCard.includes('重点人员未走访') && aloneCard.includes('上次走访') && aloneCard.includes('2 天前') && aloneCard.includes('城关镇东街 12 号'), 'unvisited card: ' + aloneCard);
    // the care request's resident: name, phone, address; when it was requested
    const care = warnings.find((w) => w.rule === 'care_overdue' && w.level === 'urgent');
    const ctx = await page.locator(`[data-testid="warning-${care.id}"] [data-testid=warning-context]`).innerText();
    expect(ctx.includes('李桂兰') && ctx.includes('13800000001') && ctx.includes('城关镇西街 8 号') && ctx.includes('需求提出时间'), 'care context: ' + ctx);
    // and when she was last visited (the seed visits her two hours before her request)
    expect(/上次走访\s*20\d\d\/\d\d\/\d\d \d\d:\d\d/.test(ctx) && !ctx.includes('尚无走访记录'), 'care context without the last visit: ' + ctx);
    const head = await page.locator(`[data-testid="warning-${care.id}"] .c-head`).innerText();
    expect(head.includes('服务需求超时') && head.includes('城关-1') && head.includes('待处理'), 'care head: ' + head);
  });

  await shot('console-warnings-zh');

  await check('console_warnings_filter_grid_and_state', async () => {
    await page.selectOption('[data-testid=warnings-grid]', '城关-2');
    await warningsLoaded();
    const ids = await cardIds();
    const want = (await apiGet('/v1/admin/warnings?grid=' + encodeURIComponent('城关-2'))).warnings.map((w) => w.id);
    expect(same(ids, want) && want.length === 1, `城关-2: ${JSON.stringify(ids)} want ${JSON.stringify(want)}`);
    await page.selectOption('[data-testid=warnings-grid]', '');
    await warningsLoaded();
    expect(await page.locator('article.warning').count() === 5, 'all grids again');
    await page.click('[data-testid=warnings-state] button[data-state=cleared]');
    await warningsLoaded();
    expect(await page.locator('.empty-state').count() === 1 && await page.locator('article.warning').count() === 0, 'cleared warnings listed');
    await page.click('[data-testid=warnings-state] button[data-state="open,acknowledged"]');
    await warningsLoaded();
    expect(await page.locator('article.warning').count() === 5, 'not-cleared again');
  });

  await check('console_warning_acknowledge_with_note', async () => {
    const care = warnings.find((w) => w.rule === 'care_overdue' && w.level === 'urgent');
    const c = page.locator(`[data-testid="warning-${care.id}"]`);
    await c.locator(`#ack-note-${care.id}`).fill('已电话联系家属，明天上门 <b>ok</b>');
    await c.locator('[data-testid=ack-submit]').click();
    await page.locator(`[data-testid="warning-${care.id}"][data-state=acknowledged]`).waitFor();
    await page.locator('#toast.show').waitFor();
    const text = await page.locator(`[data-testid="warning-${care.id}"] [data-testid=warning-ack]`).innerText();
    expect(text.includes('已电话联系家属，明天上门 <b>ok</b>') && text.includes(ADMIN) && text.includes('确认'), 'acknowledgement: ' + text);
    // the list was read again: still 5 not cleared, the acknowledged one after the open ones
    const ids = await cardIds();
    expect(ids.length === 5 && ids[4] === care.id, 'order after acknowledging: ' + JSON.stringify(ids));
    const w = (await apiGet('/v1/admin/warnings?state=acknowledged')).warnings;
    expect(w.length === 1 && w[0].id === care.id && w[0].note === '已电话联系家属，明天上门 <b>ok</b>' && w[0].ack_by === ADMIN,
      'the API after acknowledging: ' + JSON.stringify(w.map((x) => [x.id, x.state, x.note, x.ack_by])));
    await page.click('[data-testid=warnings-state] button[data-state=acknowledged]');
    await warningsLoaded();
    expect(same(await cardIds(), [care.id]), 'acknowledged filter: ' + JSON.stringify(await cardIds()));
    await page.click('[data-testid=warnings-state] button[data-state="open,acknowledged"]');
    await warningsLoaded();
  });

  await check('console_warnings_english', async () => {
    await page.click('[data-testid=lang]');
    await page.locator('nav a', { hasText: 'Warnings' }).waitFor();
    await warningsLoaded();
    const levels = await page.$$eval('article.warning .c-head .level', (ls) => ls.map((l) => l.textContent));
    expect(same(levels, ['Urgent', 'Urgent', 'Attention', 'Attention', 'Urgent']), 'English levels: ' + JSON.stringify(levels));
    const heads = await page.locator('article.warning .c-head').allInnerTexts();
    expect(heads[0].includes('Repeated disputes') && heads[0].includes('Open') && heads[4].includes('Acknowledged'), 'English heads: ' + JSON.stringify(heads));
    const ctx = await page.locator('article.warning [data-testid=warning-context]').first().innerText();
    expect(ctx.includes('Phone') && ctx.includes('Address') && ctx.includes('赵大山'), 'English context: ' + ctx);
    const titles = await page.$$eval('article.warning [data-testid=warning-title]', (ts) => ts.map((x) => x.textContent));
    expect(titles.includes(warnings[0].title), 'the server\'s title kept in English: ' + JSON.stringify(titles));
    await shot('console-warnings-en');
    await page.click('[data-testid=lang]');
    await page.locator('nav a', { hasText: '预警' }).waitFor();
  });

  await check('console_conflicts_listed', async () => {
    await page.click('nav a[href="#/conflicts"]');
    await card('resident').waitFor();
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

  // issue 17: a device added in the page, its QR code drawn as SVG from the server's
  // module matrix; the URI goes to console_browser.sh, which enrols a handheld with it
  await check('console_devices_add_shows_qr', async () => {
    await page.click('[data-testid=enrol-add]');
    await page.fill('#enrol-grids', '城关-1');
    await page.fill('#enrol-name', '新网格员');
    await page.click('[data-testid=enrol-form] button[type=submit]');
    await page.locator('[data-testid=enrol-card]').waitFor();
    const rects = await page.locator('[data-testid=enrol-qr] rect').count();
    const uri = await page.locator('[data-testid=enrol-uri]').innerText();
    const code = await page.locator('[data-testid=enrol-code]').innerText();
    expect(rects > 200, 'QR rectangles: ' + rects);
    expect(uri.startsWith('gridsync://enroll?u=' + new globalThis.URL(URL).origin + '&c=')
      && uri.includes(code.replace(/-/g, '')), 'uri: ' + uri + ' code: ' + code);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${ART}/enrol_uri.txt`, uri);
    const listed = await page.locator('[data-testid=enrolments]').innerText();
    expect(listed.includes('新网格员'), 'enrolments: ' + listed);
    await shot('console-devices-enrol');
  });

  await check('console_devices_rename', async () => {
    page.once('dialog', (d) => d.accept('王五的手机'));
    await page.click(`[data-testid="rename-${seed.devices.C.id}"]`);
    await page.locator(`tr[data-device="${seed.devices.C.id}"]`, { hasText: '王五的手机' }).waitFor();
    const dev = (await apiGet('/v1/admin/devices')).devices.find((d) => d.id === seed.devices.C.id);
    expect(dev && dev.name === '王五的手机', 'stored name: ' + JSON.stringify(dev));
  });

  await check('console_devices_revoke', async () => {
    page.once('dialog', (d) => d.accept());
    await page.click(`[data-testid="revoke-${seed.devices.C.id}"]`);
    await page.locator(`tr[data-device="${seed.devices.C.id}"]`, { hasText: '已停用' }).waitFor();
    const dev = (await apiGet('/v1/admin/devices')).devices.find((d) => d.id === seed.devices.C.id);
    expect(dev && dev.revoked === true && dev.wipe === 'none', 'stored: ' + JSON.stringify(dev));
  });

  await check('console_devices_revoke_with_wipe', async () => {
    // two dialogs: "revoke and wipe?" yes, then "upload first?" yes
    const answers = [true, true];
    const onDialog = (d) => (answers.shift() ? d.accept() : d.dismiss());
    // a device of its own: A and B still sync after the page's checks
    const lost = await apiPost('/v1/admin/devices', { grids: ['遗失'], name: '遗失的手机' });
    await page.reload();
    page.on('dialog', onDialog);
    await page.click(`[data-testid="wipe-${lost.id}"]`);
    await page.locator(`tr[data-device="${lost.id}"]`, { hasText: '已停用' }).waitFor();
    page.off('dialog', onDialog);
    const dev = (await apiGet('/v1/admin/devices')).devices.find((d) => d.id === lost.id);
    expect(dev && dev.revoked === true && dev.wipe === 'after_upload', 'stored: ' + JSON.stringify(dev));
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
    expect(pageErrors.length === 0 && unexpected.length === 0 && cspViolations.length === 0,
      JSON.stringify({ pageErrors, consoleErrors: unexpected, cspViolations }));
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
