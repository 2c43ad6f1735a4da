// The dialpad: a number field that accepts typing, pasting and the
// on-screen keys, normalised before dialling.
import { h, icon } from '../ui.js';
import { cleanTyped, normalize } from '../number.js';

export const KEYS = [
  ['1', ''], ['2', 'ABC'], ['3', 'DEF'],
  ['4', 'GHI'], ['5', 'JKL'], ['6', 'MNO'],
  ['7', 'PQRS'], ['8', 'TUV'], ['9', 'WXYZ'],
  ['*', ''], ['0', '+'], ['#', ''],
];

/** keypad builds the 12 keys; onKey(key) for each press, '+' on a long 0. */
export function keypad(onKey, t, cls = '') {
  return h('div', { class: 'keypad ' + cls, role: 'group', 'aria-label': t('dial.keypad') },
    KEYS.map(([k, sub]) => {
      let timer = null;
      let long = false;
      const b = h('button', {
        type: 'button', class: 'key', data: { key: k },
        'aria-label': k === '*' ? t('key.star') : k === '#' ? t('key.hash') : k,
        on: {
          click: () => {
            if (long) { long = false; return; }
            onKey(k);
          },
          pointerdown: () => {
            if (k !== '0') return;
            long = false;
            timer = setTimeout(() => { long = true; onKey('+'); }, 550);
          },
          pointerup: () => clearTimeout(timer),
          pointerleave: () => clearTimeout(timer),
        },
      }, h('span', { class: 'key-main', text: k }), h('span', { class: 'key-sub', text: sub || '\u00a0' }));
      return b;
    }));
}

export function createDialpad(ctx) {
  const { store, t, actions } = ctx;
  const input = h('input', {
    class: 'dial-input', type: 'tel', inputmode: 'tel', autocomplete: 'off', spellcheck: 'false',
    'aria-label': t('dial.numberLabel'), placeholder: t('dial.placeholder'), maxlength: 80,
    value: store.state.dial,
  });
  const hint = h('div', { class: 'dial-hint', role: 'status', 'aria-live': 'polite' });
  const clearBtn = h('button', {
    type: 'button', class: 'btn-icon dial-back', 'aria-label': t('dial.backspace'), title: t('dial.backspace'),
    on: { click: () => backspace() },
  }, icon('backspace'));
  const callBtn = h('button', {
    type: 'button', class: 'btn-call', 'aria-label': t('dial.call'), title: t('dial.call'),
    on: { click: () => call() },
  }, icon('phone'));
  const cancelAdd = h('button', {
    type: 'button', class: 'btn-text add-cancel', on: { click: () => store.set({ adding: false }) },
  }, t('dial.backToCall'));

  function setDial(v) {
    input.value = v;
    hint.textContent = '';
    hint.classList.remove('error');
    store.state.dial = v;
    updateButtons();
  }
  function updateButtons() {
    const empty = !input.value.trim();
    callBtn.disabled = empty;
    clearBtn.hidden = empty;
  }
  function insert(text) {
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    const v = input.value.slice(0, start) + text + input.value.slice(end);
    setDial(v);
    const pos = start + text.length;
    if (document.activeElement === input) input.setSelectionRange(pos, pos);
  }
  function backspace() {
    const v = input.value;
    let start = input.selectionStart ?? v.length;
    const end = input.selectionEnd ?? v.length;
    if (document.activeElement !== input) start = v.length;
    if (start === end && start > 0) start--;
    setDial(v.slice(0, start) + v.slice(document.activeElement === input ? end : v.length));
  }
  function call() {
    const r = normalize(input.value);
    if (r.error) {
      hint.textContent = t(r.error);
      hint.classList.add('error');
      input.focus();
      return;
    }
    actions.dial(r.value).then((ok) => { if (ok) setDial(''); });
  }

  input.addEventListener('input', () => {
    const cleaned = cleanTyped(input.value);
    if (cleaned !== input.value) input.value = cleaned;
    setDial(input.value);
  });
  input.addEventListener('paste', (e) => {
    const text = (e.clipboardData || window.clipboardData)?.getData('text') || '';
    e.preventDefault();
    const r = normalize(text);
    insert(r.value || cleanTyped(text).trim());
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      call();
    }
  });

  const el = h('section', { class: 'dialpad', 'aria-label': t('nav.dialpad') },
    h('div', { class: 'add-bar' }, h('span', { text: t('dial.newCall') }), cancelAdd),
    h('div', { class: 'dial-field' }, input, clearBtn),
    hint,
    keypad((k) => { insert(k); }, t),
    h('div', { class: 'dial-actions' }, callBtn));

  updateButtons();
  return {
    el,
    input,
    /** Keys typed while no field has focus land in the dial field. */
    key(e) {
      if (/^[0-9*#+]$/.test(e.key)) { setDial(input.value + e.key); flash(e.key); return true; }
      if (e.key === 'Backspace') { backspace(); return true; }
      if (e.key === 'Enter' && input.value) { call(); return true; }
      return false;
    },
    setNumber(n) { setDial(n); },
    update(state) {
      el.classList.toggle('adding', state.adding && state.calls.length > 0);
      if (input.value !== state.dial) setDial(state.dial);
    },
  };

  function flash(k) {
    const b = el.querySelector(`.key[data-key="${CSS.escape(k === '+' ? '0' : k)}"]`);
    if (!b) return;
    b.classList.add('pressed');
    setTimeout(() => b.classList.remove('pressed'), 120);
  }
}
