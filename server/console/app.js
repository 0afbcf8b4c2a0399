// app.js: the gridsync admin console, a small single-page app over the JSON admin API
// (docs/ADMIN-API.md, docs/CONSOLE.md). No framework, no build step, nothing from elsewhere.
//
// Rules this file keeps:
//  - every string shown comes from STRINGS (strings.js) or from the server's schema labels;
//  - data from the field is only ever inserted as text (createTextNode / textContent);
//    there is no innerHTML anywhere, and the server's CSP (require-trusted-types-for)
//    makes Chromium refuse one if it slipped in;
//  - the admin token is only sent once, in the body of POST /admin/session; afterwards the
//    page holds the per-session csrf token (in memory) and the browser holds the HttpOnly
//    session cookie;
//  - every API call sends "Authorization: Session <csrf>"; a 401 returns to the sign-in.
// The helpers these rules are kept by (h, svg, t, api...) are in core.js, shared with the
// other pages' modules.
import {
  PAGE, UUID_RE, state, hooks, t, lbl, h, append, clear, fmtTime, ago, tableOf, fieldOf, valueNode,
  api, errorText, toast,
} from './core.js';
import { overviewView } from './overview.js';
import { warningsView } from './warnings.js';
import { addDevice, enrolments, deviceActions } from './devices.js';

// ---- the frame -------------------------------------------------------------------------

function setLang(lang) {
  state.lang = lang;
  try {
    localStorage.setItem('gs-lang', lang);
  } catch (e) {
    // private windows may refuse storage: the switch still works for this page
  }
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  render();
}

function langButton() {
  return h('button', {
    class: 'lang', text: t('lang_switch'),
    attrs: { type: 'button', title: t('lang_switch_title'), 'data-testid': 'lang' },
    on: { click: () => setLang(state.lang === 'zh' ? 'en' : 'zh') },
  });
}

function render() {
  document.title = t('app_title');
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  const app = document.getElementById('app');
  clear(app);
  if (!state.session) {
    app.appendChild(signinView());
    const input = document.getElementById('token');
    if (input) input.focus();
    return;
  }
  const { view, params } = route();
  state.view = view;
  const navLink = (id, href, key) =>
    h('a', { class: state.view === id ? 'active' : '', text: t(key), attrs: { href, 'aria-current': state.view === id ? 'page' : false, 'data-nav': id } });
  const main = h('main', { attrs: { id: 'main' } });
  app.appendChild(
    h('header', { class: 'top' },
      h('div', { class: 'brand' }, h('span', { class: 'logo', attrs: { 'aria-hidden': 'true' } }), h('span', { class: 'name', text: 'gridsync' }),
        h('span', { class: 'sub', text: t('app_sub') })),
      h('nav', null, navLink('overview', '#/overview', 'nav_overview'), navLink('warnings', '#/warnings', 'nav_warnings'),
        navLink('conflicts', '#/conflicts', 'nav_conflicts'), navLink('devices', '#/devices', 'nav_devices')),
      h('div', { class: 'who' },
        langButton(),
        h('span', { class: 'admin', text: t('signed_in_as', state.session.name ? state.session.name + ' · ' + state.session.role + (state.session.towns && state.session.towns.length ? ' ' + state.session.towns.join('、') : '') : state.session.admin) }),
        h('button', { class: 'ghost', text: t('sign_out'), attrs: { type: 'button', 'data-testid': 'signout' }, on: { click: signOut } }))));
  app.appendChild(main);
  app.appendChild(h('div', { class: 'toast', attrs: { id: 'toast', role: 'status', 'aria-live': 'polite' } }));
  if (view === 'devices') devicesView(main);
  else if (view === 'conflicts') conflictsView(main);
  else if (view === 'warnings') warningsView(main, params);
  else overviewView(main, params);
}

