// The call log: search, filters, paging, call back by button or
// double-click (or Enter on a focused row). With Dynamics 365 set up,
// each call opens its Dynamics actions in place: its record, "add as
// contact/account/lead" for an unknown number, and its activity.
import { h, icon, clear, avatar, fmtDuration, debounce, time } from '../ui.js';
import { pretty } from '../number.js';
import { crmSection } from './crm.js';

const PAGE = 30;

const FILTERS = [
  ['all', 'log.all', {}],
  ['missed', 'log.missed', { direction: 'inbound', disposition: 'missed' }],
  ['inbound', 'log.inbound', { direction: 'inbound' }],
  ['outbound', 'log.outbound', { direction: 'outbound' }],
];

const RANGES = [
  ['any', 'log.anyTime', 0],
  ['today', 'log.today', 1],
  ['week', 'log.week', 7],
  ['month', 'log.month', 30],
];

function dayStart(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

/**
 * With Dynamics set up, the length up to which an all-digit number is an
 * extension (not looked up in Dynamics); null without Dynamics.
 */
function crmExtDigits(state) {
  if (!state.crmOrigins.length) return null;
  return (state.crm.settings && state.crm.settings.extensionDigits) || 0;
}

export function createHistory(ctx) {
  const { store, t, api, actions, i18n } = ctx;
  let filter = 'all';
  let range = 'any';
  let search = '';
  let rows = [];
  let total = 0;
  let loading = false;
  let failed = false;
  let seq = 0;
  let loadedRev = -1;
  // The call whose Dynamics actions are open under its row.
  let expanded = null;
  let detail = null;
  let detailSig = '';
  let detailErr = '';
  // What the rows were drawn with: crmExtDigits when they were.
  let rowsCRM = null;

  const searchInput = h('input', {
    type: 'search', class: 'search-input', placeholder: t('log.search'), 'aria-label': t('log.search'),
    autocomplete: 'off', spellcheck: 'false',
  });
  searchInput.addEventListener('input', debounce(() => { search = searchInput.value.trim(); reload(); }, 250));

  const chips = h('div', { class: 'chips', role: 'radiogroup', 'aria-label': t('log.filter') },
    FILTERS.map(([key, label]) => h('button', {
      type: 'button', class: 'chip', role: 'radio', 'aria-checked': key === filter ? 'true' : 'false', data: { f: key },
      on: { click: () => { filter = key; syncChips(); reload(); } },
    }, t(label))));
  const rangeSel = h('select', { class: 'range-select', 'aria-label': t('log.range'), on: { change: () => { range = rangeSel.value; reload(); } } },
    RANGES.map(([key, label]) => h('option', { value: key }, t(label))));
  function syncChips() {
    for (const b of chips.children) b.setAttribute('aria-checked', b.dataset.f === filter ? 'true' : 'false');
  }

  const list = h('ul', { class: 'log-list', role: 'list', 'aria-label': t('log.title') });
  const footer = h('div', { class: 'log-footer' });
  const countEl = h('span', { class: 'log-count', 'aria-live': 'polite' });

  const el = h('section', { class: 'history', 'aria-label': t('log.title') },
    h('div', { class: 'panel-head' },
      h('h2', { class: 'panel-title' }, t('log.title')),
      countEl,
      rangeSel,
      h('button', { type: 'button', class: 'btn-icon small', 'aria-label': t('log.refresh'), title: t('log.refresh'), on: { click: () => reload() } }, icon('refresh'))),
    h('div', { class: 'search' }, icon('search'), searchInput),
    h('div', { class: 'filters' }, chips),
    h('div', { class: 'log-scroll' }, list, footer));

  function params(offset) {
    const p = { q: search, limit: PAGE, offset, ...FILTERS.find((f) => f[0] === filter)[2] };
    const days = RANGES.find((r) => r[0] === range)[2];
    if (days) {
      const from = dayStart(new Date());
      from.setDate(from.getDate() - (days - 1));
      p.from = from.toISOString();
    }
    return p;
  }

  async function load(offset) {
    const my = ++seq;
    loading = true;
    failed = false;
    renderFooter();
    try {
      const page = await api.history(params(offset));
      if (my !== seq) return;
      rows = offset ? rows.concat(page.calls) : page.calls;
      total = page.total;
    } catch (e) {
      if (my !== seq) return;
      failed = true;
      if (!offset) rows = [];
    }
    loading = false;
    renderRows();
  }

  function reload() {
    load(0);
  }

  function renderFooter() {
    clear(footer);
    if (loading) footer.append(h('div', { class: 'spinner', role: 'status', 'aria-label': t('log.loading') }));
    else if (failed) footer.append(h('div', { class: 'empty' }, icon('alert'), h('p', { text: t('log.failed') }),
      h('button', { type: 'button', class: 'btn secondary', on: { click: reload } }, t('log.retry'))));
    else if (!rows.length) footer.append(h('div', { class: 'empty' }, h('div', { class: 'empty-icon' }, icon('clock')),
      h('p', { class: 'empty-title', text: search || filter !== 'all' || range !== 'any' ? t('log.noMatch') : t('log.none') }),
      h('p', { class: 'empty-sub', text: search || filter !== 'all' || range !== 'any' ? t('log.noMatchHint') : t('log.noneHint') })));
    else if (rows.length < total) footer.append(h('button', { type: 'button', class: 'btn secondary more', on: { click: () => load(rows.length) } }, t('log.more')));
  }

  function row(r) {
    const missed = r.disposition === 'missed' || (r.direction === 'inbound' && r.disposition !== 'answered');
    const name = r.name || pretty(r.number) || r.number;
    const started = time(r.start);
    const talk = Math.round(r.durationSec || 0);
    const kind = r.direction === 'inbound' ? (missed ? 'missed' : 'incoming') : 'outgoing';
    const detail = [
      r.name ? pretty(r.number) : null,
      started ? i18n.time(started) : null,
      talk ? fmtDuration(talk) : t('disp.' + (r.disposition || 'missed')),
    ].filter(Boolean).join(' · ');
    const callBack = () => actions.dial(r.number);
    // Dynamics actions for external numbers (an extension is not in it).
    const extDigits = crmExtDigits(store.state);
    const crmOn = extDigits !== null && !(/^\d+$/.test(r.number) && r.number.length <= extDigits);
    const li = h('li', {
      class: 'log-row' + (missed ? ' missed' : ''), tabindex: '0',
      'aria-label': `${t('dir.' + kind)}: ${name}, ${detail}`,
      on: {
        dblclick: callBack,
        keydown: (e) => {
          if (e.target !== li) return; // the row's own buttons handle their keys
          if (e.key === 'Enter') { e.preventDefault(); callBack(); }
          if (e.key === 'ArrowDown') { e.preventDefault(); li.nextElementSibling?.focus(); }
          if (e.key === 'ArrowUp') { e.preventDefault(); li.previousElementSibling?.focus(); }
        },
      },
    },
    avatar(r.name, r.number, 'sm'),
    h('div', { class: 'log-main' },
      h('div', { class: 'log-name' }, h('span', { class: 'dir ' + kind, title: t('dir.' + kind) }, icon(kind === 'outgoing' ? 'outArrow' : 'inArrow')), h('span', { class: 'log-title', text: name })),
      h('div', { class: 'log-detail', text: detail })),
    h('div', { class: 'log-btns' },
      crmOn ? h('button', {
        type: 'button', class: 'btn-icon log-crm', 'aria-label': t('log.crmFor', { name }), title: t('log.crmFor', { name }),
        'aria-expanded': expanded === r.id ? 'true' : 'false',
        on: { click: (e) => { e.stopPropagation(); toggleCRM(r.id, li); } },
      }, h('span', { class: 'crm-logo', 'aria-hidden': 'true' }, 'D')) : null,
      h('button', {
        type: 'button', class: 'btn-icon callback', 'aria-label': t('log.callBack', { name }), title: t('log.callBack', { name }),
        tabindex: '-1', on: { click: (e) => { e.stopPropagation(); callBack(); } },
      }, icon('phone'))));
    li.dataset.id = r.id;
    return li;
  }

  // ---- Dynamics actions of one call -----------------------------------

  function collapseCRM() {
    if (detail) detail.remove();
    const btn = expanded && list.querySelector(`.log-row[data-id="${CSS.escape(expanded)}"] .log-crm`);
    if (btn) btn.setAttribute('aria-expanded', 'false');
    expanded = null;
    detail = null;
    detailSig = '';
    detailErr = '';
  }

  async function toggleCRM(id, li) {
    if (expanded === id) {
      collapseCRM();
      return;
    }
    collapseCRM();
    expanded = id;
    detail = h('li', { class: 'log-crm-detail', role: 'presentation' });
    li.after(detail);
    li.querySelector('.log-crm').setAttribute('aria-expanded', 'true');
    renderDetail();
    try {
      // The app recalls the call: searches its number and reads its
      // activity back from Dynamics; updates follow on the WebSocket.
      const info = await api.crmCall(id);
      if (expanded === id) store.applyCRMCall(info);
    } catch (e) {
      if (expanded !== id) return;
      detailErr = actions.message(e);
      renderDetail();
    }
  }

  function renderDetail() {
    if (!expanded || !detail) return;
    const info = store.crmInfo(expanded);
    const sig = JSON.stringify([info, detailErr, i18n.lang]);
    if (sig === detailSig) return;
    detailSig = sig;
    clear(detail);
    if (detailErr) {
      detail.append(h('div', { class: 'crm-box' }, h('div', { class: 'crm-state warn' }, icon('alert'), h('span', { text: detailErr }))));
      return;
    }
    if (!info) {
      detail.append(h('div', { class: 'crm-box' }, h('div', { class: 'crm-state' }, h('span', { class: 'spinner small' }), t('crm.searching'))));
      return;
    }
    detail.append(crmSection(ctx, { id: expanded }, info) ||
      h('div', { class: 'crm-box' }, h('div', { class: 'crm-state' }, icon('user'), h('span', { text: t('log.crmNone') }))));
  }

  function renderRows() {
    rowsCRM = crmExtDigits(store.state);
    clear(list);
    let lastDay = '';
    const today = dayStart(new Date()).getTime();
    for (const r of rows) {
      const d = time(r.start);
      const day = d ? dayStart(d).getTime() : 0;
      const label = !d ? '' : day === today ? t('log.todayHead') : day === today - 86400000 ? t('log.yesterday') : i18n.date(d);
      if (label !== lastDay) {
        list.append(h('li', { class: 'log-day', role: 'presentation', text: label }));
        lastDay = label;
      }
      const li = row(r);
      list.append(li);
      if (r.id === expanded && detail) {
        li.after(detail);
        detailSig = '';
        renderDetail();
      }
    }
    countEl.textContent = total ? t('log.count', { n: total }) : '';
    renderFooter();
  }

  return {
    el,
    show() {
      if (loadedRev !== store.state.historyRev) {
        loadedRev = store.state.historyRev;
        reload();
      }
    },
    update(state) {
      // The rows gain (or lose) their Dynamics buttons when the app's
      // state says Dynamics is set up, which may come after the rows.
      if (crmExtDigits(state) !== rowsCRM && rows.length) renderRows();
      renderDetail();
      // A finished call appears at once if the log is on screen.
      if (state.historyRev !== loadedRev && el.offsetParent !== null && state.conn === 'open') {
        loadedRev = state.historyRev;
        reload();
      }
    },
    focusSearch() { searchInput.focus(); },
  };
}
