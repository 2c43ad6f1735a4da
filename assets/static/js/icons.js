// Line icons on a 24×24 grid, stroke-drawn. Most shapes follow the
// Feather icon set (MIT licence, © Cole Bemis).
const phone = ['path', { d: 'M22 16.92v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.5 19.5 0 0 1-6-6 19.79 19.79 0 0 1-3.07-8.67A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72 12.84 12.84 0 0 0 .7 2.81 2 2 0 0 1-.45 2.11L8.09 9.91a16 16 0 0 0 6 6l1.27-1.27a2 2 0 0 1 2.11-.45 12.84 12.84 0 0 0 2.81.7A2 2 0 0 1 22 16.92z' }];

const ICONS = {
  phone: [phone],
  hangup: [['path', { d: 'M3.6 14.9 1.9 13.2a1.5 1.5 0 0 1 .06-2.18C4.5 8.65 8.1 7.3 12 7.3s7.5 1.35 10.04 3.72a1.5 1.5 0 0 1 .06 2.18l-1.7 1.7a1.5 1.5 0 0 1-1.95.15 11.3 11.3 0 0 0-2.1-1.25 1.5 1.5 0 0 1-.87-1.36V10.6A14 14 0 0 0 12 10a14 14 0 0 0-3.48.44v1.84a1.5 1.5 0 0 1-.87 1.36 11.3 11.3 0 0 0-2.1 1.25 1.5 1.5 0 0 1-1.95-.15z' }]],
  incoming: [phone, ['polyline', { points: '16 2 16 8 22 8' }], ['line', { x1: 23, y1: 1, x2: 16, y2: 8 }]],
  outgoing: [phone, ['polyline', { points: '23 7 23 1 17 1' }], ['line', { x1: 16, y1: 8, x2: 23, y2: 1 }]],
  missed: [phone, ['line', { x1: 23, y1: 1, x2: 17, y2: 7 }], ['line', { x1: 17, y1: 1, x2: 23, y2: 7 }]],
  mic: [['path', { d: 'M12 1a3 3 0 0 0-3 3v8a3 3 0 0 0 6 0V4a3 3 0 0 0-3-3z' }], ['path', { d: 'M19 10v2a7 7 0 0 1-14 0v-2' }], ['line', { x1: 12, y1: 19, x2: 12, y2: 23 }], ['line', { x1: 8, y1: 23, x2: 16, y2: 23 }]],
  micOff: [['line', { x1: 1, y1: 1, x2: 23, y2: 23 }], ['path', { d: 'M9 9v3a3 3 0 0 0 5.12 2.12M15 9.34V4a3 3 0 0 0-5.94-.6' }], ['path', { d: 'M17 16.95A7 7 0 0 1 5 12v-2m14 0v2a7 7 0 0 1-.11 1.23' }], ['line', { x1: 12, y1: 19, x2: 12, y2: 23 }], ['line', { x1: 8, y1: 23, x2: 16, y2: 23 }]],
  pause: [['rect', { x: 6, y: 4, width: 4, height: 16, rx: 1 }], ['rect', { x: 14, y: 4, width: 4, height: 16, rx: 1 }]],
  play: [['polygon', { points: '6 3 20 12 6 21 6 3' }]],
  keypad: [3.5, 9.5, 15.5].flatMap((y) => [5, 12, 19].map((x) => ['circle', { cx: x, cy: y, r: 1.7, fill: 'currentColor', stroke: 'none' }])).concat([['circle', { cx: 12, cy: 21.5, r: 1.7, fill: 'currentColor', stroke: 'none' }]]),
  backspace: [['path', { d: 'M21 4H8l-7 8 7 8h13a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2z' }], ['line', { x1: 18, y1: 9, x2: 12, y2: 15 }], ['line', { x1: 12, y1: 9, x2: 18, y2: 15 }]],
  search: [['circle', { cx: 11, cy: 11, r: 7 }], ['line', { x1: 21, y1: 21, x2: 16.2, y2: 16.2 }]],
  settings: [['circle', { cx: 12, cy: 12, r: 3 }], ['path', { d: 'M19.4 15a1.65 1.65 0 0 0 .33 1.82l.06.06a2 2 0 0 1 0 2.83 2 2 0 0 1-2.83 0l-.06-.06a1.65 1.65 0 0 0-1.82-.33 1.65 1.65 0 0 0-1 1.51V21a2 2 0 0 1-2 2 2 2 0 0 1-2-2v-.09A1.65 1.65 0 0 0 9 19.4a1.65 1.65 0 0 0-1.82.33l-.06.06a2 2 0 0 1-2.83 0 2 2 0 0 1 0-2.83l.06-.06a1.65 1.65 0 0 0 .33-1.82 1.65 1.65 0 0 0-1.51-1H3a2 2 0 0 1-2-2 2 2 0 0 1 2-2h.09A1.65 1.65 0 0 0 4.6 9a1.65 1.65 0 0 0-.33-1.82l-.06-.06a2 2 0 0 1 0-2.83 2 2 0 0 1 2.83 0l.06.06a1.65 1.65 0 0 0 1.82.33H9a1.65 1.65 0 0 0 1-1.51V3a2 2 0 0 1 2-2 2 2 0 0 1 2 2v.09a1.65 1.65 0 0 0 1 1.51 1.65 1.65 0 0 0 1.82-.33l.06-.06a2 2 0 0 1 2.83 0 2 2 0 0 1 0 2.83l-.06.06a1.65 1.65 0 0 0-.33 1.82V9a1.65 1.65 0 0 0 1.51 1H21a2 2 0 0 1 2 2 2 2 0 0 1-2 2h-.09a1.65 1.65 0 0 0-1.51 1z' }]],
  clock: [['circle', { cx: 12, cy: 12, r: 10 }], ['polyline', { points: '12 6 12 12 16 14' }]],
  x: [['line', { x1: 18, y1: 6, x2: 6, y2: 18 }], ['line', { x1: 6, y1: 6, x2: 18, y2: 18 }]],
  volume: [['polygon', { points: '11 5 6 9 2 9 2 15 6 15 11 19 11 5' }], ['path', { d: 'M19.07 4.93a10 10 0 0 1 0 14.14M15.54 8.46a5 5 0 0 1 0 7.07' }]],
  bell: [['path', { d: 'M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9' }], ['path', { d: 'M13.73 21a2 2 0 0 1-3.46 0' }]],
  user: [['path', { d: 'M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2' }], ['circle', { cx: 12, cy: 7, r: 4 }]],
  swap: [['polyline', { points: '17 1 21 5 17 9' }], ['path', { d: 'M3 11V9a4 4 0 0 1 4-4h14' }], ['polyline', { points: '7 23 3 19 7 15' }], ['path', { d: 'M21 13v2a4 4 0 0 1-4 4H3' }]],
  globe: [['circle', { cx: 12, cy: 12, r: 10 }], ['line', { x1: 2, y1: 12, x2: 22, y2: 12 }], ['path', { d: 'M12 2a15.3 15.3 0 0 1 4 10 15.3 15.3 0 0 1-4 10 15.3 15.3 0 0 1-4-10 15.3 15.3 0 0 1 4-10z' }]],
  offline: [['line', { x1: 1, y1: 1, x2: 23, y2: 23 }], ['path', { d: 'M16.72 11.06A10.94 10.94 0 0 1 19 12.55' }], ['path', { d: 'M5 12.55a10.94 10.94 0 0 1 5.17-2.39' }], ['path', { d: 'M10.71 5.05A16 16 0 0 1 22.58 9' }], ['path', { d: 'M1.42 9a15.91 15.91 0 0 1 4.7-2.88' }], ['path', { d: 'M8.53 16.11a6 6 0 0 1 6.95 0' }], ['line', { x1: 12, y1: 20, x2: 12.01, y2: 20 }]],
  alert: [['circle', { cx: 12, cy: 12, r: 10 }], ['line', { x1: 12, y1: 8, x2: 12, y2: 12 }], ['line', { x1: 12, y1: 16, x2: 12.01, y2: 16 }]],
  inArrow: [['line', { x1: 17, y1: 7, x2: 7, y2: 17 }], ['polyline', { points: '17 17 7 17 7 7' }]],
  outArrow: [['line', { x1: 7, y1: 17, x2: 17, y2: 7 }], ['polyline', { points: '7 7 17 7 17 17' }]],
  plus: [['line', { x1: 12, y1: 5, x2: 12, y2: 19 }], ['line', { x1: 5, y1: 12, x2: 19, y2: 12 }]],
  check: [['polyline', { points: '20 6 9 17 4 12' }]],
  headphones: [['path', { d: 'M3 18v-6a9 9 0 0 1 18 0v6' }], ['path', { d: 'M21 19a2 2 0 0 1-2 2h-1a2 2 0 0 1-2-2v-3a2 2 0 0 1 2-2h3zM3 19a2 2 0 0 0 2 2h1a2 2 0 0 0 2-2v-3a2 2 0 0 0-2-2H3z' }]],
  chevronDown: [['polyline', { points: '6 9 12 15 18 9' }]],
  refresh: [['polyline', { points: '23 4 23 10 17 10' }], ['path', { d: 'M20.49 15a9 9 0 1 1-2.12-9.36L23 10' }]],
  list: [['line', { x1: 8, y1: 6, x2: 21, y2: 6 }], ['line', { x1: 8, y1: 12, x2: 21, y2: 12 }], ['line', { x1: 8, y1: 18, x2: 21, y2: 18 }], ['line', { x1: 3, y1: 6, x2: 3.01, y2: 6 }], ['line', { x1: 3, y1: 12, x2: 3.01, y2: 12 }], ['line', { x1: 3, y1: 18, x2: 3.01, y2: 18 }]],
};

const NS = 'http://www.w3.org/2000/svg';

/** icon returns a fresh <svg> for name, hidden from screen readers. */
export function icon(name, cls = '') {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', ('icon ' + cls).trim());
  for (const [tag, attrs] of ICONS[name] || []) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    svg.appendChild(el);
  }
  return svg;
}
