// Switchboard widget: boots the app shell, keeps the event stream open,
// and routes the agent's actions to the local API.
import { Store } from './store.js';
import { Api, EventStream } from './api.js';
import { I18n, pickLang } from './i18n.js';
import { h, icon, clear, fmtDuration, time } from './ui.js';
import { createDialpad } from './views/dialpad.js';
import { createCallScreen, createIncoming, createEnded } from './views/call.js';
import { createHistory } from './views/history.js';
import { createSettings } from './views/settings.js';
import { createActivity } from './views/crm.js';
// Sets window.SwitchboardCIF: the widget side of the app's CRM bridge.
import './cif-bridge.js';

const root = document.documentElement;
const page = {
  token: document.querySelector('meta[name="sb-token"]')?.content || '',
  mode: root.dataset.mode || 'tab',
  crm: root.dataset.crm || '',
  cifLibrary: root.dataset.cifLibrary || '',
  static: root.dataset.static || '',
};

const store = new Store();
const api = new Api(page.token);
const i18n = new I18n(root.lang);
const t = (k, v) => i18n.t(k, v);
let crmLang = '';
let meterOn = false;
let views = null;

// ---- actions -------------------------------------------------------------

function apiMessage(e) {
  const key = 'api.' + (e && e.code);
  const s = t(key);
  return s !== key ? s : (e && e.message) || t('err.generic');
}

async function run(fn) {
  try {
    await fn();
    return true;
  } catch (e) {
    toast(apiMessage(e), 'error');
    return false;
  }
}

function activeOther(id) {
  return store.state.calls.find((c) => c.id !== id && c.state === 'active');
}

const actions = {
  dial(number) {
    return run(async () => {
      const busy = activeOther(null);
      if (busy) await api.action(busy.id, 'hold');
      const call = await api.dial(number);
      store.set({ view: 'phone', ended: null, adding: false, focusId: call && call.id ? call.id : store.state.focusId });
    });
  },
  answer(id) {
    return run(async () => {
      const busy = activeOther(id);
      if (busy) await api.action(busy.id, 'hold');
      await api.action(id, 'answer');
      store.set({ view: 'phone', focusId: id, ended: null });
    });
  },
  decline: (id) => run(() => api.action(id, 'decline')),
  hangup: (id) => run(() => api.action(id, 'hangup')),
  hold: (id) => run(() => api.action(id, 'hold')),
  resume(id) {
    return run(async () => {
      const busy = activeOther(id);
      if (busy) await api.action(busy.id, 'hold');
      await api.action(id, 'resume');
    });
  },
  mute: (id, on) => run(() => api.mute(id, on)),
  dtmf: (id, digits) => run(() => api.dtmf(id, digits)),
  switchTo(id) {
    store.set({ focusId: id, keypad: false });
    const c = store.state.calls.find((x) => x.id === id);
    if (c && c.state === 'held') return actions.resume(id);
    return Promise.resolve(true);
  },
  // Dynamics 365: the app decides, the panel asks.
  openRecord: (id) => run(() => api.openRecord(id)),
  chooseRecord: (id, ref) => run(() => api.chooseRecord(id, ref)),
  addRecord(id, entity) {
    return run(async () => {
      await api.addRecord(id, entity);
      toast(t('crm.added', { kind: t('crm.entity.' + entity) }));
    });
  },
  openActivity(id) {
    store.set({ activityOpening: id });
    views.activity.open(id);
    return run(() => api.activityPage(id, true));
  },
  collapse() {
    if (!cif) return;
    cif.handle({ op: 'setmode', data: 0 });
  },
  message: (e) => apiMessage(e),
  run,
  applyLanguage() {
    const lang = store.state.settings.language || crmLang || pickLang(navigator.language);
    if (lang !== i18n.lang) {
      i18n.set(lang);
      build();
    }
  },
};

// ---- shell -----------------------------------------------------------------

const app = document.getElementById('app');
const toasts = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });

function toast(text, kind = 'info') {
  const el = h('div', { class: 'toast ' + kind }, icon(kind === 'error' ? 'alert' : 'check'), h('span', { text }));
  toasts.append(el);
  setTimeout(() => el.classList.add('leaving'), 4200);
  setTimeout(() => el.remove(), 4600);
}

function regInfo(state) {
  if (state.conn !== 'open') return { cls: 'off', text: state.conn === 'connecting' ? t('reg.unknown') : t('reg.unregistered') };
  const r = state.registration;
  switch (r && r.state) {
    case 'registered': return { cls: 'ok', text: t('reg.registered') };
    case 'registering': return { cls: 'busy', text: t('reg.registering') };
    case 'failed': return { cls: 'bad', text: t('reg.failed') };
    default: return { cls: 'off', text: t('reg.unregistered') };
  }
}