// The page a hash names: #/overview (the first page, also for an empty or unknown hash),
// #/warnings, #/conflicts, #/devices, each with an optional ?query of its filter.
function route() {
  const raw = location.hash.replace(/^#/, '');
  const i = raw.indexOf('?');
  const path = i < 0 ? raw : raw.slice(0, i);
  const views = { '/overview': 'overview', '/warnings': 'warnings', '/conflicts': 'conflicts', '/devices': 'devices' };
  return { view: views[path] || 'overview', params: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
}

// ---- sign-in and sign-out -------------------------------------------------------------

function signinView() {
  const err = h('p', { class: 'error', attrs: { role: 'alert' } });
  if (state.notice) err.textContent = state.notice;
  const input = h('input', {
    attrs: { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true },
  });
  const button = h('button', { class: 'primary', text: t('signin_submit'), attrs: { type: 'submit' } });
  // method=post and an action: were the script to fail, the browser would POST the form
  // (refused with 415), never put the token in a URL
  const form = h('form', { attrs: { method: 'post', action: '/admin/session', autocomplete: 'off' } },
    h('label', { text: t('signin_token'), attrs: { for: 'token' } }),
    input,
    h('p', { class: 'hint', text: t('signin_hint') }),
    err,
    button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      err.textContent = t('signin_empty');
      return;
    }
    button.disabled = true;
    button.textContent = t('signin_busy');
    err.textContent = '';
    try {
      const r = await fetch('/admin/session', {
        method: 'POST', credentials: 'same-origin', cache: 'no-store',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }),
      });
      input.value = '';
      if (r.status === 401) {
        err.textContent = t('signin_bad');
      } else if (!r.ok) {
        err.textContent = t('err_server', r.status, '');
      } else {
        state.session = await r.json();
        state.notice = '';
        await enter();
        return;
      }
    } catch (e) {
      err.textContent = t('err_network');
    }
    button.disabled = false;
    button.textContent = t('signin_submit');
  });
  return h('main', { class: 'signin' },
    h('div', { class: 'signin-card' },
      h('div', { class: 'signin-head' },
        h('span', { class: 'logo big', attrs: { 'aria-hidden': 'true' } }),
        h('div', null, h('h1', { text: t('app_title') }), h('p', { class: 'sub', text: t('signin_title') }))),
      form,
      h('div', { class: 'signin-foot' }, langButton())));
}

async function signOut() {
  try {
    await api('DELETE', '/admin/session');
  } catch (e) {
    // the session may be gone already; the page forgets it either way
  }
  state.session = null;
  state.schema = null;
  state.notice = t('signed_out');
  render();
}

async function enter() {
  if (!state.schema) {
    try {
      state.schema = await api('GET', '/v1/admin/schema');
    } catch (e) {
      if (!state.session) return;
      state.schema = { tables: [] };
    }
  }
  render();
}

// ---- conflicts -------------------------------------------------------------------------

