// overview.js: 概览 / Overview, the console's first page: the town's grid work at a glance,
// or one grid's, from GET /v1/admin/dashboard (docs/ADMIN-API.md "Dashboard"; what each
// figure means for a town admin: docs/CONSOLE.md).
//
// Every figure shown is the server's, as the API gives it: the page adds nothing up itself
// (the town's figures are the sums of its grids' on the server), so the page and
// `gridsync-admin dashboard` always agree. Tag, priority, rule and level names are the
// schema's labels; the open warnings by rule and level link to the warnings page filtered
// the same way.
import { state, hooks, t, lbl, h, clear, fmtTime, ago, fieldOf, api, errorText, pct } from './core.js';
import { visitsChart, ratioBar, countBar } from './chart.js';

// The age buckets of open care requests, as the API names them, youngest first.
const AGES = ['lt_1d', 'd1_3', 'd3_7', 'gt_7d'];
// Levels, most urgent first (the schema declares them mildest first).
const LEVELS = ['urgent', 'attention', 'notice'];

function enums(table, field) {
  const f = fieldOf(table, field);
  return f && f.enums ? f.enums : [];
}

function fmtDate(ms) {
  return new Intl.DateTimeFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  }).format(new Date(ms));
}

// "2026-11" as 2026年11月 / Nov 2026.
function fmtMonth(month) {
  const ms = Date.parse(month + '-01T00:00:00+08:00');
  if (Number.isNaN(ms)) return String(month);
  return new Intl.DateTimeFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: state.lang === 'zh' ? 'long' : 'short',
  }).format(new Date(ms));
}

// The warnings page filtered: #/warnings?rule=...&level=...&grid=...
export function warningsHref(filter) {
  const q = new URLSearchParams();
  for (const k of ['grid', 'rule', 'level']) if (filter[k]) q.set(k, filter[k]);
  const s = q.toString();
  return '#/warnings' + (s ? '?' + s : '');
}

function overviewHref(grid) {
  return grid ? '#/overview?' + new URLSearchParams({ grid }).toString() : '#/overview';
}

function panel(key, testid, ...children) {
  return h('section', { class: 'panel', attrs: { 'data-testid': testid } }, h('h2', { text: t(key) }), children);
}

function stat(testid, value, labelKey, sub, cls, href) {
  const body = [h('div', { class: 'n', text: String(value) }), h('div', { class: 'l', text: t(labelKey) }),
    sub ? h('div', { class: 'sub small', text: sub }) : null];
  const attrs = { 'data-testid': testid };
  return href ? h('a', { class: 'stat link ' + (cls || ''), attrs: { ...attrs, href } }, body)
    : h('div', { class: 'stat ' + (cls || ''), attrs }, body);
}

function num(n, cls) {
  return h('td', { class: 'num' + (cls ? ' ' + cls : ''), text: String(n) });
}

// ---- the page ---------------------------------------------------------------------------

export async function overviewView(main, params) {
  const grid = params.get('grid') || '';
  const body = h('div', { attrs: { 'data-testid': 'overview' } }, h('p', { class: 'muted', text: t('loading') }));
  const gridSelect = h('select', { attrs: { id: 'overview-grid', 'data-testid': 'overview-grid' } },
    h('option', { text: t('overview_town'), attrs: { value: '' } }));
  gridSelect.addEventListener('change', () => {
    location.hash = overviewHref(gridSelect.value);
  });
  const range = h('p', { class: 'intro' });
  main.appendChild(
    h('section', { class: 'page overview' },
      h('div', { class: 'toolbar' },
        h('h1', { text: t('nav_overview') }),
        h('label', { class: 'inline' }, h('span', { text: t('filter_grid') }), gridSelect),
        h('span', { class: 'spacer' }),
        h('button', { class: 'ghost', text: t('refresh'), attrs: { type: 'button' }, on: { click: () => hooks.render() } })),
      range,
      body));
  let d, st;
  try {
    const q = new URLSearchParams();
    if (grid) q.set('grid', grid);
    [d, st] = await Promise.all([api('GET', '/v1/admin/dashboard' + (grid ? '?' + q.toString() : '')), api('GET', '/v1/admin/status')]);
  } catch (e) {
    clear(body);
    body.appendChild(h('p', { class: 'error', text: errorText(e) }));
    return;
  }
  state.grids = st.grids.map((g) => g.grid).sort();
  const grids = state.grids.includes(grid) || !grid ? state.grids : state.grids.concat([grid]);
  for (const g of grids) gridSelect.appendChild(h('option', { text: g, attrs: { value: g, selected: g === grid } }));
  range.textContent = t(grid ? 'overview_range_grid' : 'overview_range', fmtDate(d.from_ms), fmtDate(d.to_ms), grid) + ' ' + t('overview_now_note', fmtTime(d.now_ms));
  clear(body);
  body.appendChild(statsRow(d, grid));
  body.appendChild(h('div', { class: 'panels' },
    coveragePanel(d),
    warningsPanel(d, grid),
    visitsPanel(d),
    tagsPanel(d),
    carePanel(d),
    disputesPanel(d),
    silentPanel(d)));
  if (!grid) body.appendChild(gridsPanel(d));
  body.setAttribute('data-loaded', location.hash); // for the browser test: this route's data is in
}

