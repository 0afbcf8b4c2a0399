// core.js: what every page of the console shares: its state, the strings, making elements
// (HTML and SVG) from data as text only, times and numbers for people, the schema's labels,
// and the admin API (docs/ADMIN-API.md). app.js (the frame, conflicts, devices),
// overview.js (概览) and warnings.js (预警) are built on it.
//
// The rules of app.js hold here too: no innerHTML; field data only ever becomes text nodes;
// every string from STRINGS (strings.js) or the server's schema labels; attributes named
// on* or style are refused (the CSP allows no inline script or style), SVG included.
import { STRINGS } from './strings.js';

export const TZ = 'Asia/Shanghai';
export const PAGE = 20; // conflicts shown at once
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const state = {
  lang: 'zh', // 'zh' | 'en'
  session: null, // {admin, csrf} once signed in
  schema: null, // GET /v1/admin/schema
  view: 'overview', // 'overview' | 'warnings' | 'conflicts' | 'devices'
  filter: { state: 'open', grid: '' }, // conflict list filter
  shown: PAGE, // conflicts rendered
  grids: [], // grid names for the filter
  notice: '', // a message for the sign-in page
};

// What core.js calls back into the frame for: a 401 sends the page back to the sign-in.
export const hooks = { render: () => {} };

// ---- strings and elements ------------------------------------------------------------

export function t(id, ...args) {
  const entry = STRINGS[id];
  if (!entry) return id;
  let s = entry[state.lang] || entry.zh;
  args.forEach((a, i) => {
    s = s.split('{' + i + '}').join(String(a));
  });
  return s;
}

// A label object {zh, en} from the server.
export function lbl(o, fallback) {
  if (!o) return fallback || '';
  return o[state.lang] || o.zh || fallback || '';
}

// h('div', {class: 'x', text: 'y', attrs: {...}, on: {click: fn}}, child, ...): children are
// nodes or strings (made text nodes); null and false are skipped; arrays are flattened.
export function h(tag, props, ...children) {
  const e = document.createElement(tag);
  const p = props || {};
  if (p.class) e.className = p.class;
  if (p.text !== undefined && p.text !== null) e.textContent = String(p.text);
  if (p.attrs) {
    for (const [k, v] of Object.entries(p.attrs)) {
      if (v === false || v === null || v === undefined) continue;
      if (/^on/i.test(k) || k === 'style') throw new Error('refused attribute ' + k);
      e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  if (p.on) for (const [ev, fn] of Object.entries(p.on)) e.addEventListener(ev, fn);
  append(e, children);
  return e;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// svg('rect', {class: 'bar', x: 1, ...}, child, ...): an SVG element through createElementNS;
// attributes are set one by one (numbers, class names: never markup), on* and style refused
// as in h(). Children as in h(): strings become text nodes (for <title> and <text>).
export function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (/^on/i.test(k) || k === 'style') throw new Error('refused attribute ' + k);
    e.setAttribute(k, String(v));
  }
  append(e, children);
  return e;
}

export function append(parent, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(e) {
  while (e.firstChild) e.removeChild(e.firstChild);
}

export function fmtTime(ms) {
  if (!ms) return '';
  return new Intl.DateTimeFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB', {
    timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(new Date(ms));
}

export function ago(ms, now) {
  const d = Math.max(0, now - ms);
  if (d < 60000) return t('ago_now');
  if (d < 3600000) return t('ago_minutes', Math.floor(d / 60000));
  if (d < 86400000) return t('ago_hours', Math.floor(d / 3600000));
  return t('ago_days', Math.floor(d / 86400000));
}

// "11-18" (or "18 Nov") for a Beijing day "2026-11-18" as the dashboard gives it.
export function fmtDay(day) {
  const ms = Date.parse(day + 'T00:00:00+08:00');
  if (Number.isNaN(ms)) return String(day);
  return new Intl.DateTimeFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB', {
    timeZone: TZ, month: state.lang === 'zh' ? '2-digit' : 'short', day: '2-digit',
  }).format(new Date(ms));
}

// A ratio (0..1, or null for "nothing to divide") as "66.7%"; "—" for null. One decimal at
// most, the same rounding the browser test checks the page by.
export function pct(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return t('ratio_none');
  return String(Math.round(ratio * 1000) / 10) + '%';
}

// ---- the schema (labels of types, fields and enum values) ------------------------------

export function tableOf(name) {
  return (state.schema && state.schema.tables.find((x) => x.name === name)) || null;
}

export function fieldOf(tableName, fieldName) {
  const tb = tableOf(tableName);
  return (tb && tb.fields.find((f) => f.name === fieldName)) || null;
}

export function enumLabel(field, value) {
  const e = field && field.enums.find((x) => x.name === value);
  return e ? lbl(e.label, value) : String(value);
}

// A field value as a node for people. refs: [{id, label}] to name referenced records.
export function valueNode(tableName, fieldName, value, refs) {
  const f = fieldOf(tableName, fieldName);
  if (value === null || value === undefined) return h('span', { class: 'empty', text: t('value_empty') });
  let text;
  switch (f ? f.type : typeof value === 'string' ? 'text' : 'json') {
    case 'enum':
      return h('span', { class: 'enum', text: enumLabel(f, value), attrs: { title: String(value) } });
    case 'tags':
      text = Array.isArray(value) ? value.map((v) => enumLabel(f, v)).join(t('list_sep')) : String(value);
      break;
    case 'bool':
      if (f.name === 'deleted') text = value ? t('deleted_true') : t('deleted_false');
      else text = value ? t('yes') : t('no');
      break;
    case 'time': {
      // an ISO 8601 string (docs/ADMIN-API.md); ms from servers before that
      const ms = typeof value === 'number' ? value : Date.parse(value);
      text = Number.isNaN(ms) ? String(value) : fmtTime(ms);
      break;
    }
    case 'ref': {
      const r = (refs || []).find((x) => x.id === value);
      if (r && r.label) return h('span', { class: 'ref', attrs: { title: String(value) } }, String(r.label));
      text = String(value);
      break;
    }
    case 'text':
      text = String(value);
      break;
    default:
      text = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return h('span', { class: 'val' }, text);
}

// ---- the API ---------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || String(status));
    this.status = status;
    this.code = code || '';
  }
}

export async function api(method, path, body) {
  const headers = { Authorization: 'Session ' + (state.session ? state.session.csrf : '') };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', t('err_network'));
  }
  let j = null;
  try {
    j = await r.json();
  } catch (e) {
    j = null;
  }
  if (r.status === 401) {
    state.session = null;
    state.notice = t('session_expired');
    hooks.render();
    throw new ApiError(401, 'auth', t('session_expired'));
  }
  if (!r.ok) throw new ApiError(r.status, j && j.error, j && j.message);
  return j;
}

export function errorText(e) {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('err_network');
    return t('err_server', e.status, e.message);
  }
  return String(e && e.message ? e.message : e);
}

let toastTimer = null;
export function toast(text) {
  const e = document.getElementById('toast');
  if (!e) return;
  e.textContent = text;
  e.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => e.classList.remove('show'), 6000);
}