async function conflictsView(main) {
  const list = h('div', { class: 'list', attrs: { 'data-testid': 'conflicts' } }, h('p', { class: 'muted', text: t('loading') }));
  const count = h('p', { class: 'count' });
  const gridSelect = h('select', { attrs: { id: 'grid-filter' } }, h('option', { text: t('filter_all_grids'), attrs: { value: '' } }));
  const seg = (value, key) =>
    h('button', {
      class: state.filter.state === value ? 'seg on' : 'seg', text: t(key),
      attrs: { type: 'button', 'aria-pressed': state.filter.state === value ? 'true' : 'false' },
      on: { click: () => { state.filter.state = value; state.shown = PAGE; render(); } },
    });
  main.appendChild(
    h('section', { class: 'page' },
      h('div', { class: 'toolbar' },
        h('h1', { text: t('nav_conflicts') }),
        h('div', { class: 'segs', attrs: { role: 'group' } }, seg('open', 'filter_open'), seg('all', 'filter_all')),
        h('label', { class: 'inline' }, h('span', { text: t('filter_grid') }), gridSelect),
        h('span', { class: 'spacer' }),
        h('button', { class: 'ghost', text: t('refresh'), attrs: { type: 'button' }, on: { click: render } })),
      h('p', { class: 'intro', text: t('conflicts_intro') + ' ' + t('times_note') }),
      count,
      list));
  gridSelect.addEventListener('change', () => {
    state.filter.grid = gridSelect.value;
    state.shown = PAGE;
    render();
  });
  let conflicts;
  try {
    const q = new URLSearchParams({ state: state.filter.state });
    if (state.filter.grid) q.set('grid', state.filter.grid);
    const [cl, st] = await Promise.all([api('GET', '/v1/admin/conflicts?' + q.toString()), api('GET', '/v1/admin/status')]);
    conflicts = cl.conflicts;
    state.grids = st.grids.map((g) => g.grid).sort();
  } catch (e) {
    clear(list);
    list.appendChild(h('p', { class: 'error', text: errorText(e) }));
    return;
  }
  for (const g of state.grids) {
    gridSelect.appendChild(h('option', { text: g, attrs: { value: g, selected: g === state.filter.grid } }));
  }
  if (state.filter.state === 'all') conflicts = conflicts.slice().reverse(); // newest first
  let open = conflicts.filter((c) => c.status === 'open').length;
  const showCount = () => {
    count.textContent = state.filter.state === 'open' ? t('conflicts_count_open', open) : t('conflicts_count_all', conflicts.length);
  };
  showCount();
  list.addEventListener('gs-resolved', () => {
    open = Math.max(0, open - 1);
    showCount();
  });
  clear(list);
  if (!conflicts.length) {
    list.appendChild(h('div', { class: 'empty-state', text: state.filter.state === 'open' ? t('conflicts_none_open') : t('conflicts_none') }));
    return;
  }
  const showSome = () => {
    const start = list.querySelectorAll('article.conflict').length;
    const end = Math.min(conflicts.length, state.shown);
    const more = list.querySelector('.more');
    if (more) more.remove();
    for (let i = start; i < end; i++) list.appendChild(conflictCard(conflicts[i]));
    if (end < conflicts.length) {
      list.appendChild(h('button', {
        class: 'ghost more', text: t('show_more', conflicts.length - end), attrs: { type: 'button' },
        on: { click: () => { state.shown += PAGE; showSome(); } },
      }));
    }
  };
  showSome();
}

function policyText(policy) {
  if (policy === 'lww') return t('policy_lww');
  if (policy === 'status') return t('policy_status');
  if (policy === 'delete') return t('policy_delete');
  return t('policy_unknown', policy);
}

function sideBox(c, which, refs) {
  const s = c[which];
  const worker = s.device === 'admin' ? t('worker_admin') : s.worker ? s.worker : t('worker_unknown');
  return h('div', { class: 'side ' + which, attrs: { 'data-testid': 'side-' + which } },
    h('div', { class: 'side-title' }, which === 'winner' ? h('span', { class: 'tick', text: '✓' }) : null,
      which === 'winner' ? t('side_winner') : t('side_other')),
    h('div', { class: 'value' }, valueNode(c.table, c.field, s.value, refs)),
    h('dl', { class: 'meta' },
      h('dt', { text: t('meta_worker') }), h('dd', null, worker),
      h('dt', { text: t('meta_device') }), h('dd', { class: 'mono' }, s.device),
      h('dt', { text: t('meta_time') }), h('dd', null, fmtTime(s.time_ms))));
}

