// The local API and the event stream. The session token comes from the
// page (a meta tag), travels in the Authorization header for REST and as a
// WebSocket subprotocol for events; it is never put in a URL or a cookie.

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  async call(method, path, body) {
    const headers = { Authorization: 'Bearer ' + this.token, Accept: 'application/json' };
    const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch('/api/v1' + path, init);
    } catch (e) {
      throw new ApiError(0, 'offline', '');
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      /* not JSON */
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText, err.field);
    }
    return data;
  }

  status() { return this.call('GET', '/status'); }
  dial(number) { return this.call('POST', '/calls', { number }); }
  action(id, act) { return this.call('POST', `/calls/${encodeURIComponent(id)}/${act}`); }
  mute(id, on) { return this.call('POST', `/calls/${encodeURIComponent(id)}/mute`, { on }); }
  dtmf(id, digits) { return this.call('POST', `/calls/${encodeURIComponent(id)}/dtmf`, { digits }); }
  history(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) q.set(k, v);
    const s = q.toString();
    return this.call('GET', '/history' + (s ? '?' + s : ''));
  }
  settings() { return this.call('GET', '/settings'); }
  patchSettings(p) { return this.call('PATCH', '/settings', p); }
  devices() { return this.call('GET', '/audio/devices'); }
  selectDevices(sel) { return this.call('PUT', '/audio/selection', sel); }
  testTone(role) { return this.call('POST', '/audio/test-tone', { role }); }

  // Dynamics 365 (the app runs every CIF call through the panel itself).
  crmSettings() { return this.call('GET', '/crm/settings'); }
  patchCRMSettings(p) { return this.call('PATCH', '/crm/settings', p); }
  crmCall(id) { return this.call('GET', `/crm/calls/${encodeURIComponent(id)}`); }
  openRecord(id) { return this.call('POST', `/crm/calls/${encodeURIComponent(id)}/open`); }
  chooseRecord(id, ref) { return this.call('POST', `/crm/calls/${encodeURIComponent(id)}/choose`, { entity: ref.entity, id: ref.id, name: ref.name || '' }); }
  addRecord(id, entity) { return this.call('POST', `/crm/calls/${encodeURIComponent(id)}/add`, { entity }); }
  activityPage(id, open) { return this.call('POST', `/crm/calls/${encodeURIComponent(id)}/page`, { open }); }
  saveActivity(id, edit) { return this.call('PUT', `/crm/calls/${encodeURIComponent(id)}/activity`, edit); }
  opportunities(q) { return this.call('GET', '/crm/opportunities?q=' + encodeURIComponent(q)); }

  /**
   * After an app restart the old token is refused. The page is ours
   * (same origin), so fetch it again and read the new token from it.
   */
  async refreshToken() {
    const res = await fetch(location.href, { cache: 'no-store', credentials: 'omit' });
    if (!res.ok) return false;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const meta = doc.querySelector('meta[name="sb-token"]');
    if (!meta || !meta.content || meta.content === this.token) return false;
    this.token = meta.content;
    return true;
  }
}

const BACKOFF = [500, 1000, 2000, 4000, 8000, 15000];

/**
 * EventStream keeps one WebSocket to the app open, reconnecting with
 * backoff. Handlers: onMessage(msg), onStatus(status, retryInMs).
 */
export class EventStream {
  constructor(api, { onMessage, onStatus, hello }) {
    this.api = api;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.hello = hello;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.pingTimer = null;
    this.lastSeen = 0;
    this.stopped = false;
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && !this.isOpen()) this.reconnectNow();
    });
    window.addEventListener('online', () => this.reconnectNow());
  }

  isOpen() {
    return this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const url = `wss://${location.host}/api/v1/events`;
    let ws;
    try {
      ws = new WebSocket(url, ['switchboard.v1', 'bearer.' + this.api.token]);
    } catch (e) {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.lastSeen = Date.now();
      this.send(this.hello());
      this.onStatus('open', 0);
      clearInterval(this.pingTimer);
      // Browsers don't expose WebSocket pings; an app-level ping finds a
      // dead connection (sleep, network change) within ~30 s.
      this.pingTimer = setInterval(() => {
        if (Date.now() - this.lastSeen > 45000) ws.close();
        else this.send({ type: 'ping' });
      }, 15000);
    };
    ws.onmessage = (ev) => {
      this.lastSeen = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (msg.type !== 'pong') this.onMessage(msg);
    };
    ws.onclose = async () => {
      clearInterval(this.pingTimer);
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (!opened) await this.checkToken();
      this.scheduleRetry();
    };
  }

  /** A refused handshake looks like any failure; ask the API why. */
  async checkToken() {
    try {
      await this.api.status();
    } catch (e) {
      if (e.status === 401) {
        try {
          await this.api.refreshToken();
        } catch (_) {
          /* the app is not back yet */
        }
      }
    }
  }

  scheduleRetry() {
    const base = BACKOFF[Math.min(this.attempt, BACKOFF.length - 1)];
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt++;
    this.onStatus('reconnecting', delay);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.isOpen() || this.stopped) return;
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return;
    this.attempt = 0;
    this.connect();
  }

  send(msg) {
    if (this.isOpen()) this.ws.send(JSON.stringify(msg));
  }
}