function statsRow(d, grid) {
  const urgent = d.warnings_open.by_level.urgent || 0;
  const carUrgent = (d.care_open.by_priority.urgent && d.care_open.by_priority.urgent.total) || 0;
  return h('div', { class: 'stats six' },
    stat('stat-coverage', pct(d.coverage.ratio), 'ov_stat_coverage',
      t('ov_stat_coverage_sub', d.coverage.visited, d.coverage.vulnerable)),
    stat('stat-visits', d.visits.total, 'ov_stat_visits', t('ov_stat_visits_sub', d.visits.by_day.length)),
    stat('stat-care', d.care_open.total, 'ov_stat_care', t('ov_stat_care_sub', carUrgent), carUrgent ? 'attn' : ''),
    stat('stat-disputes', pct(d.disputes.ratio), 'ov_stat_disputes', t('ov_stat_disputes_sub', d.disputes.closed, d.disputes.total)),
    stat('stat-warnings', d.warnings_open.total, 'ov_stat_warnings', t('ov_stat_warnings_sub', urgent), urgent ? 'attn' : '', warningsHref({ grid })),
    stat('stat-silent', d.devices_silent.total, 'ov_stat_silent', t('ov_stat_silent_sub', d.rules.silent_days), d.devices_silent.total ? 'alert' : '', '#/devices'));
}

function coveragePanel(d) {
  const c = d.coverage;
  return panel('ov_coverage_title', 'coverage',
    h('div', { class: 'figure', attrs: { 'data-testid': 'coverage-figure' } },
      h('span', { class: 'big', text: pct(c.ratio) }),
      h('span', { class: 'of', text: t('ov_coverage_of', c.visited, c.vulnerable) })),
    ratioBar(c.ratio, 'ok', t('ov_coverage_of', c.visited, c.vulnerable)),
    h('p', { class: 'small muted', text: t('ov_coverage_note', d.rules.unvisited_days_alone, d.rules.unvisited_days) }));
}

function visitsPanel(d) {
  const days = d.visits.by_day;
  const peak = days.reduce((m, x) => Math.max(m, x.n), 0);
  return h('section', { class: 'panel wide', attrs: { 'data-testid': 'visits' } },
    h('h2', { text: t('ov_visits_title', days.length) }),
    h('p', { class: 'small muted', text: t('ov_visits_note', d.visits.total, days.length ? (d.visits.total / days.length).toFixed(1) : '0', peak) }),
    visitsChart(days));
}

function tagsPanel(d) {
  const by = d.residents.by_tag;
  const tags = enums('resident', 'tags');
  const max = Math.max(0, ...tags.map((e) => by[e.name] || 0));
  return panel('ov_tags_title', 'tags',
    h('p', { class: 'small muted', text: t('ov_tags_note', d.residents.tagged) }),
    h('table', { class: 'data compact', attrs: { 'data-testid': 'tags-table' } },
      h('tbody', null, tags.map((e) => h('tr', { attrs: { 'data-tag': e.name } },
        h('th', { text: lbl(e.label, e.name) }),
        num(by[e.name] || 0),
        h('td', { class: 'barcell' }, countBar(by[e.name] || 0, max, lbl(e.label, e.name) + ' ' + (by[e.name] || 0))))))));
}

function carePanel(d) {
  const c = d.care_open;
  const prios = enums('care', 'priority').slice().reverse(); // urgent first
  const row = (label, o, attrs, cls) => h('tr', { class: cls || '', attrs },
    h('th', { text: label }), num(o.total, 'strong'), AGES.map((a) => num(o[a], a === 'gt_7d' && o[a] ? 'hot' : '')));
  return panel('ov_care_title', 'care',
    h('p', { class: 'small muted', text: t('ov_care_note', c.total) }),
    h('table', { class: 'data compact', attrs: { 'data-testid': 'care-table' } },
      h('thead', null, h('tr', null, h('th', { text: t('ov_care_col_priority') }), h('th', { class: 'num', text: t('ov_col_total') }),
        AGES.map((a) => h('th', { class: 'num', text: t('ov_age_' + a) })))),
      h('tbody', null,
        prios.map((e) => row(lbl(e.label, e.name), c.by_priority[e.name] || { total: 0, lt_1d: 0, d1_3: 0, d3_7: 0, gt_7d: 0 }, { 'data-priority': e.name })),
        row(t('ov_col_total'), c.by_age, { 'data-priority': 'all' }, 'total'))));
}