function conflictCard(c) {
  const tb = tableOf(c.table);
  const f = fieldOf(c.table, c.field);
  const residentChip = h('span', { class: 'chip hidden' });
  const sides = h('div', { class: 'sides' }, sideBox(c, 'winner', []), sideBox(c, 'other', []));
  const context = h('div', { class: 'context-body' }, h('p', { class: 'muted', text: t('context_loading') }));
  const action = h('div', { class: 'action' });
  const statusBadge = h('span', { class: 'status ' + c.status, text: c.status === 'open' ? t('status_open') : t('status_resolved') });
  const card = h('article', { class: 'conflict card', attrs: { 'data-id': c.id, 'data-testid': 'conflict-' + c.id } },
    h('header', { class: 'c-head' },
      h('span', { class: 'badge', text: lbl(tb && tb.label, c.table) }),
      h('h2', { text: lbl(f && f.label, c.field) }),
      h('span', { class: 'chip' }, h('b', { text: t('chip_grid') }), ' ', c.grid),
      residentChip,
      h('span', { class: 'spacer' }),
      statusBadge,
      h('span', { class: 'muted small', text: t('conflict_no', c.id) + ' · ' + t('conflict_found', fmtTime(c.created_ms)) })),
    sides,
    h('p', { class: 'policy' }, h('b', { text: t('policy_label') }), policyText(c.policy), ' ',
      c.winner_side === 'pushed' ? t('winner_pushed') : t('winner_stored')),
    h('details', { class: 'context' }, h('summary', { text: t('context_title') }), context),
    action);
  const fill = (d) => {
    if (d.resident && d.resident.name !== null && d.resident.name !== undefined) {
      residentChip.classList.remove('hidden');
      clear(residentChip);
      append(residentChip, [h('b', { text: t('chip_resident') }), ' ', String(d.resident.name)]);
    }
    const refs = (d.record_state && d.record_state.refs) || [];
    clear(sides);
    append(sides, [sideBox(d, 'winner', refs), sideBox(d, 'other', refs)]);
    fillContext(context, d);
    statusBadge.className = 'status ' + d.status;
    statusBadge.textContent = d.status === 'open' ? t('status_open') : t('status_resolved');
    card.classList.toggle('resolved', d.status !== 'open');
    // an open form is left alone: the admin may already be choosing in it
    if (d.resolution) {
      clear(action);
      action.appendChild(resolutionBox(d));
    } else if (d.status === 'open' && !action.firstChild) {
      action.appendChild(resolveForm(d, fill));
    }
  };
  if (c.status === 'open') action.appendChild(resolveForm(c, fill));
  api('GET', '/v1/admin/conflicts/' + encodeURIComponent(c.id)).then(fill, (e) => {
    clear(context);
    context.appendChild(h('p', { class: 'error', text: errorText(e) }));
  });
  return card;
}

function fillContext(box, d) {
  clear(box);
  const rs = d.record_state || {};
  const tb = tableOf(d.table);
  if (!rs.exists) {
    box.appendChild(h('p', { class: 'muted', text: t('context_missing') }));
    return;
  }
  if (rs.deleted) box.appendChild(h('p', { class: 'warn', text: t('context_deleted') }));
  const rows = [];
  const fields = tb ? tb.fields.filter((f) => !f.implicit) : Object.keys(rs.fields || {}).map((n) => ({ name: n }));
  for (const f of fields) {
    if (!rs.fields || !(f.name in rs.fields)) continue;
    rows.push(h('tr', { class: f.name === d.field ? 'hl' : '' },
      h('th', { text: lbl(f.label, f.name) }),
      h('td', null, valueNode(d.table, f.name, rs.fields[f.name], rs.refs))));
  }
  box.appendChild(h('table', { class: 'kv' }, h('tbody', null, rows)));
  if (d.current) {
    box.appendChild(h('p', { class: 'small' }, h('b', { text: t('context_current') + ': ' }),
      valueNode(d.table, d.field, d.current.value, rs.refs)));
  }
  box.appendChild(h('p', { class: 'small muted' }, t('context_id') + ' ', h('span', { class: 'mono', text: d.record }),
    ' · ' + t('context_version') + ' ' + String(rs.version)));
}

function resolutionBox(d) {
  const r = d.resolution;
  return h('div', { class: 'resolution', attrs: { 'data-testid': 'resolution' } },
    h('p', { class: 'res-head', text: t('resolution_by', r.admin, fmtTime(r.at_ms)) }),
    h('p', null, h('b', { text: t('resolution_value') + '：' }), valueNode(d.table, d.field, r.new.value, d.record_state && d.record_state.refs)),
    h('p', null, h('b', { text: t('resolution_note') + '：' }), r.note ? h('span', { class: 'note', text: r.note }) : h('span', { class: 'muted', text: t('resolution_no_note') })));
}

