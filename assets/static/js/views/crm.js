// Dynamics 365 in the widget: the caller's record on the call card
// (open it, choose among several, add an unknown number), the call
// activity page, and the integration's settings. The app holds every
// rule; these views show its state (crm.call messages) and send the
// agent's choices to the local API.
import { h, icon, clear, debounce } from '../ui.js';
import { pretty } from '../number.js';

const ENTITIES = ['contact', 'account', 'lead'];

function entityName(t, e) {
  return t('crm.entity.' + e);
}

/** The record line: icon, name and what kind of record it is. */
function recordLine(t, ref, extra) {
  return h('span', { class: 'crm-rec' },
    h('span', { class: 'crm-rec-icon ' + ref.entity, 'aria-hidden': 'true' }, icon(ref.entity === 'account' ? 'globe' : 'user')),
    h('span', { class: 'crm-rec-text' },
      h('span', { class: 'crm-rec-name', text: ref.name || t('crm.noName') }),
      h('span', { class: 'crm-rec-kind', text: extra ? `${entityName(t, ref.entity)} · ${extra}` : entityName(t, ref.entity) })));
}

/** A record as the API takes it (search results also carry phones). */
function refOf(m) {
  const r = m.ref || m;
  return r.name ? { entity: r.entity, id: r.id, name: r.name } : { entity: r.entity, id: r.id };
}

function sameRef(a, b) {
  return !!a && !!b && a.entity === b.entity && a.id === b.id;
}

/**
 * What crmSection shows of a call's CRM state: the box is rebuilt only
 * when this changes, not when the activity or the outbox moves on, so a
 * button in it is not replaced under the agent's click for nothing.
 */
export function crmSectionSig(callId, info) {
  if (!info) return JSON.stringify([callId]);
  return JSON.stringify([callId, info.internal, info.numberError, info.searching, info.matched,
    info.searchError, info.matches, info.chosen, info.offerAdd, info.created]);
}

/**
 * The caller's Dynamics record(s) under the call card. info is the
 * call's CRM state (package crm's CallInfo); null while unknown.
 */
export function crmSection(ctx, call, info, { compact = false } = {}) {
  const { t, actions } = ctx;
  if (!info || info.internal || info.numberError) return null;
  const el = h('div', { class: 'crm-box' + (compact ? ' compact' : ''), 'aria-live': 'polite' });
  const head = h('div', { class: 'crm-head' }, h('span', { class: 'crm-logo', 'aria-hidden': 'true' }, 'D'), h('span', { text: t('crm.title') }));
  el.append(head);
  const matches = info.matches || [];
  const chosen = info.chosen || null;
  if (info.searching) {
    el.append(h('div', { class: 'crm-state' }, h('span', { class: 'spinner small' }), t('crm.searching')));
    return el;
  }
  if (!info.matched) {
    el.append(h('div', { class: 'crm-state warn' }, icon('offline'), h('span', { text: info.searchError ? t('crm.searchFailed') : t('crm.notSearched') })));
    if (!compact) {
      el.append(h('div', { class: 'crm-actions' },
        h('button', { type: 'button', class: 'btn secondary small crm-open', on: { click: () => actions.openRecord(call.id) } }, icon('refresh'), t('crm.tryAgain'))));
    }
    return el;
  }
  if (matches.length === 1) {
    el.append(h('div', { class: 'crm-one' }, recordLine(t, refOf(matches[0]), info.created && sameRef(info.created, refOf(matches[0])) ? t('crm.justAdded') : '')));
  } else if (matches.length > 1) {
    el.append(h('div', { class: 'crm-state' }, icon('list'), h('span', { text: t('crm.several', { n: matches.length }) })));
    const list = h('div', { class: 'crm-pick', role: 'radiogroup', 'aria-label': t('crm.choose') });
    for (const m of matches) {
      const ref = refOf(m);
      const on = sameRef(chosen, ref);
      list.append(h('button', {
        type: 'button', role: 'radio', class: 'crm-pick-row', 'aria-checked': on ? 'true' : 'false',
        data: { entity: ref.entity, id: ref.id },
        on: { click: () => actions.chooseRecord(call.id, ref) },
      }, h('span', { class: 'crm-radio', 'aria-hidden': 'true' }), recordLine(t, ref)));
    }
    el.append(list);
  } else {
    el.append(h('div', { class: 'crm-state' }, icon('user'), h('span', { text: t('crm.none') })));
    if (info.offerAdd && !compact) {
      el.append(h('div', { class: 'crm-add' },
        h('span', { class: 'crm-add-label', text: t('crm.addAs') }),
        h('div', { class: 'crm-add-row' }, ENTITIES.map((e) => h('button', {
          type: 'button', class: 'chip crm-add-btn', data: { entity: e },
          on: { click: () => actions.addRecord(call.id, e) },
        }, icon('plus'), entityName(t, e))))));
    }
  }
  if (!compact) {
    const canOpen = matches.length > 0;
    el.append(h('div', { class: 'crm-actions' },
      h('button', {
        type: 'button', class: 'btn secondary small crm-open', disabled: !canOpen,
        on: { click: () => actions.openRecord(call.id) },
      }, icon('user'), matches.length > 1 && !chosen ? t('crm.openSearch') : t('crm.open')),
      h('button', {
        type: 'button', class: 'btn secondary small crm-activity',
        on: { click: () => actions.openActivity(call.id) },
      }, icon('list'), t('crm.activity'))));
  }
  return el;
}

