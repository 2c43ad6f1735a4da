// Small DOM helpers. Text from the phone (caller names, numbers) is
// untrusted: it only ever enters the page as text nodes, never as HTML.
import { icon } from './icons.js';

export { icon };

/**
 * h builds an element. props: class, text, on {event: fn}, data {k: v},
 * and anything else as an attribute (false/null skip it, true sets "").
 * Children may be nodes, strings, arrays or falsy (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** button with an icon and an accessible label (visible or not). */
export function iconButton(name, label, onClick, cls = '', showLabel = false) {
  return h('button', { type: 'button', class: 'btn-icon ' + cls, 'aria-label': label, title: label, on: { click: onClick } },
    icon(name), showLabel ? h('span', { class: 'btn-label', text: label }) : null);
}

/** 65 → "1:05", 3725 → "1:02:05". */
export function fmtDuration(sec) {
  sec = Math.max(0, Math.floor(sec));
  const hh = Math.floor(sec / 3600);
  const mm = Math.floor((sec % 3600) / 60);
  const ss = String(sec % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function initials(name) {
  const parts = String(name || '').trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return '';
  // CJK names: the first character (usually the family name) reads best.
  if (/[\u3400-\u9fff]/.test(parts[0])) return parts[0].slice(0, 1);
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

/** A stable pleasant hue for an avatar from the caller's number. */
export function hueFor(s) {
  let x = 7;
  for (const ch of String(s)) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return [212, 262, 190, 152, 330, 28, 236, 172][x % 8];
}

export function avatar(name, number, cls = '') {
  const ini = initials(name);
  const el = h('div', { class: 'avatar ' + cls, 'aria-hidden': 'true' }, ini ? ini : icon('user'));
  el.style.setProperty('--hue', hueFor(number || name || ''));
  return el;
}

export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/** Time.parse that treats Go's zero time as absent. */
export function time(s) {
  if (!s || s.startsWith('0001-')) return null;
  const d = new Date(s);
  return isNaN(d) ? null : d;
}