// An input for a value of field f; returns {node, read()} where read() gives the JSON value
// or throws an Error whose message is for people.
function valueEditor(tableName, f, id) {
  if (!f) {
    const i = h('input', { attrs: { id, type: 'text' } });
    return { node: i, read: () => i.value };
  }
  switch (f.type) {
    case 'enum': {
      const s = h('select', { attrs: { id } }, h('option', { text: t('editor_choose'), attrs: { value: '' } }),
        f.enums.map((e) => h('option', { text: lbl(e.label, e.name), attrs: { value: e.name } })));
      return { node: s, read: () => { if (!s.value) throw new Error(t('editor_required')); return s.value; } };
    }
    case 'tags': {
      const boxes = f.enums.map((e) => ({ e, i: h('input', { attrs: { type: 'checkbox', value: e.name } }) }));
      const node = h('div', { class: 'tags', attrs: { id } }, boxes.map(({ e, i }) => h('label', { class: 'tag' }, i, ' ', lbl(e.label, e.name))));
      return { node, read: () => boxes.filter((b) => b.i.checked).map((b) => b.e.name) };
    }
    case 'bool': {
      const yes = f.name === 'deleted' ? t('deleted_true') : t('yes');
      const no = f.name === 'deleted' ? t('deleted_false') : t('no');
      const s = h('select', { attrs: { id } }, h('option', { text: yes, attrs: { value: '1' } }), h('option', { text: no, attrs: { value: '0' } }));
      return { node: s, read: () => s.value === '1' };
    }
    case 'int':
    case 'real': {
      const i = h('input', { attrs: { id, type: 'number', step: f.type === 'int' ? '1' : 'any', min: f.min, max: f.max } });
      return {
        node: i,
        read: () => {
          const v = Number(i.value);
          if (i.value.trim() === '' || !Number.isFinite(v) || (f.type === 'int' && !Number.isInteger(v))) throw new Error(t('editor_bad_number'));
          return v;
        },
      };
    }
    case 'time': {
      const i = h('input', { attrs: { id, type: 'datetime-local' } });
      return {
        node: i,
        read: () => {
          // the deployment's zone is UTC+8 all year (no daylight saving time)
          const ms = Date.parse(i.value + (i.value.length === 16 ? ':00' : '') + '+08:00');
          if (!i.value || Number.isNaN(ms)) throw new Error(t('editor_bad_time'));
          return ms;
        },
      };
    }
    case 'ref': {
      const i = h('input', { class: 'mono', attrs: { id, type: 'text', spellcheck: 'false', placeholder: '0190f5a4-7b3c-7def-8a12-3456789abcde' } });
      return { node: i, read: () => { const v = i.value.trim(); if (!UUID_RE.test(v)) throw new Error(t('editor_bad_id')); return v.toLowerCase(); } };
    }
    default: {
      const big = !f.max_len || f.max_len > 200;
      const i = big ? h('textarea', { attrs: { id, rows: 3 } }) : h('input', { attrs: { id, type: 'text' } });
      return { node: i, read: () => i.value };
    }
  }
}

function resolveForm(c, onResolved) {
  const f = fieldOf(c.table, c.field);
  const name = 'keep-' + c.id;
  const editor = valueEditor(c.table, f, 'value-' + c.id);
  editor.node.classList.add('editor');
  const err = h('p', { class: 'error', attrs: { role: 'alert' } });
  const note = h('textarea', { attrs: { id: 'note-' + c.id, rows: 2, maxlength: 1000, placeholder: t('resolve_note_ph') } });
  const radio = (value, text, extra) =>
    h('label', { class: 'choice' },
      h('input', { attrs: { type: 'radio', name, value, checked: value === 'winner', 'data-testid': 'keep-' + value } }),
      h('span', null, text), extra ? h('span', { class: 'choice-val' }, extra) : null);
  const submit = h('button', { class: 'primary', text: t('resolve_submit'), attrs: { type: 'submit', 'data-testid': 'resolve-submit' } });
  const editorWrap = h('div', { class: 'editor-wrap' }, editor.node);
  const form = h('form', { class: 'resolve', attrs: { 'data-testid': 'resolve-' + c.id } },
    h('fieldset', null,
      h('legend', { text: t('resolve_title') }),
      radio('winner', t('resolve_keep_winner'), valueNode(c.table, c.field, c.winner.value)),
      radio('other', t('resolve_keep_other'), valueNode(c.table, c.field, c.other.value)),
      radio('value', t('resolve_value')),
      editorWrap),
    h('label', { class: 'note-label', text: t('resolve_note'), attrs: { for: 'note-' + c.id } }),
    note,
    err,
    h('div', { class: 'form-foot' }, submit));
  const sync = () => {
    const v = form.querySelector('input[name="' + name + '"]:checked');
    editorWrap.classList.toggle('hidden', !v || v.value !== 'value');
  };
  form.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const choice = form.querySelector('input[name="' + name + '"]:checked').value;
    const body = {};
    try {
      if (choice === 'value') body.value = editor.read();
      else body.keep = choice;
    } catch (e) {
      err.textContent = e.message;
      return;
    }
    if (note.value.trim()) body.note = note.value.trim();
    submit.disabled = true;
    submit.textContent = t('resolve_busy');
    try {
      const d = await api('POST', '/v1/admin/conflicts/' + encodeURIComponent(c.id) + '/resolve', body);
      form.dispatchEvent(new CustomEvent('gs-resolved', { bubbles: true }));
      onResolved(d);
      toast(t('resolve_done', c.id));
    } catch (e) {
      if (e.status === 409) err.textContent = t('resolve_already');
      else if (e.status === 400) err.textContent = t('resolve_invalid', e.message);
      else err.textContent = errorText(e);
      submit.disabled = false;
      submit.textContent = t('resolve_submit');
    }
  });
  return form;
}