/** The call activity page, over the phone view while it is open. */
export function createActivity(ctx) {
  const { store, t, api, actions } = ctx;
  const el = h('div', { class: 'activity-layer', hidden: true });
  let callId = null;
  let draft = null; // the agent's edits not yet saved
  let results = null; // opportunity search results
  let searching = false;
  let saving = false;
  let status = '';

  const autosave = () => !!(store.state.crm.settings && store.state.crm.settings.activityAutosave);

  const flush = debounce(() => { if (autosave()) save(false); }, 700);

  async function save(close) {
    if (!callId || !draft) return true;
    const edit = {};
    for (const k of ['subject', 'description', 'regarding', 'party']) if (draft[k] !== undefined) edit[k] = draft[k];
    if (draft.clearRegarding) edit.clearRegarding = true;
    const id = callId;
    if (!Object.keys(edit).length) {
      if (close) await closePage();
      return true;
    }
    saving = true;
    setStatus(t('act.saving'));
    try {
      await api.saveActivity(id, edit);
      if (callId === id) {
        draft = {};
        setStatus(t('act.saved'));
      }
      if (close) await closePage();
      return true;
    } catch (e) {
      setStatus(actions.message(e), true);
      return false;
    } finally {
      saving = false;
    }
  }

  async function closePage() {
    const id = callId;
    if (id) dismissed.add(id);
    callId = null;
    parts = null;
    draft = null;
    results = null;
    el.hidden = true;
    clear(el);
    if (id) await actions.run(() => api.activityPage(id, false));
  }

  let statusEl = null;
  function setStatus(text, error = false) {
    status = text;
    if (statusEl) {
      statusEl.textContent = text;
      statusEl.classList.toggle('error', error);
    }
  }

  function edit(patch) {
    draft = { ...(draft || {}), ...patch };
    if (autosave()) flush();
    else setStatus(t('act.unsaved'));
  }

  function callerField(info, act) {
    const matches = (info.matches || []).map(refOf);
    const party = (draft && draft.party) || act.party || null;
    const box = h('div', { class: 'act-caller' });
    if (matches.length > 1) {
      const sel = h('select', {
        id: 'act-caller', class: 'select',
        on: { change: () => { const r = matches[Number(sel.value)]; if (r) edit({ party: r }); } },
      }, h('option', { value: '' }, t('act.chooseCaller')), matches.map((m, i) => h('option', { value: String(i) }, `${m.name || t('crm.noName')} · ${entityName(t, m.entity)}`)));
      const i = matches.findIndex((m) => sameRef(m, party));
      sel.value = i >= 0 ? String(i) : '';
      box.append(sel);
    } else if (matches.length === 1 || party) {
      box.append(recordLine(t, party || matches[0]));
    } else {
      box.append(h('div', { class: 'act-none', text: t('crm.none') }));
      if (info.offerAdd) {
        box.append(h('div', { class: 'crm-add-row' }, ENTITIES.map((e) => h('button', {
          type: 'button', class: 'chip crm-add-btn', data: { entity: e },
          on: { click: () => actions.addRecord(info.callId, e) },
        }, icon('plus'), entityName(t, e)))));
      }
    }
    return box;
  }

  // The page is built once per call; the app's updates (the search, a
  // pick, the activity reaching Dynamics) refresh only their parts, so
  // the fields and buttons under the agent's hands are never rebuilt.
  let parts = null;

  function chipAndResults() {
    const info = store.crmInfo(callId);
    const act = (info && info.activity) || {};
    const cur = draft && draft.clearRegarding ? null : (draft && draft.regarding) || act.regarding || null;
    clear(parts.chip);
    if (cur) {
      parts.chip.append(h('div', { class: 'act-chip' },
        h('span', { class: 'act-chip-text', text: cur.name || cur.id }),
        h('button', {
          type: 'button', class: 'btn-icon small', 'aria-label': t('act.clearRegarding'), title: t('act.clearRegarding'),
          on: { click: () => { edit({ regarding: undefined, clearRegarding: true }); chipAndResults(); } },
        }, icon('x'))));
    }
    clear(parts.results);
    if (searching) parts.results.append(h('div', { class: 'crm-state' }, h('span', { class: 'spinner small' }), t('act.searchingTopic')));
    if (results) {
      if (!results.length) parts.results.append(h('div', { class: 'act-none', text: t('act.noTopic') }));
      else {
        parts.results.append(h('div', { class: 'act-results', role: 'listbox', 'aria-label': t('act.results') }, results.map((r) => h('button', {
          type: 'button', role: 'option', class: 'act-result', 'aria-selected': sameRef(cur, r) ? 'true' : 'false',
          on: { click: () => { results = null; edit({ regarding: r, clearRegarding: false }); chipAndResults(); } },
        }, icon('check'), h('span', { text: r.name || r.id })))));
      }
    }
  }

  function build() {
    const info = store.crmInfo(callId);
    const act = (info && info.activity) || {};
    clear(el);
    const subject = h('input', { id: 'act-subject', class: 'input', maxlength: 200, value: act.subject || '', on: { input: () => edit({ subject: subject.value }) } });
    const desc = h('textarea', { id: 'act-desc', class: 'input textarea', rows: 5, maxlength: 2000, on: { input: () => edit({ description: desc.value }) } });
    desc.value = act.description || '';
    const search = h('input', {
      id: 'act-regarding', type: 'search', class: 'input', autocomplete: 'off', placeholder: t('act.searchTopic'),
      'aria-describedby': 'act-regarding-hint',
      on: { keydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); runSearch(search.value); } } },
    });
    statusEl = h('span', { class: 'act-status', role: 'status', 'aria-live': 'polite', text: status });
    parts = {
      subject, desc, meta: h('div', { class: 'act-meta' }), caller: h('div', { class: 'act-caller' }),
      chip: h('div', { class: 'act-chip-slot' }), results: h('div', { class: 'act-results-slot' }),
      hint: h('p', { class: 'field-hint' }), save: null, callerSig: '',
    };
    parts.save = h('button', { type: 'button', class: 'btn primary act-save', on: { click: () => save(true) } }, icon('check'), t('act.save'));
    el.append(h('section', { class: 'activity', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'act-title' },
      h('div', { class: 'panel-head act-head' },
        h('h2', { class: 'panel-title', id: 'act-title', text: t('act.title') }),
        statusEl,
        h('button', { type: 'button', class: 'btn-icon act-close', 'aria-label': t('act.close'), title: t('act.close'), on: { click: () => (autosave() ? save(true) : closePage()) } }, icon('x'))),
      parts.meta,
      h('div', { class: 'act-body' },
        h('div', { class: 'field' }, h('label', { class: 'field-label', for: 'act-subject' }, t('act.subject')), subject),
        h('div', { class: 'field' }, h('label', { class: 'field-label', for: 'act-caller' }, t('act.caller')), parts.caller),
        h('div', { class: 'field' }, h('label', { class: 'field-label', for: 'act-desc' }, t('act.description')), desc),
        h('div', { class: 'field' }, h('label', { class: 'field-label', for: 'act-regarding' }, t('act.regarding')),
          h('div', { class: 'act-regarding' }, parts.chip, h('div', { class: 'search act-search' }, icon('search'), search),
            h('div', { class: 'field-hint', id: 'act-regarding-hint', text: t('act.searchHint') }), parts.results)),
        parts.hint),
      h('div', { class: 'act-foot' },
        h('button', { type: 'button', class: 'btn secondary act-cancel', on: { click: () => closePage() } }, t('act.cancel')),
        parts.save)));
    refresh();
  }

  function refresh() {
    const info = store.crmInfo(callId);
    if (!info || !parts) return;
    const act = info.activity || {};
    // Text the agent has not touched follows the app (another tab's edit).
    if (!draft || draft.subject === undefined) {
      if (document.activeElement !== parts.subject && parts.subject.value !== (act.subject || '')) parts.subject.value = act.subject || '';
    }
    if (!draft || draft.description === undefined) {
      if (document.activeElement !== parts.desc && parts.desc.value !== (act.description || '')) parts.desc.value = act.description || '';
    }
    const call = store.state.calls.find((c) => c.id === callId);
    const number = pretty(info.number && (info.number.raw || info.number.e164)) || '';
    clear(parts.meta);
    parts.meta.append(
      h('span', { class: 'badge' }, icon(call && call.direction === 'outbound' ? 'outArrow' : 'inArrow'), call ? (call.direction === 'outbound' ? t('call.outbound') : t('call.inbound')) : t('act.ended')),
      number ? h('span', { class: 'act-number', text: number }) : null,
      act.completed ? h('span', { class: 'badge done' }, t('act.completed')) : act.queued ? h('span', { class: 'badge ok' }, t('act.inCrm')) : null);
    const callerSig = JSON.stringify([info.matches, info.chosen, info.created, info.offerAdd, act.party, draft && draft.party]);
    if (callerSig !== parts.callerSig) {
      parts.callerSig = callerSig;
      const fresh = callerField(info, act);
      parts.caller.replaceWith(fresh);
      parts.caller = fresh;
    }
    chipAndResults();
    parts.hint.textContent = autosave() ? t('act.autosaveOn') : t('act.autosaveOff');
    parts.save.disabled = saving;
  }

  async function runSearch(q) {
    q = q.trim();
    if (!q) return;
    searching = true;
    results = null;
    chipAndResults();
    try {
      const r = await api.opportunities(q);
      results = r.opportunities || [];
    } catch (e) {
      results = [];
      setStatus(actions.message(e), true);
    }
    searching = false;
    if (parts) chipAndResults();
  }

  // Calls whose page the agent closed in this panel: the app's "show the
  // page" may still be on its way and must not reopen it.
  const dismissed = new Set();

  return {
    el,
    /** Opens the page for a call (the agent's button or the app's rule). */
    open(id, byAgent = true) {
      if (byAgent) dismissed.delete(id);
      if (callId === id && !el.hidden) return;
      if (callId && callId !== id) save(false);
      callId = id;
      draft = {};
      results = null;
      status = '';
      el.hidden = false;
      build();
      parts.subject.focus({ preventScroll: true });
    },
    update(state) {
      // The app opens the page on answered calls when set to (and every
      // tab follows); the page closes when the app says it is closed.
      const want = Object.values(state.crm.calls).filter((ci) => ci.showActivityPage).map((ci) => ci.callId);
      for (const id of dismissed) if (!want.includes(id)) dismissed.delete(id);
      if (callId && !want.includes(callId) && state.activityOpening !== callId) {
        callId = null;
        draft = null;
        parts = null;
        el.hidden = true;
        clear(el);
      }
      const open = want.filter((id) => !dismissed.has(id));
      if (!callId && open.length) {
        this.open(open.includes(state.focusId) ? state.focusId : open[open.length - 1], false);
        return;
      }
      if (callId) refresh();
    },
    isOpen: () => !!callId,
    callId: () => callId,
  };
}

