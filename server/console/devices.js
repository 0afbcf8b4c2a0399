// devices.js: the devices page's management (issue 17): add a device by enrolment code,
// shown as a QR code drawn in SVG from the module matrix the server sends (POST
// /v1/admin/enrolments with this page's origin as server_url), the codes not used yet and
// their revocation, and per device rename and revoke (POST /v1/admin/devices/{id}/rename,
// /revoke). The code and the URI are shown once, in the card made when the code is made;
// the server keeps only the code's hash, so a reload cannot show them again.
import { t, h, svg, clear, fmtTime, api, errorText, toast } from './core.js';

const QUIET = 4; // modules of light border around the code
const TTLS = [[3600, 'enrol_ttl_1h'], [86400, 'enrol_ttl_24h'], [7 * 86400, 'enrol_ttl_7d']];

// The QR code of the server's {size, rows} as SVG rectangles, one per dark module.
function qrSvg(qr) {
  const n = qr.size + 2 * QUIET;
  const dark = [];
  qr.rows.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (row[x] === '1') dark.push(svg('rect', { x: x + QUIET, y: y + QUIET, width: 1, height: 1 }));
    }
  });
  return svg('svg', {
    class: 'qr', viewBox: `0 0 ${n} ${n}`, width: 8 * n, height: 8 * n,
    role: 'img', 'aria-label': t('enrol_qr_label'), 'data-testid': 'enrol-qr', 'shape-rendering': 'crispEdges',
  }, svg('rect', { class: 'qr-light', x: 0, y: 0, width: n, height: n }), svg('g', { class: 'qr-dark' }, dark));
}

// The card of a code just made: QR code, URI, code, until when.
function enrolCard(e) {
  return h('div', { class: 'card enrol-card', attrs: { 'data-testid': 'enrol-card' } },
    h('h3', { text: t('enrol_made', e.name || e.id) }),
    e.qr ? qrSvg(e.qr) : h('p', { class: 'error', text: t('enrol_no_qr') }),
    h('p', { text: t('enrol_scan') }),
    e.uri ? h('p', { class: 'mono small break', text: e.uri, attrs: { 'data-testid': 'enrol-uri' } }) : null,
    h('p', null, t('enrol_code') + ' ', h('strong', { class: 'mono', text: e.code, attrs: { 'data-testid': 'enrol-code' } })),
    h('p', { class: 'small muted', text: t('enrol_until', fmtTime(e.expires_ms)) }));
}

// The add form; onMade(enrolment) after the server made the code.
function addForm(onMade) {
  const grids = h('input', { attrs: { id: 'enrol-grids', type: 'text', required: true, placeholder: t('enrol_grids_hint') } });
  const name = h('input', { attrs: { id: 'enrol-name', type: 'text' } });
  const ttl = h('select', { attrs: { id: 'enrol-ttl' } },
    TTLS.map(([s, key]) => h('option', { text: t(key), attrs: { value: String(s), selected: s === 86400 } })));
  const msg = h('p', { class: 'error', attrs: { role: 'alert' } });
  const form = h('form', { class: 'enrol-form', attrs: { 'data-testid': 'enrol-form' } },
    h('label', { text: t('enrol_grids'), attrs: { for: 'enrol-grids' } }), grids,
    h('label', { text: t('enrol_name'), attrs: { for: 'enrol-name' } }), name,
    h('label', { text: t('enrol_ttl'), attrs: { for: 'enrol-ttl' } }), ttl,
    h('button', { class: 'primary', text: t('enrol_submit'), attrs: { type: 'submit' } }), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const list = grids.value.split(/[,，、]/).map((g) => g.trim()).filter((g) => g);
    if (!list.length) {
      msg.textContent = t('enrol_grids_needed');
      return;
    }
    try {
      const e = await api('POST', '/v1/admin/enrolments', {
        grids: list, name: name.value.trim(), ttl_s: Number(ttl.value), server_url: location.origin,
      });
      onMade(e);
    } catch (err) {
      msg.textContent = errorText(err);
    }
  });
  return form;
}

