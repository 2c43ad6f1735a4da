// The call screen (active, held, ringing-out calls and a second line),
// the incoming-call card, and the short "call ended" summary.
import { h, icon, clear, avatar, fmtDuration, time } from '../ui.js';
import { pretty } from '../number.js';
import { keypad } from './dialpad.js';
import { crmSection, crmSectionSig } from './crm.js';

function title(c) {
  return c.name || pretty(c.number) || c.number;
}

/** The status line under a call's name: a timer once talking. */
export function callStatus(c, t, now = Date.now()) {
  switch (c.state) {
    case 'dialing': return t('call.calling');
    case 'ringing': return t('call.ringing');
    case 'incoming': return t('call.incoming');
    case 'held': return t('call.onHold');
    case 'active': {
      const a = time(c.answered);
      const base = a ? fmtDuration((now - a.getTime()) / 1000) : '';
      return c.remoteHold ? `${t('call.remoteHold')} · ${base}` : base;
    }
    default: return '';
  }
}

function qualityBadge(c, t) {
  const q = c.quality;
  const parts = [];
  if (c.codec) {
    const hd = /opus|g722/i.test(c.codec);
    parts.push(h('span', { class: 'badge' + (hd ? ' hd' : ''), title: t('call.codec') }, hd ? 'HD · ' : '', c.codec.toUpperCase()));
  }
  if (q && q.mos) {
    const level = q.mos >= 4 ? 3 : q.mos >= 3.5 ? 2 : 1;
    const label = t(['', 'q.poor', 'q.fair', 'q.good'][level]);
    const bars = h('span', { class: `bars q${level}`, 'aria-hidden': 'true' }, h('i'), h('i'), h('i'));
    parts.push(h('span', {
      class: 'badge quality', role: 'img',
      'aria-label': `${t('call.quality')}: ${label}`,
      title: `${t('call.quality')}: ${label} · MOS ${q.mos.toFixed(1)} · ${t('q.loss')} ${q.lossPct.toFixed(1)}% · ${t('q.jitter')} ${Math.round(q.jitterMs)} ms`,
    }, bars, label));
  }
  return parts.length ? h('div', { class: 'badges' }, parts) : null;
}