/** The Dynamics 365 group of the settings page. */
export function crmSettingsGroup(ctx, s, save) {
  const { t } = ctx;
  if (!s) return null;
  const seg = (key, opts, label) => h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': label, data: { key } },
    opts.map(([v, text]) => h('button', {
      type: 'button', role: 'radio', class: 'seg', 'aria-checked': s[key] === v ? 'true' : 'false', data: { v },
      on: { click: () => save({ [key]: v }) },
    }, text)));
  const chips = (key, opts, label) => h('div', { class: 'chips wrap', role: 'group', 'aria-label': label, data: { key } },
    opts.map(([v, text]) => {
      const on = (s[key] || []).includes(v);
      return h('button', {
        type: 'button', role: 'checkbox', class: 'chip', 'aria-checked': on ? 'true' : 'false', data: { v },
        on: { click: () => save({ [key]: on ? s[key].filter((x) => x !== v) : ENTITIES.concat(['inbound', 'outbound']).filter((x) => x === v || (s[key] || []).includes(x)) }) },
      }, text);
    }));
  const select = (id, key, opts) => {
    const sel = h('select', { id, class: 'select', on: { change: () => save({ [key]: sel.value }) } }, opts.map(([v, text]) => h('option', { value: v }, text)));
    sel.value = s[key];
    return sel;
  };
  const number = (id, key, min, max, scale = 1) => {
    const input = h('input', {
      id, type: 'number', class: 'input num', min, max, step: 1, inputmode: 'numeric',
      value: String(Math.round(s[key] / scale)),
      on: { change: () => { const v = Math.round(Number(input.value) * scale); if (Number.isFinite(v)) save({ [key]: v }); } },
    });
    return input;
  };
  const sw = (id, key, label, desc) => {
    const input = h('input', { type: 'checkbox', id, role: 'switch', class: 'switch-input', on: { change: () => save({ [key]: input.checked }) } });
    input.checked = !!s[key];
    return h('label', { class: 'switch-row', for: id },
      h('span', { class: 'switch-text' }, h('span', { class: 'switch-label', text: label }), desc ? h('span', { class: 'switch-desc', text: desc }) : null),
      input, h('span', { class: 'switch', 'aria-hidden': 'true' }));
  };
  const row = (label, forId, control, hint) => h('div', { class: 'field' },
    h('label', { class: 'field-label', for: forId }, label), control, hint ? h('span', { class: 'field-hint', text: hint }) : null);
  const dirs = [['inbound', t('crm.dir.inbound')], ['outbound', t('crm.dir.outbound')]];
  const ents = ENTITIES.map((e) => [e, entityName(t, e)]);
  const country = h('input', {
    id: 'crm-country', class: 'input short', maxlength: 2, value: s.defaultCountry || '', placeholder: 'CN', autocomplete: 'off',
    on: { change: () => save({ defaultCountry: country.value.trim().toUpperCase() }) },
  });
  return h('div', { class: 'group crm-settings' },
    h('h3', { class: 'group-title' }, t('crm.settings')),
    h('h4', { class: 'sub-title', text: t('crm.set.match') }),
    row(t('crm.set.matchMode'), '', seg('matchMode', [['exact', t('crm.set.exact')], ['last_digits', t('crm.set.lastDigits')]], t('crm.set.matchMode'))),
    s.matchMode === 'last_digits' ? row(t('crm.set.matchDigits'), 'crm-digits', number('crm-digits', 'matchDigits', 4, 15)) : null,
    row(t('crm.set.matchEntities'), '', chips('matchEntities', ents, t('crm.set.matchEntities'))),
    h('div', { class: 'field-pair' },
      row(t('crm.set.country'), 'crm-country', country, t('crm.set.countryHint')),
      row(t('crm.set.extDigits'), 'crm-ext', number('crm-ext', 'extensionDigits', 1, 8), t('crm.set.extHint'))),
    h('h4', { class: 'sub-title', text: t('crm.set.pop') }),
    row(t('crm.set.popWhen'), 'crm-pop', select('crm-pop', 'screenPop', [['manual', t('crm.pop.manual')], ['ringing', t('crm.pop.ringing')], ['answered', t('crm.pop.answered')], ['ended', t('crm.pop.ended')]])),
    sw('crm-pop-out', 'screenPopOutbound', t('crm.set.popOutbound'), t('crm.set.popOutboundDesc')),
    sw('crm-expand', 'autoExpand', t('crm.set.autoExpand'), t('crm.set.autoExpandDesc')),
    h('h4', { class: 'sub-title', text: t('crm.set.create') }),
    row(t('crm.set.createMode'), 'crm-create', select('crm-create', 'contactCreation', [['off', t('crm.create.off')], ['manual', t('crm.create.manual')], ['auto', t('crm.create.auto')]])),
    s.contactCreation === 'auto' ? row(t('crm.set.createOn'), '', chips('contactCreateOn', dirs, t('crm.set.createOn'))) : null,
    s.contactCreation !== 'off' ? row(t('crm.set.createAs'), 'crm-create-as', select('crm-create-as', 'contactCreateAs', ents)) : null,
    h('h4', { class: 'sub-title', text: t('crm.set.activity') }),
    sw('crm-act-page', 'activityPage', t('crm.set.actPage'), t('crm.set.actPageDesc')),
    row(t('crm.set.actAuto'), '', chips('activityAutoCreate', dirs, t('crm.set.actAuto')), t('crm.set.actAutoHint')),
    sw('crm-autosave', 'activityAutosave', t('crm.set.autosave'), t('crm.set.autosaveDesc')),
    h('h4', { class: 'sub-title', text: t('crm.set.recording') }),
    sw('crm-rec', 'recordingAttach', t('crm.set.recAttach'), t('crm.set.recAttachDesc')),
    s.recordingAttach ? row(t('crm.set.recMax'), 'crm-rec-max', number('crm-rec-max', 'recordingMaxBase64', 1, 128, 1024 * 1024), t('crm.set.recMaxHint')) : null);
}