// ---- devices and grids ----------------------------------------------------------------

function resultText(r) {
  if (!r) return '';
  const m = /^ok ch=(\d+) acc=(\d+) rej=(\d+) dup=\d+ conf=(\d+) pull=(\d+)$/.exec(r);
  if (m) return t('result_ok', m[1], m[2], m[3], m[4], m[5]);
  return t('result_failed', r);
}

async function devicesView(main) {
  const body = h('div', null, h('p', { class: 'muted', text: t('loading') }));
  const addBox = h('div', { class: 'enrol-box' });
  main.appendChild(
    h('section', { class: 'page' },
      h('div', { class: 'toolbar' },
        h('h1', { text: t('nav_devices') }),
        h('span', { class: 'spacer' }),
        addDevice(addBox, () => refreshDevices(main, addBox)),
        h('button', { class: 'ghost', text: t('refresh'), attrs: { type: 'button' }, on: { click: render } })),
      addBox,
      body));
  await devicesBody(body, addBox);
}

// Reads the devices again below a card of a code just made (which a render would drop).
function refreshDevices(main, addBox) {
  const body = main.querySelector('section.page > div:last-child');
  if (!body) return;
  clear(body);
  devicesBody(body, addBox);
}

async function devicesBody(body, addBox) {
  let st;
  try {
    st = await api('GET', '/v1/admin/status');
  } catch (e) {
    clear(body);
    body.appendChild(h('p', { class: 'error', text: errorText(e) }));
    return;
  }
  clear(body);
  const days = st.silent_days;
  const devices = st.devices.slice().sort((a, b) => {
    const rank = (d) => (d.revoked ? 2 : d.silent ? 0 : 1);
    return rank(a) - rank(b) || (a.last_sync_ms || 0) - (b.last_sync_ms || 0) || (a.id < b.id ? -1 : 1);
  });
  const nSilent = devices.filter((d) => d.silent).length;
  const nRevoked = devices.filter((d) => d.revoked).length;
  const nOpen = st.grids.reduce((s, g) => s + g.open_conflicts, 0);
  const stat = (n, key, cls, arg) => h('div', { class: 'stat ' + (cls || '') }, h('div', { class: 'n', text: String(n) }), h('div', { class: 'l', text: t(key, arg) }));
  body.appendChild(h('p', { class: 'intro', text: t('devices_intro', days) + ' ' + t('times_note') }));
  body.appendChild(h('div', { class: 'stats' },
    stat(devices.length, 'devices_stat_total'),
    stat(nSilent, 'devices_stat_silent', nSilent ? 'alert' : '', days),
    stat(nRevoked, 'devices_stat_revoked'),
    stat(nOpen, 'devices_stat_conflicts', nOpen ? 'attn' : '')));

  // per grid: record counts by type (labels from the schema) and open conflicts
  const tables = state.schema ? state.schema.tables : [];
  const perGrid = new Map();
  for (const d of devices) if (!d.revoked) for (const g of d.grids) perGrid.set(g, (perGrid.get(g) || 0) + 1);
  body.appendChild(h('h2', { text: t('grids_title') }));
  if (!st.grids.length) {
    body.appendChild(h('p', { class: 'muted', text: t('grids_none') }));
  } else {
    const grids = st.grids.slice().sort((a, b) => (a.grid < b.grid ? -1 : 1));
    body.appendChild(h('table', { class: 'data', attrs: { 'data-testid': 'grids' } },
      h('thead', null, h('tr', null, h('th', { text: t('grids_col_grid') }), tables.map((tb) => h('th', { class: 'num', text: lbl(tb.label, tb.name) })),
        h('th', { class: 'num', text: t('grids_col_devices') }), h('th', { class: 'num', text: t('grids_col_conflicts') }))),
      h('tbody', null, grids.map((g) => h('tr', null,
        h('td', { class: 'strong', text: g.grid }),
        tables.map((tb) => h('td', { class: 'num', text: String((g.records && g.records[tb.name]) || 0) })),
        h('td', { class: 'num', text: String(perGrid.get(g.grid) || 0) }),
        h('td', { class: 'num' }, g.open_conflicts ? h('a', {
          class: 'pill attn', text: String(g.open_conflicts),
          attrs: { href: '#/conflicts' },
          on: { click: () => { state.filter = { state: 'open', grid: g.grid }; } },
        }) : '0'))))));
  }

  body.appendChild(h('h2', { text: t('devices_list_title') }));
  if (!devices.length) {
    body.appendChild(h('p', { class: 'muted', text: t('devices_none') }));
    return;
  }
  body.appendChild(h('table', { class: 'data devices', attrs: { 'data-testid': 'devices' } },
    h('thead', null, h('tr', null, ['dev_col_state', 'dev_col_id', 'dev_col_name', 'dev_col_grids', 'dev_col_last', 'dev_col_result', 'dev_col_rejects', 'dev_col_actions']
      .map((k) => h('th', { class: k === 'dev_col_rejects' ? 'num' : '', text: t(k) })))),
    h('tbody', null, devices.map((d) => {
      const stateBadge = d.revoked ? h('span', { class: 'pill off', text: t('dev_state_revoked') })
        : d.silent ? h('span', { class: 'pill alert', text: t('dev_state_silent', days) })
          : h('span', { class: 'pill ok', text: t('dev_state_ok') });
      return h('tr', { class: d.revoked ? 'revoked' : d.silent ? 'silent' : '', attrs: { 'data-device': d.id } },
        h('td', null, stateBadge),
        h('td', { class: 'mono', text: d.id }),
        h('td', { text: d.name }),
        h('td', { text: d.grids.join(t('list_sep')) }),
        h('td', null, d.last_sync_ms
          ? [h('div', { text: fmtTime(d.last_sync_ms) }), h('div', { class: 'small muted', text: ago(d.last_sync_ms, st.now_ms) })]
          : h('span', { class: 'muted', text: t('dev_never') })),
        h('td', { class: 'small', text: resultText(d.last_result) }),
        h('td', { class: 'num' }, d.pending_rejects ? h('span', { class: 'pill attn', text: String(d.pending_rejects) }) : '0'),
        h('td', { class: 'actions' }, deviceActions(d, () => refreshDevices(document.getElementById('main'), addBox))));
    }))));
  await enrolments(body);
}

// ---- start -----------------------------------------------------------------------------

async function boot() {
  hooks.render = render;
  try {
    state.lang = localStorage.getItem('gs-lang') === 'en' ? 'en' : 'zh';
  } catch (e) {
    state.lang = 'zh';
  }
  window.addEventListener('hashchange', () => {
    if (state.session) render();
  });
  try {
    const r = await fetch('/admin/session', { credentials: 'same-origin', cache: 'no-store' });
    if (r.ok) {
      state.session = await r.json();
      await enter();
      return;
    }
  } catch (e) {
    state.notice = t('err_network');
  }
  render();
}

boot();
