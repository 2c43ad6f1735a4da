// Number entry rules, mirroring localhost.NormalizeNumber on the server
// (the server's copy is the one that counts).

const KEYPAD = { A: 2, B: 2, C: 2, D: 3, E: 3, F: 3, G: 4, H: 4, I: 4, J: 5, K: 5, L: 5, M: 6, N: 6, O: 6, P: 7, Q: 7, R: 7, S: 7, T: 8, U: 8, V: 8, W: 9, X: 9, Y: 9, Z: 9 };

/** Full-width forms (Chinese input methods) → ASCII. */
export function foldWidth(s) {
  return String(s).replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, ' ');
}

/** What may stay in the dial field while typing or after a paste. */
export function cleanTyped(s) {
  return foldWidth(s).replace(/[^0-9A-Za-z+*#@._:~\-\s()/,;=转分机]/g, '');
}

// Markers of an extension after a phone number, longest first.
const EXT_MARKERS = [';ext=', ';ext', 'extension', 'ext', 'x', '分机', '转', ','];
const MAX_EXTENSION = 10;

/**
 * splitExtension takes a trailing extension ("x123", "ext. 123",
 * ";ext=123", ",,123", "转123") off a phone number: [number, digits], or
 * [s, ''] when there is none. The number needs three digits or more.
 */
export function splitExtension(s) {
  const t = s.replace(/[ \t]+$/, '');
  const m = /[0-9]+$/.exec(t);
  if (!m || t.includes('@')) return [s, ''];
  const head = t.slice(0, m.index).replace(/[ \t:.]+$/, '');
  for (const mk of EXT_MARKERS) {
    if (head.length < mk.length || head.slice(head.length - mk.length).toLowerCase() !== mk) continue;
    const rest = head.slice(0, head.length - mk.length);
    const base = rest.replace(/[ \t,]+$/, '');
    if (!base || (base.match(/[0-9]/g) || []).length < 3) return [s, ''];
    if (mk === 'x' && rest === base && !/[0-9)]$/.test(base)) return [s, ''];
    return [base, m[0]];
  }
  return [s, ''];
}

/**
 * normalize returns {value} or {error: key} where key is an i18n key.
 * "+1 (555) 010-2030" → "+15550102030"; "1-800-FLOWERS" → "18003569377";
 * "alice@pbx.example" and "alice" stay as they are; "+1 425 555 0100 x12"
 * → "+14255550100,12" (the extension is sent as DTMF after the answer).
 */
export function normalize(input) {
  let s = foldWidth(input).trim();
  const [base, ext] = splitExtension(s);
  if (ext) {
    if (ext.length > MAX_EXTENSION) return { error: 'err.extTooLong' };
    const r = normalize(base);
    if (r.error) return r;
    if (/[@,]/.test(r.value) || r.value.length + 1 + ext.length > 64) return { error: 'err.tooLong' };
    return { value: r.value + ',' + ext };
  }
  const low = s.toLowerCase();
  if (low.startsWith('tel:')) s = s.slice(4).trim();
  else if (low.startsWith('sip:') || low.startsWith('sips:')) s = s.slice(s.indexOf(':') + 1);
  if (!s) return { error: 'err.emptyNumber' };
  if (s.includes('@')) {
    const [user, host, extra] = s.split('@');
    if (!user || !host || extra !== undefined) return { error: 'err.badSip' };
    if (!/^[A-Za-z0-9+\-_.~*#@:[\]]+$/.test(s) || s.length > 128) return { error: 'err.badSip' };
    return { value: s };
  }
  let out = '';
  let digits = 0;
  let letters = 0;
  for (const ch of s) {
    if (ch >= '0' && ch <= '9') digits++;
    else if (ch === '+') { if (out) return { error: 'err.plusPlace' }; }
    else if (ch === '*' || ch === '#') { /* keep */ }
    else if (/[A-Za-z]/.test(ch)) letters++;
    else if (ch === '_' && out) { /* keep */ }
    else if (' -.()/\u00a0\t'.includes(ch)) continue;
    else return { error: 'err.badChars' };
    out += ch;
  }
  if (letters && digits >= 3 && /^[+0-9]/.test(out)) {
    out = out.replace(/[A-Za-z]/g, (c) => String(KEYPAD[c.toUpperCase()]));
  }
  if (!out || out === '+') return { error: 'err.emptyNumber' };
  if (out.length > 64) return { error: 'err.tooLong' };
  return { value: out };
}

/** Light grouping for display only ("+86 138 0013 8000"); never dialled. */
export function pretty(n) {
  if (!n || /[^0-9+]/.test(n) || n.length < 7) return n || '';
  if (n.startsWith('+86') && n.length === 14) return `+86 ${n.slice(3, 6)} ${n.slice(6, 10)} ${n.slice(10)}`;
  if (n.startsWith('+1') && n.length === 12) return `+1 ${n.slice(2, 5)} ${n.slice(5, 8)} ${n.slice(8)}`;
  if (n.startsWith('+')) return n.slice(0, 3) + ' ' + n.slice(3).replace(/(\d{3,4})(?=\d{3,})/g, '$1 ');
  return n;
}
