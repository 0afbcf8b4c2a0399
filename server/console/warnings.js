// warnings.js: 预警 / Warnings, the warnings the server's rules raised (docs/WARNINGS.md),
// from GET /v1/admin/warnings, in the API's order: open before acknowledged, the most
// urgent first (紧急, 关注, 提示), the oldest first; cleared ones after, newest first.
// Each card shows its subject in context (the resident's name, phone and address as the
// API gives them; for a resident not visited, the last visit the rule counts from; for a
// silent device its last sync) and lets the admin acknowledge it with a note
// (POST /v1/admin/warnings/{id}/ack), after which the list is read again.
//
// The filter lives in the route (#/warnings?state=&grid=&rule=&level=) so the overview's
// counts link here filtered and a reload keeps it. state and grid go to the server; rule
// and level, which the API does not filter by, are applied here to the pages it returns.
import { state, hooks, t, lbl, h, clear, fmtTime, ago, fieldOf, api, errorText, toast } from './core.js';

const SHOW = 20; // cards shown at once
const FETCH = 100; // warnings asked for per request
const MAX_PAGES = 20; // requests per "show more", when rule or level leave few matches
const STATES = ['open,acknowledged', 'open', 'acknowledged', 'cleared', 'all'];

function enumOf(field, name) {
  const f = fieldOf('warning', field);
  return (f && f.enums.find((e) => e.name === name)) || null;
}

// The label of a warning's enum value: the schema's, else the one the API sent with it.
function wlabel(w, field) {
  const e = enumOf(field, w[field]);
  if (e) return lbl(e.label, w[field]);
  return lbl(w.labels && w.labels[field], String(w[field]));
}

function ms(iso) {
  if (iso === null || iso === undefined) return 0;
  const v = typeof iso === 'number' ? iso : Date.parse(iso);
  return Number.isNaN(v) ? 0 : v;
}

export function warningsFilter(params) {
  const s = params.get('state');
  return {
    state: STATES.includes(s) ? s : STATES[0],
    grid: params.get('grid') || '',
    rule: params.get('rule') || '',
    level: params.get('level') || '',
  };
}

function href(f) {
  const q = new URLSearchParams();
  if (f.state !== STATES[0]) q.set('state', f.state);
  for (const k of ['grid', 'rule', 'level']) if (f[k]) q.set(k, f[k]);
  const s = q.toString();
  return '#/warnings' + (s ? '?' + s : '');
}

function go(f) {
  const target = href(f);
  if (location.hash === target) hooks.render();
  else location.hash = target;
}

// ---- the page ---------------------------------------------------------------------------

