// The widget's state: what the app last told us plus what the agent is
// doing on screen. Views subscribe and update themselves.

export const LIVE = ['dialing', 'ringing', 'incoming', 'active', 'held'];

export class Store {
  constructor() {
    this.state = {
      conn: 'connecting', // connecting | open | reconnecting
      retryIn: 0,
      version: '',
      registration: null,
      calls: [], // live calls, oldest first
      settings: {},
      devices: [],
      crmOrigins: [],
      level: { rms: 0, peak: 0 },
      view: 'phone', // phone | history | settings
      focusId: null, // the call shown on the call screen
      keypad: false, // DTMF keypad open on the call screen
      adding: false, // dialpad open to place a second call
      dial: '', // dial field text
      ended: null, // the call that just ended, shown briefly
      historyRev: 0, // bumped when a call ends so the log reloads
      // Dynamics 365: settings, writes waiting, each call's CRM state (by
      // call id, kept after the call ends for its activity page), whether
      // the CIF library is up in this panel.
      crm: { settings: null, pending: 0, calls: {}, ready: false },
      activityOpening: null, // call id whose activity page the agent just asked for
    };
    this.subs = new Set();
  }

  subscribe(fn) {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  set(patch) {
    Object.assign(this.state, patch);
    this.emit();
  }

  emit() {
    for (const fn of this.subs) fn(this.state);
  }

  /** Replace everything the app owns with a fresh snapshot. */
  applyState(st) {
    const calls = (st.calls || []).filter((c) => LIVE.includes(c.state));
    this.state.version = st.version || '';
    this.state.registration = st.registration || null;
    this.state.calls = calls;
    this.state.settings = st.settings || {};
    this.state.devices = st.devices || [];
    this.state.crmOrigins = st.crmOrigins || [];
    if (st.crm) {
      const calls = {};
      for (const ci of st.crm.calls || []) calls[ci.callId] = ci;
      this.state.crm = { ...this.state.crm, settings: st.crm.settings, pending: st.crm.pending || 0, calls };
    }
    this.fixFocus();
    this.emit();
  }

  /** A call event carries the whole call: replace by id, drop it once ended. */
  applyCall(call) {
    const i = this.state.calls.findIndex((c) => c.id === call.id);
    const prev = i >= 0 ? this.state.calls[i] : null;
    if (LIVE.includes(call.state)) {
      if (prev) this.state.calls[i] = call;
      else this.state.calls.push(call);
      // A new outbound call, or a call that just became active (answered
      // or resumed), takes the screen.
      if (!prev && call.direction === 'outbound') {
        this.state.focusId = call.id;
        this.state.adding = false;
      }
      if (call.state === 'active' && (!prev || prev.state !== 'active')) this.state.focusId = call.id;
    } else {
      if (i < 0) return; // a repeat of an end we already showed
      this.state.calls.splice(i, 1);
      if (call.state === 'ended') {
        if (this.state.focusId === call.id || !this.state.calls.length) this.state.ended = call;
        this.state.historyRev++;
      }
    }
    if (!this.state.calls.length) {
      this.state.keypad = false;
      this.state.adding = false;
    }
    this.fixFocus();
    this.emit();
  }

  /** A call's CRM state replaces the previous one. */
  applyCRMCall(info) {
    if (!info || !info.callId) return;
    const calls = { ...this.state.crm.calls, [info.callId]: info };
    // Keep the page's memory bounded: forget old ended calls without a page.
    const ids = Object.keys(calls);
    if (ids.length > 40) {
      for (const id of ids.slice(0, ids.length - 40)) {
        if (!calls[id].showActivityPage && !this.state.calls.some((c) => c.id === id)) delete calls[id];
      }
    }
    this.state.crm = { ...this.state.crm, calls };
    if (this.state.activityOpening === info.callId && info.showActivityPage) this.state.activityOpening = null;
    this.emit();
  }

  setCRM(patch) {
    this.state.crm = { ...this.state.crm, ...patch };
    this.emit();
  }

  crmInfo(id) {
    return (id && this.state.crm.calls[id]) || null;
  }

  fixFocus() {
    const calls = this.state.calls;
    if (calls.some((c) => c.id === this.state.focusId)) return;
    const talking = calls.find((c) => c.state === 'active') || calls.find((c) => c.state !== 'incoming') || null;
    this.state.focusId = talking ? talking.id : null;
  }

  focused() {
    return this.state.calls.find((c) => c.id === this.state.focusId) || null;
  }

  incoming() {
    return this.state.calls.filter((c) => c.state === 'incoming');
  }
}