export function createCallScreen(ctx) {
  const { store, t, actions } = ctx;
  const el = h('section', { class: 'callscreen', 'aria-label': t('call.screen') });
  let dtmfSent = '';
  let timerEls = [];

  function controls(c) {
    const held = c.state === 'held';
    const talking = c.state === 'active' || held;
    const btn = (name, label, onClick, { on = false, disabled = false, cls = '' } = {}) =>
      h('button', {
        type: 'button', class: 'ctl ' + cls + (on ? ' on' : ''), data: { k: name.replace('Off', '').replace('play', 'pause') }, 'aria-label': label, 'aria-pressed': on ? 'true' : (cls.includes('toggle') ? 'false' : null),
        disabled, title: label, on: { click: onClick },
      }, h('span', { class: 'ctl-icon' }, icon(name)), h('span', { class: 'ctl-label', text: label }));
    const others = store.state.calls.filter((x) => x.id !== c.id && x.state !== 'incoming');
    return h('div', { class: 'controls' },
      btn(c.muted ? 'micOff' : 'mic', c.muted ? t('call.unmute') : t('call.mute'),
        () => actions.mute(c.id, !c.muted), { on: c.muted, disabled: !talking, cls: 'toggle' }),
      btn('keypad', t('call.keypad'), () => { store.set({ keypad: true }); }, { disabled: !talking }),
      btn(held ? 'play' : 'pause', held ? t('call.resume') : t('call.hold'),
        () => (held ? actions.resume(c.id) : actions.hold(c.id)), { on: held, disabled: !talking, cls: 'toggle' }),
      others.length
        ? btn('swap', t('call.swap'), () => actions.switchTo(others[0].id), { disabled: !talking })
        : btn('plus', t('call.add'), () => store.set({ adding: true, keypad: false }), { disabled: !talking }),
    );
  }

  function dtmfPad(c) {
    const shown = h('div', { class: 'dtmf-digits', 'aria-live': 'polite', 'aria-label': t('call.dtmfSent') }, dtmfSent || '\u00a0');
    return h('div', { class: 'dtmf' },
      shown,
      keypad((k) => {
        if (k === '+') return;
        dtmfSent = (dtmfSent + k).slice(-24);
        shown.textContent = dtmfSent;
        actions.dtmf(c.id, k);
      }, t, 'compact'),
      h('button', { type: 'button', class: 'btn-text', on: { click: () => store.set({ keypad: false }) } }, t('call.hideKeypad')));
  }

  function lines(state) {
    const calls = state.calls.filter((c) => c.state !== 'incoming');
    if (calls.length < 2) return null;
    return h('div', { class: 'lines', role: 'tablist', 'aria-label': t('call.lines') },
      calls.map((c, i) => {
        const sel = c.id === state.focusId;
        const st = h('span', { class: 'line-status', text: callStatus(c, t) });
        if (c.state === 'active') timerEls.push([st, c]);
        return h('button', {
          type: 'button', role: 'tab', class: 'line' + (sel ? ' selected' : '') + (c.state === 'held' ? ' held' : ''),
          'aria-selected': sel ? 'true' : 'false',
          title: t('call.switchTo', { name: title(c) }),
          on: { click: () => { if (!sel) actions.switchTo(c.id); } },
        }, h('span', { class: 'line-no', text: t('call.line', { n: i + 1 }) }),
        h('span', { class: 'line-name', text: title(c) }), st);
      }));
  }

  const crmSlot = h('div', { class: 'crm-slot' });
  let lastCRM = '';
  function renderCRM(state) {
    const c = store.focused();
    const info = c ? store.crmInfo(c.id) : null;
    const sig = crmSectionSig(c && c.id, info);
    if (sig === lastCRM) return;
    lastCRM = sig;
    clear(crmSlot);
    const box = c ? crmSection(ctx, c, info) : null;
    if (box) crmSlot.append(box);
    crmSlot.hidden = !box;
  }

  // A press on a control holds redrawing back until it is released: a
  // call event arriving in between (the caller's name from Dynamics, a
  // remote hold) would replace the button and the click would be lost.
  // Held back for two seconds at most, should the release never come.
  let pressed = false;
  let held = false;
  let pressTimer = null;
  el.addEventListener('pointerdown', () => {
    pressed = true;
    clearTimeout(pressTimer);
    pressTimer = setTimeout(release, 2000);
  }, true);
  const release = () => {
    if (!pressed) return;
    pressed = false;
    clearTimeout(pressTimer);
    // After the click this release makes has run.
    setTimeout(() => { if (held) { held = false; render(store.state); } }, 0);
  };
  window.addEventListener('pointerup', release, true);
  window.addEventListener('pointercancel', release, true);
  window.addEventListener('blur', release); // released outside the page

  let lastSig = '';
  function render(state) {
    if (pressed) {
      held = true;
      return;
    }
    // The Dynamics box changes on its own (search, pick, add) without
    // rebuilding the controls the agent may be clicking.
    renderCRM(state);
    const sig = JSON.stringify([state.calls, state.focusId, state.keypad]);
    if (sig === lastSig) return;
    lastSig = sig;
    // Keep keyboard focus on the same control across a re-render.
    const a = document.activeElement;
    const focusKey = a && el.contains(a) ? (a.dataset.k || a.dataset.key || (a.classList.contains('btn-hangup') ? 'hangup' : '')) : '';
    timerEls = [];
    clear(el);
    const c = store.focused();
    if (!c) return;
    if (c.id !== el.dataset.callId) dtmfSent = '';
    el.dataset.callId = c.id;
    const status = h('div', { class: 'call-status', role: 'timer', 'aria-live': 'off', text: callStatus(c, t) });
    timerEls.push([status, c]);
    const ringing = c.state === 'dialing' || c.state === 'ringing';
    const card = h('div', { class: 'call-card ' + c.state },
      h('div', { class: 'call-dir' }, icon(c.direction === 'inbound' ? 'inArrow' : 'outArrow'),
        c.direction === 'inbound' ? t('call.inbound') : t('call.outbound')),
      h('div', { class: 'avatar-wrap' + (ringing ? ' pulse' : '') }, avatar(c.name, c.number, 'xl')),
      h('h2', { class: 'call-name', text: title(c) }),
      c.name ? h('div', { class: 'call-number', text: pretty(c.number) }) : null,
      status,
      qualityBadge(c, t));
    el.append(lines(state) || '', card);
    if (state.keypad && (c.state === 'active' || c.state === 'held')) el.append(dtmfPad(c));
    else el.append(controls(c));
    el.append(h('div', { class: 'hangup-row' },
      h('button', {
        type: 'button', class: 'btn-hangup', 'aria-label': ringing ? t('call.cancel') : t('call.hangup'),
        title: ringing ? t('call.cancel') : t('call.hangup'), on: { click: () => actions.hangup(c.id) },
      }, icon('hangup'), h('span', { text: ringing ? t('call.cancel') : t('call.hangup') }))));
    // The caller's record comes after the call controls, which stay in
    // view in the narrow side panel.
    el.append(crmSlot);
    lastCRM = '';
    renderCRM(state);
    if (focusKey) {
      const target = focusKey === 'hangup' ? el.querySelector('.btn-hangup')
        : el.querySelector(`[data-k="${CSS.escape(focusKey)}"], .key[data-key="${CSS.escape(focusKey)}"]`);
      if (target) target.focus({ preventScroll: true });
    }
  }

  return {
    el,
    update: render,
    tick() {
      for (const [e, c] of timerEls) e.textContent = callStatus(c, t);
    },
    key(e) {
      const c = store.focused();
      if (!c) return false;
      if (store.state.keypad && /^[0-9*#A-Da-d]$/.test(e.key)) {
        const b = el.querySelector(`.key[data-key="${CSS.escape(e.key)}"]`);
        if (b) b.click();
        return true;
      }
      if (e.key === 'Escape' && store.state.keypad) { store.set({ keypad: false }); return true; }
      return false;
    },
  };
}

/** The incoming-call cards, shown above everything else. */
export function createIncoming(ctx) {
  const { store, t, actions } = ctx;
  const el = h('div', { class: 'incoming-layer' });
  // One card per ringing call, kept for as long as it rings. A card is
  // updated in place (the caller's name arriving from Dynamics, a second
  // call making this one "waiting", the Dynamics box) and never rebuilt,
  // so Answer and Decline are never replaced under the agent's click.
  const cards = new Map();

  function makeCard(c) {
    const who = h('div', { class: 'incoming-top' });
    const slot = h('div', { class: 'crm-slot' });
    const decline = h('button', { type: 'button', class: 'btn-decline', on: { click: () => actions.decline(c.id) } },
      icon('hangup'), h('span', { text: t('in.decline') }));
    const answerText = h('span');
    const answer = h('button', { type: 'button', class: 'btn-answer', on: { click: () => actions.answer(c.id) } },
      icon('phone'), answerText);
    const card = h('div', {
      class: 'incoming-card', role: 'alertdialog', 'aria-modal': 'false',
      'aria-labelledby': 'in-' + c.id, 'aria-describedby': 'in-d-' + c.id,
    }, who, slot, h('div', { class: 'incoming-actions' }, decline, answer));
    return { card, who, slot, decline, answer, answerText, sig: '', crmSig: null };
  }

  function fill(k, c, busy) {
    const sig = JSON.stringify([c.name, c.number, !!c.waiting, busy]);
    if (sig !== k.sig) {
      k.sig = sig;
      const name = title(c);
      clear(k.who).append(
        h('div', { class: 'avatar-wrap pulse' }, avatar(c.name, c.number, 'lg')),
        h('div', { class: 'incoming-who' },
          h('div', { class: 'incoming-label', id: 'in-d-' + c.id },
            icon('incoming'), c.waiting || busy ? t('in.waiting') : t('in.title')),
          h('div', { class: 'incoming-name', id: 'in-' + c.id, text: name }),
          c.name ? h('div', { class: 'incoming-number', text: pretty(c.number) }) : ''));
      k.answer.setAttribute('aria-label', t('in.answerName', { name }));
      k.decline.setAttribute('aria-label', t('in.declineName', { name }));
      k.answerText.textContent = busy ? t('in.holdAnswer') : t('in.answer');
    }
    const info = store.crmInfo(c.id);
    const crmSig = crmSectionSig(c.id, info);
    if (crmSig !== k.crmSig) {
      k.crmSig = crmSig;
      clear(k.slot);
      const box = crmSection(ctx, c, info, { compact: true });
      if (box) k.slot.append(box);
    }
  }

  function render(state) {
    const calls = state.calls.filter((c) => c.state === 'incoming');
    const live = new Set(calls.map((c) => c.id));
    const hadFocus = el.contains(document.activeElement);
    for (const [id, k] of cards) {
      if (!live.has(id)) { k.card.remove(); cards.delete(id); }
    }
    const busy = state.calls.some((c) => c.state === 'active');
    let added = false;
    calls.forEach((c, i) => {
      let k = cards.get(c.id);
      if (!k) { k = makeCard(c); cards.set(c.id, k); added = true; }
      fill(k, c, busy);
      if (el.children[i] !== k.card) el.insertBefore(k.card, el.children[i] || null);
    });
    el.hidden = !calls.length;
    // Move focus to the newest Answer button only if the agent wasn't typing.
    if (added && (hadFocus || !isTyping())) el.querySelector('.incoming-card:last-child .btn-answer')?.focus({ preventScroll: true });
    else if (hadFocus && !el.contains(document.activeElement)) el.querySelector('.btn-answer')?.focus({ preventScroll: true });
  }
  return { el, update: render };
}

function isTyping() {
  const a = document.activeElement;
  return a && (a.tagName === 'INPUT' || a.tagName === 'SELECT' || a.tagName === 'TEXTAREA');
}

/** The summary shown for a few seconds after the focused call ends. */
export function createEnded(ctx) {
  const { store, t, actions } = ctx;
  const el = h('section', { class: 'ended', 'aria-live': 'polite' });
  let timer = null;
  let shown = null;
  function render(state) {
    const c = state.ended;
    if (c === shown) return;
    shown = c;
    clear(el);
    clearTimeout(timer);
    if (!c) return;
    const a = time(c.answered);
    const e = time(c.ended) || new Date();
    const talk = a ? fmtDuration((e - a) / 1000) : '';
    const why = {
      busy: t('end.busy'), declined: t('end.declined'), failed: t('end.failed'), missed: t('end.missed'),
      'no-answer': t('end.noAnswer'), cancelled: t('end.cancelled'),
    }[c.disposition];
    el.append(
      h('div', { class: 'call-card ended-card' },
        avatar(c.name, c.number, 'xl muted'),
        h('h2', { class: 'call-name', text: title(c) }),
        h('div', { class: 'call-status' }, talk ? `${t('end.ended')} · ${talk}` : why || t('end.ended')),
        c.reason && c.disposition !== 'answered' ? h('div', { class: 'end-reason', text: c.reason }) : null),
      h('div', { class: 'ended-actions' },
        h('button', { type: 'button', class: 'btn secondary', on: { click: () => store.set({ ended: null }) } }, t('end.done')),
        h('button', {
          type: 'button', class: 'btn primary', on: { click: () => { store.set({ ended: null }); actions.dial(c.number); } },
        }, icon('phone'), t('end.again'))));
    timer = setTimeout(() => { if (store.state.ended === c) store.set({ ended: null }); }, 4000);
  }
  return { el, update: render };
}