// The add button, the form it opens and the card of the code made, in box.
export function addDevice(box, rerender) {
  const open = h('button', { class: 'primary', text: t('enrol_add'), attrs: { type: 'button', 'data-testid': 'enrol-add' } });
  open.addEventListener('click', () => {
    clear(box);
    box.appendChild(addForm((e) => {
      clear(box);
      box.appendChild(enrolCard(e));
      rerender();
    }));
    const g = document.getElementById('enrol-grids');
    if (g) g.focus();
  });
  return open;
}

// The codes not used yet (open, or expired and not revoked: listed until revoked) in box.
export async function enrolments(box) {
  let res;
  try {
    res = await api('GET', '/v1/admin/enrolments');
  } catch (e) {
    box.appendChild(h('p', { class: 'error', text: errorText(e) }));
    return;
  }
  const shown = res.enrolments.filter((e) => e.state === 'open');
  box.appendChild(h('h2', { text: t('enrol_list_title') }));
  if (!shown.length) {
    box.appendChild(h('p', { class: 'muted', text: t('enrol_none') }));
    return;
  }
  box.appendChild(h('table', { class: 'data', attrs: { 'data-testid': 'enrolments' } },
    h('thead', null, h('tr', null, ['enrol_col_id', 'dev_col_name', 'dev_col_grids', 'enrol_col_expires', 'enrol_col_action']
      .map((k) => h('th', { text: t(k) })))),
    h('tbody', null, shown.map((e) => h('tr', { attrs: { 'data-enrolment': e.id } },
      h('td', { class: 'mono', text: e.id }),
      h('td', { text: e.name }),
      h('td', { text: e.grids.join(t('list_sep')) }),
      h('td', { text: fmtTime(e.expires_ms) }),
      h('td', null, h('button', {
        text: t('enrol_revoke'), attrs: { type: 'button', 'data-testid': 'enrol-revoke-' + e.id },
        on: {
          click: async (ev) => {
            if (!window.confirm(t('enrol_revoke_confirm', e.id))) return;
            ev.target.disabled = true;
            try {
              await api('POST', '/v1/admin/enrolments/' + encodeURIComponent(e.id) + '/revoke');
              toast(t('enrol_revoked', e.id));
              ev.target.closest('tr').remove();
            } catch (err) {
              ev.target.disabled = false;
              toast(errorText(err));
            }
          },
        },
      })))))));
}

// The rename and revoke buttons of device d; rerender() after a change.
export function deviceActions(d, rerender) {
  if (d.revoked) return null;
  const act = async (btn, path, body, done) => {
    btn.disabled = true;
    try {
      await api('POST', '/v1/admin/devices/' + encodeURIComponent(d.id) + path, body);
      toast(done);
      rerender();
    } catch (err) {
      btn.disabled = false;
      toast(errorText(err));
    }
  };
  return [
    h('button', {
      class: 'ghost', text: t('dev_rename'), attrs: { type: 'button', 'data-testid': 'rename-' + d.id },
      on: {
        click: (ev) => {
          const name = window.prompt(t('dev_rename_prompt', d.id), d.name);
          if (name === null) return;
          act(ev.target, '/rename', { name: name.trim() }, t('dev_renamed', d.id));
        },
      },
    }),
    h('button', {
      class: 'ghost', text: t('dev_revoke'), attrs: { type: 'button', 'data-testid': 'revoke-' + d.id },
      on: {
        click: (ev) => {
          if (!window.confirm(t('dev_revoke_confirm', d.id, d.name))) return;
          act(ev.target, '/revoke', undefined, t('dev_revoked', d.id));
        },
      },
    }),
    // a lost handheld: revoke and have it delete its data at its next contact (issue 21;
    // "after upload" merges what it holds first: docs/ADMIN-API.md, revoke)
    h('button', {
      class: 'ghost', text: t('dev_wipe'), attrs: { type: 'button', 'data-testid': 'wipe-' + d.id },
      on: {
        click: (ev) => {
          if (!window.confirm(t('dev_wipe_confirm', d.id, d.name))) return;
          const wipe = window.confirm(t('dev_wipe_upload_first')) ? 'after_upload' : 'now';
          act(ev.target, '/revoke', { wipe }, t('dev_wiped', d.id));
        },
      },
    }),
  ];
}
