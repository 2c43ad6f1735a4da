// The call log: search, filters, paging, call back by button or
// double-click (or Enter on a focused row).
import { h, icon, clear, avatar, fmtDuration, debounce, time } from '../ui.js';
import { pretty } from '../number.js';

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
    const li = h('li', {
      class: 'log-row' + (missed ? ' missed' : ''), tabindex: '0',
      'aria-label': `${t('dir.' + kind)}: ${name}, ${detail}`,
      on: {
        dblclick: callBack,
        keydown: (e) => {
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
    h('button', {
      type: 'button', class: 'btn-icon callback', 'aria-label': t('log.callBack', { name }), title: t('log.callBack', { name }),
      tabindex: '-1', on: { click: (e) => { e.stopPropagation(); callBack(); } },
    }, icon('phone')));
    return li;
  }

  function renderRows() {
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
      list.append(row(r));
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
      // A finished call appears at once if the log is on screen.
      if (state.historyRev !== loadedRev && el.offsetParent !== null && state.conn === 'open') {
        loadedRev = state.historyRev;
        reload();
      }
    },
    focusSearch() { searchInput.focus(); },
  };
}
