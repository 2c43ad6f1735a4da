// Settings: audio devices with a live mic meter and test tones,
// auto-answer, language. Every change is saved at once.
import { h, icon, clear } from '../ui.js';
import { crmSettingsGroup } from './crm.js';

/** Linear level (0..1) → meter fraction over a 60 dB range. */
export function meterFraction(v) {
  if (!(v > 0)) return 0;
  const db = 20 * Math.log10(v);
  return Math.max(0, Math.min(1, (db + 60) / 60));
}

export function createSettings(ctx) {
  const { store, t, api, actions, i18n } = ctx;
  let devices = [];
  let busy = false;

  const status = h('div', { class: 'save-status', role: 'status', 'aria-live': 'polite' });
  let statusTimer = null;
  function say(text, error = false) {
    status.textContent = text;
    status.classList.toggle('error', error);
    status.classList.add('visible');
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => status.classList.remove('visible'), error ? 6000 : 1800);
  }

  async function save(patch) {
    busy = true;
    try {
      const st = await api.patchSettings(patch);
      store.set({ settings: st });
      say(t('set.saved'));
      return true;
    } catch (e) {
      say(e.field ? `${t('set.field.' + e.field)}: ${e.message}` : e.message || t('err.generic'), true);
      render(store.state);
      return false;
    } finally {
      busy = false;
      if (deferred) render(store.state);
    }
  }

  // Dynamics settings apply at once: the app reads them at every decision.
  async function saveCRM(patch) {
    busy = true;
    try {
      const st = await api.patchCRMSettings(patch);
      store.setCRM({ settings: st });
      say(t('set.saved'));
      return true;
    } catch (e) {
      say(e.field ? `${t('crm.field.' + e.field)}: ${e.message}` : e.message || t('err.generic'), true);
      return false;
    } finally {
      busy = false;
      lastSig = '';
      render(store.state);
    }
  }

  function deviceSelect(role, input) {
    const id = 'dev-' + role;
    const sel = h('select', { id, class: 'select', on: { change: () => save({ [role]: sel.value }) } },
      h('option', { value: '' }, t('set.systemDefault')),
      devices.filter((d) => (input ? d.input : d.output)).map((d) => h('option', { value: d.name }, d.name)));
    sel.value = store.state.settings[role] || '';
    // A saved device that is unplugged still shows, marked missing.
    if (sel.value !== (store.state.settings[role] || '')) {
      sel.append(h('option', { value: store.state.settings[role] }, `${store.state.settings[role]} (${t('set.missing')})`));
      sel.value = store.state.settings[role];
    }
    return sel;
  }

  const meterFill = h('div', { class: 'meter-fill' });
  const meterPeak = h('div', { class: 'meter-peak' });
  const meter = h('div', {
    class: 'meter', role: 'meter', 'aria-label': t('set.micLevel'), 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0',
  }, meterFill, meterPeak);
  let shownPeak = 0;

  function testButton(role) {
    return h('button', {
      type: 'button', class: 'btn secondary small', 'aria-label': t('set.testAria', { role: t('set.' + role) }),
      on: {
        click: async (e) => {
          const b = e.currentTarget;
          b.disabled = true;
          try {
            await api.testTone(role);
            say(t('set.playing'));
          } catch (err) {
            say(err.message || t('err.generic'), true);
          }
          setTimeout(() => { b.disabled = false; }, 1200);
        },
      },
    }, icon('volume'), t('set.test'));
  }

  function field(label, forId, control, extra, iconName) {
    return h('div', { class: 'field' },
      h('label', { class: 'field-label', for: forId }, icon(iconName), label),
      h('div', { class: 'field-row' }, control, extra || null));
  }

  function sw(id, checked, onChange, label, desc) {
    const input = h('input', { type: 'checkbox', id, role: 'switch', class: 'switch-input', on: { change: () => onChange(input.checked) } });
    input.checked = checked;
    return h('label', { class: 'switch-row', for: id },
      h('span', { class: 'switch-text' }, h('span', { class: 'switch-label', text: label }), desc ? h('span', { class: 'switch-desc', text: desc }) : null),
      input, h('span', { class: 'switch', 'aria-hidden': 'true' }));
  }

  function langPicker() {
    const cur = store.state.settings.language || '';
    const opts = [['', t('set.langAuto')], ['en', 'English'], ['zh-CN', '简体中文']];
    return h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': t('set.language') },
      opts.map(([v, label]) => h('button', {
        type: 'button', role: 'radio', class: 'seg', 'aria-checked': v === cur ? 'true' : 'false', lang: v || null,
        on: { click: async () => { if (await save({ language: v })) actions.applyLanguage(); } },
      }, label)));
  }

  function about(state) {
    const reg = state.registration || {};
    const rows = [
      [t('set.version'), state.version || '—'],
      [t('set.account'), reg.account || '—'],
      [t('set.server'), reg.server ? `${reg.server} (${(reg.transport || '').toUpperCase()})` : '—'],
      [t('set.crm'), ctx.crm || t('set.notInCrm')],
    ];
    return h('dl', { class: 'about' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]));
  }

  const body = h('div', { class: 'settings-body' });
  const scroller = h('div', { class: 'settings-scroll' }, body);
  const el = h('section', { class: 'settings', 'aria-label': t('set.title') },
    h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title' }, t('set.title')), status),
    scroller);

  // The Dynamics writes still waiting, updated in place as they go.
  const pendingRow = h('div', { class: 'crm-pending-row', role: 'status' });
  function renderPending(state) {
    const n = state.crm.pending || 0;
    const group = body.querySelector('.crm-settings');
    if (!group || n <= 0) {
      pendingRow.remove();
      return;
    }
    clear(pendingRow).append(icon('refresh'), h('span', { text: t('crm.pendingLong', { n }) }));
    if (!pendingRow.isConnected) group.querySelector('.group-title').after(pendingRow);
  }

  // While the agent types in a field, a redraw (another widget or the tray
  // changing a setting) waits until she leaves it: it would replace the
  // field and what she typed.
  let typing = false;
  let deferred = false;
  body.addEventListener('input', (e) => {
    if (e.target.tagName === 'INPUT' && ['text', 'number', 'search'].includes(e.target.type)) typing = true;
  });
  body.addEventListener('focusout', () => {
    typing = false;
    // (A save under way redraws when it is done.)
    if (deferred) setTimeout(() => { if (!busy) { deferred = false; render(store.state); } }, 0);
  });

  let lastSig = '';
  function render(state) {
    const sig = JSON.stringify([state.settings, devices, state.version, state.registration && state.registration.account, state.registration && state.registration.server, state.crm.settings]);
    if (sig === lastSig) {
      renderPending(state);
      return;
    }
    if (typing) {
      deferred = true;
      return;
    }
    deferred = false;
    lastSig = sig;
    // The same field keeps the focus and the page its scroll.
    const a = document.activeElement;
    const focusId = a && body.contains(a) ? a.id : '';
    const top = scroller.scrollTop;
    clear(body);
    body.append(
      h('div', { class: 'group' },
        h('h3', { class: 'group-title', text: t('set.audio') }),
        field(t('set.mic'), 'dev-mic', deviceSelect('mic', true), null, 'mic'),
        meter,
        field(t('set.speaker'), 'dev-speaker', deviceSelect('speaker', false), testButton('speaker'), 'headphones'),
        field(t('set.ringer'), 'dev-ringer', deviceSelect('ringer', false), testButton('ringer'), 'bell')),
      h('div', { class: 'group' },
        h('h3', { class: 'group-title', text: t('set.calls') }),
        sw('auto-answer', !!state.settings.autoAnswer, (on) => save({ autoAnswer: on }), t('set.autoAnswer'), t('set.autoAnswerDesc'))),
      crmSettingsGroup(ctx, state.crm.settings, saveCRM),
      h('div', { class: 'group' },
        h('h3', { class: 'group-title', text: t('set.language') }),
        langPicker()),
      h('div', { class: 'group' },
        h('h3', { class: 'group-title', text: t('set.about') }),
        about(state)));
    renderPending(state);
    scroller.scrollTop = top;
    if (focusId) document.getElementById(focusId)?.focus({ preventScroll: true });
  }

  async function loadDevices() {
    try {
      const d = await api.devices();
      devices = d.devices || [];
      render(store.state);
    } catch (e) {
      /* keep what the state had */
    }
  }

  return {
    el,
    update(state) {
      if (!busy) {
        if (!devices.length && state.devices.length) devices = state.devices;
        render(state);
      }
    },
    show() {
      loadDevices();
      ctx.meter(true);
    },
    hide() {
      ctx.meter(false);
      meterFill.style.clipPath = 'inset(0 100% 0 0)';
    },
    level(lv) {
      const f = meterFraction(lv.rms);
      shownPeak = Math.max(meterFraction(lv.peak), shownPeak * 0.92);
      meterFill.style.clipPath = `inset(0 ${(100 - f * 100).toFixed(1)}% 0 0)`;
      meterPeak.style.transform = `translateX(${(shownPeak * 100).toFixed(1)}%)`;
      meter.setAttribute('aria-valuenow', String(Math.round(f * 100)));
    },
    i18n,
  };
}