export async function warningsView(main, params) {
  const f = warningsFilter(params);
  const list = h('div', { class: 'list', attrs: { 'data-testid': 'warnings' } }, h('p', { class: 'muted', text: t('loading') }));
  const count = h('p', { class: 'count', attrs: { 'data-testid': 'warnings-count' } });
  const stateLabel = (s) => {
    if (s === 'open,acknowledged') return t('w_state_live');
    if (s === 'all') return t('filter_all');
    const e = enumOf('state', s);
    return e ? lbl(e.label, s) : s;
  };
  const seg = (s) => h('button', {
    class: f.state === s ? 'seg on' : 'seg', text: stateLabel(s),
    attrs: { type: 'button', 'aria-pressed': f.state === s ? 'true' : 'false', 'data-state': s },
    on: { click: () => go({ ...f, state: s }) },
  });
  const select = (id, allKey, options, value, key) => {
    const s = h('select', { attrs: { id, 'data-testid': id } }, h('option', { text: t(allKey), attrs: { value: '' } }),
      options.map((o) => h('option', { text: o.text, attrs: { value: o.value, selected: o.value === value } })));
    s.addEventListener('change', () => go({ ...f, [key]: s.value }));
    return s;
  };
  const ruleField = fieldOf('warning', 'rule');
  const levelField = fieldOf('warning', 'level');
  const ruleSelect = select('warnings-rule', 'w_all_rules',
    (ruleField ? ruleField.enums : []).map((e) => ({ value: e.name, text: lbl(e.label, e.name) })), f.rule, 'rule');
  const levelSelect = select('warnings-level', 'w_all_levels',
    (levelField ? levelField.enums.slice().reverse() : []).map((e) => ({ value: e.name, text: lbl(e.label, e.name) })), f.level, 'level');
  const gridSelect = h('select', { attrs: { id: 'warnings-grid', 'data-testid': 'warnings-grid' } },
    h('option', { text: t('filter_all_grids'), attrs: { value: '' } }));
  gridSelect.addEventListener('change', () => go({ ...f, grid: gridSelect.value }));
  main.appendChild(
    h('section', { class: 'page' },
      h('div', { class: 'toolbar' },
        h('h1', { text: t('nav_warnings') }),
        h('div', { class: 'segs', attrs: { role: 'group', 'data-testid': 'warnings-state' } }, STATES.map(seg)),
        h('span', { class: 'spacer' }),
        h('button', { class: 'ghost', text: t('refresh'), attrs: { type: 'button' }, on: { click: () => hooks.render() } })),
      h('div', { class: 'toolbar filters' },
        h('label', { class: 'inline' }, h('span', { text: t('filter_grid') }), gridSelect),
        h('label', { class: 'inline' }, h('span', { text: t('w_filter_rule') }), ruleSelect),
        h('label', { class: 'inline' }, h('span', { text: t('w_filter_level') }), levelSelect)),
      h('p', { class: 'intro', text: t('warnings_intro') + ' ' + t('times_note') }),
      count,
      list));

  let st;
  const loader = { after: null, done: false, items: [] };
  const matches = (w) => (!f.rule || w.rule === f.rule) && (!f.level || w.level === f.level);
  const fill = async (want) => {
    for (let pages = 0; !loader.done && loader.items.length < want && pages < MAX_PAGES; pages++) {
      const q = new URLSearchParams({ state: f.state, limit: String(FETCH) });
      if (f.grid) q.set('grid', f.grid);
      if (loader.after) q.set('after', loader.after);
      const r = await api('GET', '/v1/admin/warnings?' + q.toString());
      for (const w of r.warnings) if (matches(w)) loader.items.push(w);
      loader.after = r.next_after;
      loader.done = !r.next_after;
    }
  };
  try {
    [st] = await Promise.all([api('GET', '/v1/admin/status'), fill(SHOW)]);
  } catch (e) {
    clear(list);
    list.appendChild(h('p', { class: 'error', text: errorText(e) }));
    return;
  }
  state.grids = st.grids.map((g) => g.grid).sort();
  const grids = !f.grid || state.grids.includes(f.grid) ? state.grids : state.grids.concat([f.grid]);
  for (const g of grids) gridSelect.appendChild(h('option', { text: g, attrs: { value: g, selected: g === f.grid } }));
  const showCount = () => {
    count.textContent = loader.done ? t('w_count', loader.items.length) : t('w_count_more', loader.items.length);
  };
  showCount();
  clear(list);
  list.setAttribute('data-loaded', location.hash); // for the browser test: this route's data is in
  if (!loader.items.length) {
    list.appendChild(h('div', { class: 'empty-state', text: f.state.includes('open') && !f.rule && !f.level ? t('w_none_open') : t('w_none') }));
    return;
  }
  let shown = 0;
  const showSome = () => {
    const more = list.querySelector('.more');
    if (more) more.remove();
    const end = Math.min(loader.items.length, shown + SHOW);
    for (; shown < end; shown++) list.appendChild(warningCard(loader.items[shown], st));
    if (shown < loader.items.length || !loader.done) {
      const left = loader.items.length - shown;
      const b = h('button', {
        class: 'ghost more', text: loader.done ? t('show_more', left) : t('w_load_more'), attrs: { type: 'button' },
        on: {
          click: async () => {
            b.disabled = true;
            try {
              await fill(shown + SHOW);
            } catch (e) {
              toast(errorText(e));
            }
            showCount();
            showSome();
          },
        },
      });
      list.appendChild(b);
    }
  };
  showSome();
}

// ---- one warning ------------------------------------------------------------------------

// The time the rule counts from, named for what it is for this rule.
function sinceKey(rule) {
  switch (rule) {
    case 'unvisited_vulnerable': return 'w_since_unvisited';
    case 'care_overdue': return 'w_since_care';
    case 'dispute_open': return 'w_since_dispute';
    case 'dispute_repeated': return 'w_since_repeated';
    case 'hazard_open': return 'w_since_hazard';
    case 'device_silent': return 'w_since_device';
    default: return 'w_since';
  }
}

function row(key, value, cls) {
  return [h('dt', { text: t(key) }), h('dd', { class: cls || '' }, value)];
}

function textOr(v, cls) {
  return v === null || v === undefined || v === '' ? h('span', { class: 'muted', text: t('w_not_recorded') }) : h('span', { class: cls || 'val', text: String(v) });
}

function when(msValue, now) {
  return msValue ? [fmtTime(msValue), h('span', { class: 'muted', text: ' · ' + ago(msValue, now) })] : h('span', { class: 'muted', text: t('w_not_recorded') });
}

