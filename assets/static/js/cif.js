// Inside Dynamics 365: load the Channel Integration Framework library from
// the (server-validated) CRM origin, route click-to-dial to the phone, pick
// up the CRM user's language, and run the app's CIF requests ("cif.call"
// over the event WebSocket) in the agent's own Dynamics session.

// Methods the app may call. Anything else is refused.
const METHODS = new Set([
  'searchAndOpenRecords', 'createRecord', 'retrieveRecord', 'updateRecord', 'deleteRecord',
  'openForm', 'renderSearchPage', 'setMode', 'getMode', 'setWidth', 'getWidth',
  'getEnvironment', 'setClickToAct', 'getClickToAct', 'search',
]);

export class CIF {
  constructor({ library, crm, onDial, onLanguage }) {
    this.library = library;
    this.crm = crm;
    this.onDial = onDial;
    this.onLanguage = onLanguage;
    this.ready = false;
    this.api = null;
    this.waiters = [];
  }

  load() {
    if (!this.library) return;
    // Listen before inserting the script: the library fires CIFInitDone
    // from a timer right after it runs.
    window.addEventListener('CIFInitDone', () => this.init(), { once: true });
    const s = document.createElement('script');
    s.src = this.library;
    s.dataset.crmurl = this.crm;
    s.dataset.cifid = 'CIFMainLibrary';
    s.onload = () => setTimeout(() => { if (!this.ready && window.Microsoft?.CIFramework) this.init(); }, 1500);
    s.onerror = () => console.warn('Switchboard: the Dynamics 365 integration library could not be loaded');
    document.head.appendChild(s);
  }

  async init() {
    if (this.ready) return;
    const api = window.Microsoft?.CIFramework;
    if (!api) return;
    this.api = api;
    this.ready = true;
    for (const w of this.waiters.splice(0)) w();
    try {
      api.addHandler('onclicktoact', (payload) => {
        let d = {};
        try {
          d = JSON.parse(payload);
        } catch (e) {
          /* keep empty */
        }
        const number = d.value || (d.field && d.field.value) || '';
        if (number) this.onDial(String(number));
        return Promise.resolve();
      });
    } catch (e) {
      console.warn('Switchboard: click-to-dial handler not registered', e);
    }
    try {
      const env = JSON.parse(await api.getEnvironment());
      // 2052 is Simplified Chinese; other Chinese LCIDs read it too.
      const lcid = Number(env.userLcid || env.orgLcid || 0);
      if ([2052, 4100, 1028, 3076, 5124].includes(lcid)) this.onLanguage('zh-CN');
      else if (lcid) this.onLanguage('en');
    } catch (e) {
      /* the language stays as the browser says */
    }
  }

  whenReady(ms) {
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.waiters.push(() => { clearTimeout(timer); resolve(true); });
    });
  }

  /** Runs {method, args} from the app and returns the response message. */
  async handle(msg) {
    const reply = (ok, payload) => (ok ? { type: 'response', id: msg.id, ok: true, data: payload }
      : { type: 'response', id: msg.id, ok: false, error: payload });
    const { method, args } = msg.data || {};
    if (!METHODS.has(method) || !Array.isArray(args || [])) return reply(false, { code: 'bad_request', message: `method ${method} is not allowed` });
    if (!(await this.whenReady(10000))) return reply(false, { code: 'cif_unavailable', message: 'the Dynamics 365 integration library is not loaded' });
    try {
      const result = await this.api[method](...(args || []));
      return reply(true, result === undefined ? null : result);
    } catch (e) {
      const message = typeof e === 'string' ? e : (e && e.message) || String(e);
      return reply(false, { code: 'cif_error', message });
    }
  }
}