function build() {
  const ctx = {
    store, api, t, i18n, actions, crm: page.crm,
    meter(on) {
      meterOn = on;
      stream.send({ type: 'meter', on });
    },
  };
  const dialpad = createDialpad(ctx);
  const callScreen = createCallScreen(ctx);
  const ended = createEnded(ctx);
  const incoming = createIncoming(ctx);
  const history = createHistory(ctx);
  const settings = createSettings(ctx);
  const activity = createActivity(ctx);

  const regDot = h('span', { class: 'dot' });
  const regText = h('span', { class: 'reg-text' });
  const regAcct = h('span', { class: 'reg-account' });
  const reg = h('div', { class: 'reg', role: 'status' }, regDot, h('span', { class: 'reg-words' }, regText, regAcct));
  const returnBtn = h('button', {
    type: 'button', class: 'return-call', hidden: true,
    on: { click: () => store.set({ view: 'phone', adding: false }) },
  }, icon('phone'), h('span', { class: 'return-time' }));

  const banner = h('div', { class: 'banner', hidden: true, role: 'status', 'aria-live': 'polite' });
  // Writes waiting for Dynamics (a closed tab, a failing org): the agent
  // sees they are kept, not lost.
  const pending = h('span', { class: 'crm-pending', hidden: true, role: 'status' }, icon('refresh'), h('span', { class: 'crm-pending-n' }));
  const collapse = page.mode === 'cif' ? h('button', {
    type: 'button', class: 'btn-icon small collapse', 'aria-label': t('crm.collapse'), title: t('crm.collapse'),
    on: { click: () => actions.collapse() },
  }, icon('chevronDown')) : null;

  const navItems = [
    ['phone', 'keypad', t('nav.phone')],
    ['history', 'clock', t('nav.history')],
    ['settings', 'settings', t('nav.settings')],
  ];
  const nav = h('nav', { class: 'nav', 'aria-label': t('nav.main') },
    navItems.map(([v, ic, label]) => h('button', {
      type: 'button', class: 'nav-item', data: { v }, 'aria-label': label,
      on: { click: () => showView(v) },
    }, h('span', { class: 'nav-icon' }, icon(ic), h('span', { class: 'nav-badge', hidden: true })), h('span', { class: 'nav-label', text: label }))));

  const phoneView = h('div', { class: 'view view-phone', id: 'view-phone' }, dialpad.el, callScreen.el, ended.el);
  const historyView = h('div', { class: 'view view-history', id: 'view-history' }, history.el);
  const settingsView = h('div', { class: 'view view-settings', id: 'view-settings' }, settings.el);

  const header = h('header', { class: 'topbar' },
    h('div', { class: 'brand' },
      h('img', { class: 'logo', src: page.static + '/img/logo.svg', alt: '', width: 24, height: 24 }),
      h('span', { class: 'brand-name', text: t('app.name') })),
    returnBtn, pending, reg, collapse);

  clear(app);
  app.removeAttribute('aria-busy');
  app.append(header, banner, nav, h('main', { class: 'views' }, phoneView, historyView, settingsView), incoming.el, activity.el, toasts);

  function renderBanner(state) {
    clear(banner);
    let kind = '';
    if (state.conn !== 'open') {
      kind = 'warn';
      banner.append(icon('offline'),
        h('div', { class: 'banner-text' },
          h('strong', { text: state.conn === 'connecting' ? t('conn.connecting') : t('conn.reconnecting') }),
          h('span', { text: state.conn === 'reconnecting' && state.retryIn ? `${t('conn.retryIn', { s: Math.ceil(state.retryIn / 1000) })}. ${t('conn.hint')}` : t('conn.hint') })),
        state.conn === 'reconnecting' ? h('button', { type: 'button', class: 'btn-text', on: { click: () => stream.reconnectNow() } }, t('conn.retryNow')) : null);
    } else if (state.registration && state.registration.state !== 'registered') {
      const r = state.registration;
      kind = r.state === 'failed' ? 'error' : 'info';
      const title = { failed: t('banner.regFailed'), registering: t('banner.registering') }[r.state] || t('banner.unregistered');
      banner.append(icon(r.state === 'failed' ? 'alert' : 'offline'),
        h('div', { class: 'banner-text' }, h('strong', { text: title }), r.error ? h('span', { text: r.error }) : null));
    }
    banner.hidden = !kind;
    banner.className = 'banner ' + kind;
  }

  function phoneMode(state) {
    const live = state.calls.filter((c) => c.state !== 'incoming');
    if (live.length && !state.adding) return 'call';
    if (!live.length && state.ended) return 'ended';
    return 'dial';
  }

  function update(state) {
    app.dataset.view = state.view;
    phoneView.dataset.mode = phoneMode(state);
    const wide = window.matchMedia('(min-width: 760px)').matches;
    for (const b of nav.children) {
      // In the wide layout the phone is always on screen; the log beside it is "Calls".
      const on = b.dataset.v === state.view || (wide && state.view === 'phone' && b.dataset.v === 'history');
      if (on) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
    const info = regInfo(state);
    regDot.className = 'dot ' + info.cls;
    regText.textContent = info.text;
    const acct = state.registration && state.registration.account ? state.registration.account.split('@')[0] : '';
    regAcct.textContent = acct && state.conn === 'open' ? acct : '';
    reg.setAttribute('aria-label', t('reg.aria', { state: info.text }) + (acct ? ` (${acct})` : ''));
    const live = state.calls.filter((c) => c.state !== 'incoming');
    returnBtn.hidden = !(live.length && state.view !== 'phone');
    const phoneBadge = nav.querySelector('[data-v="phone"] .nav-badge');
    phoneBadge.hidden = !live.length;
    renderBanner(state);
    dialpad.update(state);
    callScreen.update(state);
    ended.update(state);
    incoming.update(state);
    history.update(state);
    settings.update(state);
    activity.update(state);
    const n = state.crm.pending || 0;
    pending.hidden = !n;
    pending.lastChild.textContent = String(n);
    pending.title = t('crm.pendingLong', { n });
    pending.setAttribute('aria-label', t('crm.pendingLong', { n }));
    const inc = state.calls.find((c) => c.state === 'incoming');
    document.title = inc ? `${t('in.title')} · ${inc.name || inc.number}` : t('app.name');
    tickHeader();
  }

  function tickHeader() {
    const c = store.focused();
    const a = c && time(c.answered);
    returnBtn.lastChild.textContent = a ? fmtDuration((Date.now() - a.getTime()) / 1000) : t('nav.call');
    returnBtn.setAttribute('aria-label', t('dial.backToCall'));
  }

  views = { dialpad, callScreen, history, settings, activity, update, tick() { callScreen.tick(); tickHeader(); } };
  update(store.state);
  onViewShown(store.state.view, null);
}

let shownView = null;
function onViewShown(v, prev) {
  if (prev === 'settings' && v !== 'settings') views.settings.hide();
  const wide = window.matchMedia('(min-width: 760px)').matches;
  // In the wide layout the log sits beside the phone.
  if (v === 'history' || (wide && v !== 'settings')) views.history.show();
  if (v === 'settings') views.settings.show();
  shownView = v;
}

function showView(v) {
  const prev = store.state.view;
  store.set({ view: v, adding: v === 'phone' ? store.state.adding : store.state.adding });
  if (v !== prev || v !== shownView) onViewShown(v, prev);
  if (v === 'phone' && !store.focused()) views.dialpad.input.focus({ preventScroll: true });
}

store.subscribe((s) => { if (views) views.update(s); });
setInterval(() => views && views.tick(), 1000);

// ---- events ------------------------------------------------------------

// Inside Dynamics: cif-bridge.js loads the CIF library from the
// (server-validated) CRM origin and runs the app's requests.
const cif = page.mode === 'cif' ? window.SwitchboardCIF : null;

// 2052 is Simplified Chinese; other Chinese LCIDs read it too.
function langOfLcid(env) {
  const lcid = Number((env && (env.userLcid || env.orgLcid)) || 0);
  if ([2052, 4100, 1028, 3076, 5124].includes(lcid)) return 'zh-CN';
  return lcid ? 'en' : '';
}

function cifReadyMessage() {
  return { type: 'cif.ready', env: cif.environment() || {} };
}

function onCIFEvent(ev) {
  switch (ev.type) {
    case 'ready':
      store.setCRM({ ready: true });
      stream.send(cifReadyMessage());
      crmLang = langOfLcid(ev.env);
      actions.applyLanguage();
      break;
    case 'clicktoact':
      // Click-to-act on any phone field in Dynamics dials (D1).
      if (ev.number) actions.dial(ev.number);
      break;
    case 'error':
      stream.send({ type: 'cif.error', message: String(ev.message || '').slice(0, 300) });
      console.warn('Switchboard: Dynamics 365 integration:', ev.message);
      break;
    default:
  }
}

/** Runs one of the app's CIF requests and answers it. */
async function runCIF(msg) {
  const res = await cif.handle(msg.data || {});
  if (res.ok) return { type: 'response', id: msg.id, ok: true, data: res.result };
  const code = res.error && res.error.code === 'not-ready' ? 'not_ready' : 'cif_error';
  let text;
  try {
    text = JSON.stringify(res.error);
  } catch (e) {
    text = String(res.error);
  }
  return { type: 'response', id: msg.id, ok: false, error: { code, message: text } };
}

const stream = new EventStream(api, {
  hello: () => ({ type: 'hello', mode: page.mode, crm: page.crm, lang: i18n.lang }),
  onStatus(status, retryIn) {
    store.set({ conn: status, retryIn });
    if (status === 'open' && meterOn) stream.send({ type: 'meter', on: true });
    // Each connection tells the app afresh that this panel runs CIF calls.
    if (status === 'open' && cif && cif.ready()) stream.send(cifReadyMessage());
  },
  onMessage(msg) {
    switch (msg.type) {
      case 'state': {
        store.applyState(msg.state);
        const before = i18n.lang;
        actions.applyLanguage();
        if (before === i18n.lang && store.state.view === 'history') views.history.show();
        break;
      }
      case 'registration':
        store.set({ registration: msg.registration });
        break;
      case 'call':
        store.applyCall(msg.call);
        break;
      case 'settings':
        store.set({ settings: msg.settings });
        actions.applyLanguage();
        break;
      case 'device':
        if (msg.device && (msg.device.kind === 'fallback' || msg.device.kind === 'removed' || msg.device.kind === 'error')) {
          toast(msg.device.error || `${msg.device.name}${msg.device.fallback ? ' → ' + msg.device.fallback : ''}`, msg.device.kind === 'error' ? 'error' : 'info');
        }
        break;
      case 'level':
        views.settings.level(msg);
        break;
      case 'error':
        console.warn('Switchboard:', msg.error && msg.error.message);
        break;
      case 'cif.call':
        if (cif && msg.id) runCIF(msg).then((r) => stream.send(r));
        else if (msg.id) stream.send({ type: 'response', id: msg.id, ok: false, error: { code: 'cif_unavailable', message: 'this widget is not inside Dynamics 365' } });
        break;
      case 'crm.call':
        store.applyCRMCall(msg.info);
        break;
      case 'crm.pending':
        store.setCRM({ pending: msg.count || 0 });
        break;
      case 'crm.settings':
        store.setCRM({ settings: msg.settings });
        break;
      default:
        // A request this version doesn't know: say so rather than time out.
        if (msg.id) stream.send({ type: 'response', id: msg.id, ok: false, error: { code: 'unknown_type', message: `unknown request ${msg.type}` } });
    }
  },
});

// ---- keyboard and activity ----------------------------------------------------

document.addEventListener('keydown', (e) => {
  if (!views || e.ctrlKey || e.metaKey || e.altKey) return;
  const tag = e.target && e.target.tagName;
  if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA') return;
  if (e.target && e.target.closest && e.target.closest('.incoming-layer') && e.key !== 'Escape') return;
  const s = store.state;
  if (e.key === '/' && s.view !== 'settings') {
    e.preventDefault();
    showView('history');
    views.history.focusSearch();
    return;
  }
  if (s.view !== 'phone') return;
  const onCall = s.calls.some((c) => c.state !== 'incoming') && !s.adding;
  const handled = onCall ? views.callScreen.key(e) : e.target.tagName !== 'BUTTON' || /^[0-9*#+]$/.test(e.key) ? views.dialpad.key(e) : false;
  if (handled) e.preventDefault();
});

let lastActive = 0;
function activity() {
  const now = Date.now();
  if (now - lastActive < 1000) return;
  lastActive = now;
  stream.send({ type: 'active' });
}
// The agent's own input marks this panel as the one in use (the app runs
// screen pops in it). Focus does not: a ringing call focuses its Answer
// button in every tab, which would hand the pops to whichever tab rang
// last.
for (const ev of ['pointerdown', 'keydown']) window.addEventListener(ev, activity, true);
window.matchMedia('(min-width: 760px)').addEventListener('change', () => views && onViewShown(store.state.view, store.state.view));

build();
stream.connect();
if (cif && page.crm) cif.start(page.crm, onCIFEvent).catch(() => {});