function contextList(w, st) {
  const now = st.now_ms;
  const rows = [];
  if (w.resident) {
    rows.push(row('w_resident', textOr(w.resident.name, 'strong')));
    rows.push(row('w_phone', textOr(w.resident.phone, 'mono')));
    rows.push(row('w_address', textOr(w.resident.address)));
    // an unvisited warning's own "since" is the last visit (below)
    if (w.rule !== 'unvisited_vulnerable') rows.push(row('w_last_visit', w.resident.last_visit ? when(ms(w.resident.last_visit), now) : h('span', { class: 'muted', text: t('w_never_visited') })));
  } else if (w.device || w.subject_type === 'device') {
    const dev = (st.devices || []).find((x) => x.id === (w.device ? w.device.id : w.subject));
    rows.push(row('w_device', [textOr(w.device ? w.device.name : null, 'strong'), ' ', h('span', { class: 'mono small', text: w.device ? w.device.id : String(w.subject) })]));
    if (dev) {
      rows.push(row('w_device_grids', textOr(dev.grids.join(t('list_sep')))));
      rows.push(row('w_device_last', dev.last_sync_ms ? when(dev.last_sync_ms, now) : h('span', { class: 'muted', text: t('dev_never') })));
    }
  } else {
    rows.push(row('w_subject', [wlabel(w, 'subject_type'), ' ', h('span', { class: 'mono small', text: String(w.subject) })]));
  }
  const since = when(ms(w.since), now);
  rows.push(row(sinceKey(w.rule), w.rule === 'unvisited_vulnerable' && w.since
    ? [since, h('span', { class: 'muted small', text: ' ' + t('w_since_unvisited_hint') })] : since));
  return h('dl', { class: 'meta w-context', attrs: { 'data-testid': 'warning-context' } }, rows);
}

function ackInfo(w, now) {
  const parts = [];
  if (w.state === 'acknowledged' || w.ack_at) {
    parts.push(h('p', { class: 'ack-head', text: t('w_acked_by', w.ack_by || t('w_not_recorded'), fmtTime(ms(w.ack_at))) }));
  }
  if (w.note) parts.push(h('p', null, h('b', { text: t('w_note') + t('colon') }), h('span', { class: 'note', text: w.note })));
  if (w.state === 'cleared') parts.push(h('p', { class: 'cleared-head', text: t('w_cleared_at', fmtTime(ms(w.cleared_at)), ago(ms(w.cleared_at), now)) }));
  return parts.length ? h('div', { class: 'w-ack ' + w.state, attrs: { 'data-testid': 'warning-ack' } }, parts) : null;
}

function ackForm(w) {
  const id = 'ack-note-' + w.id;
  const err = h('p', { class: 'error', attrs: { role: 'alert' } });
  const note = h('textarea', { attrs: { id, rows: 1, maxlength: 4000, placeholder: t('w_ack_note_ph') } });
  const again = w.state === 'acknowledged';
  const submit = h('button', { class: 'primary', text: again ? t('w_ack_again') : t('w_ack_submit'), attrs: { type: 'submit', 'data-testid': 'ack-submit' } });
  const form = h('form', { class: 'ack', attrs: { 'data-testid': 'ack-' + w.id } },
    h('label', { class: 'note-label', text: again ? t('w_ack_note_again') : t('w_ack_note'), attrs: { for: id } }),
    h('div', { class: 'ack-row' }, note, submit), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const body = {};
    if (note.value.trim()) body.note = note.value.trim();
    submit.disabled = true;
    submit.textContent = t('w_ack_busy');
    try {
      await api('POST', '/v1/admin/warnings/' + encodeURIComponent(w.id) + '/ack', body);
      hooks.render(); // the list again, as the server now has it
      toast(t('w_ack_done'));
    } catch (e) {
      if (e.status === 409) err.textContent = t('w_ack_cleared');
      else if (e.status === 400) err.textContent = t('w_ack_invalid', e.message);
      else err.textContent = errorText(e);
      submit.disabled = false;
      submit.textContent = again ? t('w_ack_again') : t('w_ack_submit');
    }
  });
  return form;
}

function warningCard(w, st) {
  const stateBadge = h('span', { class: 'status w-' + w.state, text: wlabel(w, 'state') });
  return h('article', {
    class: 'warning card lv-' + w.level + (w.state === 'cleared' ? ' cleared' : ''),
    attrs: { 'data-id': w.id, 'data-testid': 'warning-' + w.id, 'data-rule': w.rule, 'data-level': w.level, 'data-state': w.state },
  },
  h('header', { class: 'c-head' },
    h('span', { class: 'level lv-' + w.level, text: wlabel(w, 'level') }),
    h('span', { class: 'badge', text: wlabel(w, 'rule') }),
    h('span', { class: 'chip' }, h('b', { text: t('chip_grid') }), ' ', String(w.grid)),
    h('span', { class: 'spacer' }),
    stateBadge),
  // the title is the server's, in Chinese whatever the page's language
  h('h2', { class: 'w-title', text: w.title, attrs: { lang: 'zh-CN', 'data-testid': 'warning-title' } }),
  contextList(w, st),
  ackInfo(w, st.now_ms),
  w.state === 'cleared' ? null : ackForm(w));
}