function disputesPanel(d) {
  const x = d.disputes;
  return panel('ov_disputes_title', 'disputes',
    h('div', { class: 'figure', attrs: { 'data-testid': 'disputes-figure' } },
      h('span', { class: 'big', text: pct(x.ratio) }),
      h('span', { class: 'of', text: t('ov_disputes_of', x.closed, x.total) })),
    h('p', { class: 'small muted', text: t('ov_disputes_note') }),
    h('table', { class: 'data compact', attrs: { 'data-testid': 'disputes-table' } },
      h('thead', null, h('tr', null, ['ov_disputes_col_month', 'ov_disputes_col_total', 'ov_disputes_col_closed', 'ov_disputes_col_ratio']
        .map((k, i) => h('th', { class: i ? 'num' : '', text: t(k) })), h('th', null))),
      h('tbody', null, x.by_month.map((m) => h('tr', { attrs: { 'data-month': m.month } },
        h('th', { text: fmtMonth(m.month) }), num(m.total), num(m.closed), num(pct(m.ratio)),
        h('td', { class: 'barcell' }, ratioBar(m.ratio, 'ok', fmtMonth(m.month) + ' ' + pct(m.ratio))))))));
}

function warningsPanel(d, grid) {
  const w = d.warnings_open;
  const rules = enums('warning', 'rule');
  const levelLabel = (name) => {
    const e = enums('warning', 'level').find((x) => x.name === name);
    return e ? lbl(e.label, name) : name;
  };
  const cell = (n, filter, cls) => h('td', { class: 'num' },
    n ? h('a', { class: 'pill ' + cls, text: String(n), attrs: { href: warningsHref({ grid, ...filter }), 'data-rule': filter.rule || '', 'data-level': filter.level || '' } })
      : h('span', { class: 'muted', text: '0' }));
  return panel('ov_warnings_title', 'warnings-open',
    h('p', { class: 'small muted', text: t('ov_warnings_note', w.total) }),
    h('table', { class: 'data compact', attrs: { 'data-testid': 'warnings-table' } },
      h('thead', null, h('tr', null, h('th', { text: t('ov_warnings_col_rule') }),
        LEVELS.map((l) => h('th', { class: 'num', text: levelLabel(l) })), h('th', { class: 'num', text: t('ov_col_total') }))),
      h('tbody', null,
        rules.map((r) => {
          const x = w.by_rule[r.name] || {};
          return h('tr', { attrs: { 'data-rule': r.name } }, h('th', { text: lbl(r.label, r.name) }),
            LEVELS.map((l) => cell(x[l] || 0, { rule: r.name, level: l }, 'lv-' + l)),
            cell(x.total || 0, { rule: r.name }, 'lv-all'));
        }),
        h('tr', { class: 'total', attrs: { 'data-rule': 'all' } }, h('th', { text: t('ov_col_total') }),
          LEVELS.map((l) => cell(w.by_level[l] || 0, { level: l }, 'lv-' + l)),
          cell(w.total, {}, 'lv-all')))));
}

function silentPanel(d) {
  const s = d.devices_silent;
  return panel('ov_silent_title', 'silent',
    h('p', { class: 'small muted', text: t('ov_silent_note', d.rules.silent_days) }),
    s.devices.length
      ? h('table', { class: 'data compact', attrs: { 'data-testid': 'silent-devices' } },
        h('thead', null, h('tr', null, ['dev_col_name', 'dev_col_id', 'dev_col_grids', 'dev_col_last'].map((k) => h('th', { text: t(k) })))),
        h('tbody', null, s.devices.map((x) => h('tr', { class: 'silent', attrs: { 'data-device': x.id } },
          h('td', { text: x.name }),
          h('td', { class: 'mono', text: x.id }),
          h('td', { text: x.grids.join(t('list_sep')) }),
          h('td', null, x.last_sync_ms
            ? [h('div', { text: fmtTime(x.last_sync_ms) }), h('div', { class: 'small muted', text: ago(x.last_sync_ms, d.now_ms) })]
            : h('span', { class: 'muted', text: t('ov_silent_never', fmtTime(x.created_ms)) }))))))
      : h('p', { class: 'ok-state', text: t('ov_silent_none') }));
}

function gridsPanel(d) {
  const cols = ['ov_g_grid', 'ov_g_vulnerable', 'ov_g_coverage', 'ov_g_visits', 'ov_g_care', 'ov_g_disputes', 'ov_g_ratio', 'ov_g_warnings', 'ov_g_silent'];
  return h('section', { class: 'panel full', attrs: { 'data-testid': 'grid-breakdown' } },
    h('h2', { text: t('ov_grids_title') }),
    d.grids.length
      ? h('table', { class: 'data compact' },
        h('thead', null, h('tr', null, cols.map((k, i) => h('th', { class: i ? 'num' : '', text: t(k) })))),
        h('tbody', null, d.grids.map((g) => h('tr', { attrs: { 'data-grid': g.grid } },
          h('td', null, h('a', { class: 'strong', text: g.grid, attrs: { href: overviewHref(g.grid) } })),
          num(g.vulnerable), num(g.vulnerable ? t('ov_g_coverage_val', pct(g.coverage), g.visited, g.vulnerable) : pct(null)), num(g.visits), num(g.care_open),
          num(g.disputes), num(pct(g.dispute_ratio)),
          h('td', { class: 'num' }, g.warnings_open ? h('a', { class: 'pill lv-all', text: String(g.warnings_open), attrs: { href: warningsHref({ grid: g.grid }) } }) : '0'),
          num(g.devices_silent, g.devices_silent ? 'hot' : '')))))
      : h('p', { class: 'muted', text: t('grids_none') }));
}
