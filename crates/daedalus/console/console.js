// The Daedalus console: the ring, the operations and the backups of a cluster, read from this
// sidecar's own API with the operator's bearer token. Plain script, no build step, no library.
//
// Security: the token lives in this tab's sessionStorage and travels only in the Authorization
// header of requests to this origin (never a cookie, never a URL), so a page of another site can
// neither read it nor make the browser send it. Everything shown is written as text, never as
// HTML. Live figures come from polling that waits for each answer before it plans the next one:
// every second while something runs, every few seconds otherwise, not at all in a hidden tab.
'use strict';

const TOKEN_KEY = 'daedalus.token';
const FAST = 1000;
const SLOW = 3000;
const NODES_EVERY = 10000;
const FINISHED = ['COMPLETED', 'FAILED', 'CANCELLED'];
// Record fields every operation has; the rest are the request's and the type's own.
const COMMON = new Set(['id', 'type', 'state', 'progress', 'creationTime', 'startTime',
  'completionTime', 'errors', 'failureCause', 'nodes', 'cancelRequested', 'response']);

const ui = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  role: null,
  view: 'nodes',
  ops: [],
  // Which sidecar listed each operation: id → {address, endpoint, local}.
  where: new Map(),
  nodes: [],
  nodesAt: 0,
  open: new Set(),
  shown: new Map(),
  timer: null,
};

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

// A DOM element from a tag, attributes and children (strings become text nodes).
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'className') node.className = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (ui.token) headers.Authorization = `Bearer ${ui.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function notice(text, kind) {
  const p = $('#notice');
  p.textContent = text || '';
  p.className = kind || '';
  p.hidden = !text;
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    notice(ui.token ? 'The sidecar does not know this token.' : 'This sidecar needs a token: type it above.', 'error');
    $('#token').focus();
  } else {
    notice(`${error.message}`, 'error');
  }
}

// ---- session: what the token may do

async function session() {
  try {
    const s = await api('GET', '/ui/session');
    ui.role = s.role;
    $('#role').textContent = s.tokens ? `role: ${s.role}` : 'no tokens required';
    notice('');
  } catch (error) {
    ui.role = null;
    $('#role').textContent = '';
    failed(error);
  }
  document.body.classList.toggle('can-operate', ui.role === 'operate');
  for (const node of $$('.operate-only')) node.hidden = ui.role !== 'operate';
  ui.shown.clear();
  $('#ops').replaceChildren();
}

$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  ui.token = $('#token').value.trim();
  $('#token').value = '';
  if (ui.token) sessionStorage.setItem(TOKEN_KEY, ui.token);
  else sessionStorage.removeItem(TOKEN_KEY);
  refresh();
});

$('#forget').addEventListener('click', () => {
  ui.token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  refresh();
});

// ---- views

function show(view) {
  ui.view = ['nodes', 'operations', 'backups'].includes(view) ? view : 'nodes';
  for (const section of $$('main > section')) section.hidden = section.dataset.view !== ui.view;
  for (const link of $$('nav a')) link.classList.toggle('current', link.dataset.view === ui.view);
}

window.addEventListener('hashchange', () => { route(); schedule(0); });

function route() {
  const [view, id] = location.hash.replace(/^#/, '').split('/');
  show(view);
  if (id) {
    // #operations/ID opens that operation, whether it is on the page already or comes later.
    ui.open.add(id);
    const shown = ui.shown.get(id);
    if (shown) {
      shown.node.open = true;
      shown.node.scrollIntoView({ block: 'nearest' });
    }
  }
}

// ---- polling

function schedule(ms) {
  clearTimeout(ui.timer);
  ui.timer = setTimeout(tick, ms);
}

async function tick() {
  if (document.hidden || ui.role === null) return;
  let next = SLOW;
  try {
    if (ui.view === 'nodes' || Date.now() - ui.nodesAt > NODES_EVERY * 3) await loadNodes();
    if (ui.view !== 'nodes') {
      await loadOperations();
      if (ui.ops.some((op) => !FINISHED.includes(op.state))) next = FAST;
    } else {
      next = NODES_EVERY;
    }
  } catch (error) {
    failed(error);
  }
  schedule(next);
}

document.addEventListener('visibilitychange', () => { if (!document.hidden) schedule(0); });

async function refresh() {
  await session();
  schedule(0);
}

// ---- nodes

async function loadNodes() {
  const cluster = await api('GET', '/cluster/nodes');
  ui.nodes = cluster.nodes;
  ui.nodesAt = Date.now();
  $('#cluster-name').textContent = cluster.clusterName ? `· ${cluster.clusterName}` : '';
  renderNodes();
  fillNodeFilter();
}

function badge(text, kind) {
  return h('span', { className: `badge ${kind || String(text).toLowerCase()}` }, text);
}

function renderNodes() {
  const byDc = new Map();
  for (const node of ui.nodes) {
    const dc = node.dc || '(unknown dc)';
    const rack = node.rack || '(unknown rack)';
    if (!byDc.has(dc)) byDc.set(dc, new Map());
    const racks = byDc.get(dc);
    if (!racks.has(rack)) racks.set(rack, []);
    racks.get(rack).push(node);
  }
  const down = ui.nodes.filter((n) => n.status !== 'UP').length;
  $('#nodes-state').textContent = `${ui.nodes.length} nodes, ${down} not UP · as seen by this sidecar's node, each sidecar asked directly`;
  $('#ring').replaceChildren(...Array.from(byDc, ([dc, racks]) => h('div', { className: 'dc' },
    h('h2', {}, `Datacenter ${dc}`),
    ...Array.from(racks, ([rack, nodes]) => h('div', { className: 'rack' },
      h('h3', {}, `Rack ${rack}`),
      h('div', { className: 'nodes' }, nodes.map(nodeCard)))))));
}

function nodeCard(node) {
  const sidecar = node.sidecar || {};
  return h('article', { className: `node ${node.status === 'UP' ? '' : 'down'}`, 'data-address': node.address },
    h('header', {}, h('strong', {}, node.address), badge(node.status), badge(node.state, 'membership'),
      node.local ? h('span', { className: 'here' }, 'this sidecar') : null),
    h('dl', {},
      h('dt', {}, 'host id'), h('dd', { className: 'mono' }, node.hostId),
      h('dt', {}, 'Cassandra'), h('dd', {}, sidecar.cassandra || '—'),
      h('dt', {}, 'mode'), h('dd', {}, sidecar.nodeState || '—'),
      h('dt', {}, 'sidecar'), h('dd', { className: 'sidecar' },
        sidecar.answers ? badge('answers', 'up') : badge('no answer', 'down'),
        sidecar.version ? ` ${sidecar.version}` : '',
        sidecar.error ? h('div', { className: 'small' }, sidecar.error) : null)));
}

function fillNodeFilter() {
  const select = $('#f-node');
  const chosen = select.value;
  const have = $$('option', select).map((o) => o.value).join('|');
  const want = ['', ...ui.nodes.map((n) => n.endpoint)].join('|');
  if (have === want) return;
  select.replaceChildren(h('option', { value: '' }, 'all'),
    ...ui.nodes.map((n) => h('option', { value: n.endpoint }, `${n.address} (${n.dc || '?'})`)));
  select.value = chosen;
}

// ---- operations

// Every sidecar's list (GET /cluster/operations), newest first. A node's part of a cluster-wide
// request is shown inside that request's per-node view, so it is not listed again on its own.
async function loadOperations() {
  const cluster = await api('GET', '/cluster/operations');
  const all = [];
  const silent = [];
  for (const sidecar of cluster.sidecars || []) {
    if (!Array.isArray(sidecar.operations)) {
      silent.push(`${sidecar.address}: ${sidecar.error || 'no answer'}`);
      continue;
    }
    for (const op of sidecar.operations) {
      all.push({ op, where: { address: sidecar.address, endpoint: sidecar.endpoint, local: sidecar.local } });
    }
  }
  const inside = new Set();
  for (const { op } of all) {
    for (const n of Array.isArray(op.nodes) ? op.nodes : []) {
      if (n.operationId) inside.add(n.operationId);
      for (const p of Array.isArray(n.phases) ? n.phases : []) if (p.operationId) inside.add(p.operationId);
    }
  }
  const kept = all.filter(({ op }) => !inside.has(op.id));
  kept.sort((a, b) => String(b.op.creationTime).localeCompare(String(a.op.creationTime)));
  ui.ops = kept.map(({ op }) => op);
  ui.where = new Map(kept.map(({ op, where }) => [op.id, where]));
  const problems = [cluster.ringError, ...silent.map((s) => `not listed, sidecar ${s}`)].filter(Boolean);
  $('#ops-partial').textContent = problems.join(' · ');
  $('#ops-partial').hidden = problems.length === 0;
  renderOperations();
  renderBackups();
}

for (const id of ['#f-type', '#f-state', '#f-node']) $(id).addEventListener('change', () => renderOperations());

function matches(op) {
  const type = $('#f-type').value;
  const state = $('#f-state').value;
  const node = $('#f-node').value;
  if (type && op.type !== type) return false;
  if (state && op.state !== state) return false;
  if (node) {
    if (Array.isArray(op.nodes)) return op.nodes.some((n) => n.endpoint === node);
    const where = ui.where.get(op.id);
    return Boolean(where && where.endpoint === node);
  }
  return true;
}

function fillTypeFilter() {
  const select = $('#f-type');
  const types = [...new Set(ui.ops.map((op) => op.type))].sort();
  const have = $$('option', select).map((o) => o.value).slice(1);
  if (have.join('|') === types.join('|')) return;
  const chosen = select.value;
  select.replaceChildren(h('option', { value: '' }, 'all'), ...types.map((t) => h('option', { value: t }, t)));
  select.value = chosen;
}

function renderOperations() {
  fillTypeFilter();
  const list = $('#ops');
  const wanted = ui.ops.filter(matches);
  const keep = new Set(wanted.map((op) => op.id));
  for (const [id, entry] of ui.shown) {
    if (!keep.has(id)) { entry.node.remove(); ui.shown.delete(id); }
  }
  wanted.forEach((op, index) => {
    const text = JSON.stringify(op);
    let entry = ui.shown.get(op.id);
    if (!entry || entry.text !== text) {
      const node = operationView(op);
      if (entry) entry.node.replaceWith(node);
      entry = { text, node };
      ui.shown.set(op.id, entry);
    }
    if (list.children[index] !== entry.node) list.insertBefore(entry.node, list.children[index] || null);
  });
  $('#ops-empty').hidden = wanted.length > 0;
}

function percent(progress) {
  return `${Math.round((Number(progress) || 0) * 100)}%`;
}

function bar(progress, state) {
  return h('span', { className: 'progress' },
    h('progress', { max: '1', value: String(Number(progress) || 0), className: String(state || '').toLowerCase() }),
    h('span', { className: 'pct' }, percent(progress)));
}

function target(op) {
  if (op.keyspace) return op.table ? `${op.keyspace}.${op.table}` : op.keyspace;
  if (op.storageLocation) return [op.storageLocation, op.snapshotTag].filter(Boolean).join(' · ');
  if (Array.isArray(op.tables)) return op.tables.join(',');
  return '';
}

function when(text) {
  return text ? text.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

function operationView(op) {
  const details = h('details', {
    className: `op ${op.state.toLowerCase()}`,
    'data-id': op.id,
    'data-type': op.type,
    'data-state': op.state,
    open: ui.open.has(op.id),
    ontoggle: (event) => {
      if (event.target.open) ui.open.add(op.id); else ui.open.delete(op.id);
    },
  });
  details.append(h('summary', {},
    badge(op.state),
    h('span', { className: 'type' }, op.type, op.globalRequest === true ? h('span', { className: 'global' }, ' cluster-wide') : null),
    h('span', { className: 'target' }, target(op)),
    h('span', { className: 'where small' }, (ui.where.get(op.id) || {}).address || ''),
    bar(op.progress, op.state),
    h('span', { className: 'time' }, when(op.startTime || op.creationTime)),
    cancelButton(op)));
  details.append(h('div', { className: 'body' },
    h('p', { className: 'small mono' }, `id ${op.id}`,
      op.completionTime ? ` · ended ${when(op.completionTime)}` : '',
      op.cancelRequested ? ' · cancel requested' : ''),
    failure(op),
    nodesView(op),
    fields(op)));
  return details;
}

function cancelButton(op) {
  if (ui.role !== 'operate' || FINISHED.includes(op.state) || op.cancelRequested) return null;
  return h('button', {
    type: 'button',
    className: 'cancel',
    onclick: async (event) => {
      event.preventDefault();
      event.stopPropagation();
      event.target.disabled = true;
      try {
        const where = ui.where.get(op.id);
        // An operation of another node's sidecar is cancelled through this one, which asks it.
        await api('DELETE', where && !where.local && where.address
          ? `/cluster/operations/${encodeURIComponent(op.id)}?address=${encodeURIComponent(where.address)}`
          : `/operations/${encodeURIComponent(op.id)}`);
        notice(`Cancel of ${op.type} ${op.id} requested.`, 'ok');
      } catch (error) {
        failed(error);
      }
      schedule(0);
    },
  }, 'Cancel');
}

// failureCause: our own {kind, message}, or the Java throwable with its chain of causes.
function failure(op) {
  const errors = Array.isArray(op.errors) ? op.errors : [];
  if (!op.failureCause && errors.length === 0) return null;
  const box = h('div', { className: 'failure' });
  if (op.failureCause) {
    box.append(h('h4', {}, 'Failure cause'));
    let cause = op.failureCause;
    let depth = 0;
    while (cause && depth < 20) {
      const name = cause.class || cause.kind || 'error';
      box.append(h('div', { className: 'cause' },
        depth ? h('span', { className: 'small' }, 'Caused by: ') : null,
        h('strong', { className: 'mono' }, name), ': ', cause.message || '',
        Array.isArray(cause.stackTrace) && cause.stackTrace.length ? h('details', { className: 'stack' },
          h('summary', {}, `${cause.stackTrace.length} frames`),
          h('pre', {}, cause.stackTrace.map((f) => `at ${f.className}.${f.methodName}(${f.fileName || '?'}:${f.lineNumber})`).join('\n'))) : null));
      cause = cause.cause;
      depth += 1;
    }
  }
  if (errors.length) {
    box.append(h('h4', {}, 'Errors'), h('ul', {}, errors.map((e) => h('li', {},
      e.source ? h('strong', {}, `${e.source}: `) : null, e.message || JSON.stringify(e)))));
  }
  return box;
}

// A cluster-wide request: one row per node, and under it the node's phases when it has some.
function nodesView(op) {
  if (!Array.isArray(op.nodes) || op.nodes.length === 0) return null;
  const rows = [];
  for (const n of op.nodes) {
    rows.push(h('tr', { className: 'node-row', 'data-endpoint': n.endpoint },
      h('td', {}, n.endpoint), h('td', {}, [n.dc, n.rack].filter(Boolean).join(' / ')),
      h('td', {}, n.phase || ''), h('td', {}, badge(n.state)), h('td', {}, bar(n.progress, n.state)),
      h('td', { className: 'small' }, n.error || '')));
    if (Array.isArray(n.phases)) {
      rows.push(h('tr', { className: 'phases' }, h('td', { colspan: '6' },
        n.phases.map((p) => h('span', { className: `phase ${String(p.state).toLowerCase()}`, title: p.error || '' },
          `${p.phase} ${p.state === 'RUNNING' ? percent(p.progress) : p.state}`)))));
    }
  }
  return h('div', { className: 'per-node' }, h('h4', {}, 'Per node'),
    h('table', {}, h('thead', {}, h('tr', {}, ['node', 'dc / rack', 'phase', 'state', 'progress', 'error'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows)));
}

function fields(op) {
  const rows = Object.entries(op).filter(([key]) => !COMMON.has(key));
  if (rows.length === 0) return null;
  return h('details', { className: 'fields' }, h('summary', {}, 'Request and findings'),
    h('dl', {}, rows.map(([key, value]) => [h('dt', {}, key),
      h('dd', { className: 'mono' }, typeof value === 'string' ? value : JSON.stringify(value))])));
}

// ---- backups

function size(bytes) {
  let value = Number(bytes) || 0;
  for (const unit of ['B', 'KiB', 'MiB', 'GiB', 'TiB']) {
    if (value < 1024 || unit === 'TiB') return `${unit === 'B' ? value : value.toFixed(1)} ${unit}`;
    value /= 1024;
  }
  return '';
}

function renderBackups() {
  const location = $('#l-location').value.trim();
  const lists = ui.ops.filter((op) => op.type === 'list' && (!location || op.storageLocation === location));
  const box = $('#backups');
  if (lists.length === 0) {
    box.replaceChildren(h('p', { className: 'hint' }, 'No listing of this location yet.'));
    return;
  }
  const op = lists[0];
  const key = JSON.stringify(op);
  if (box.dataset.shown === key) return;
  box.dataset.shown = key;
  if (op.state !== 'COMPLETED') {
    box.replaceChildren(h('p', {}, `Listing ${op.storageLocation}: `, badge(op.state), ' ', bar(op.progress, op.state)), failure(op));
    return;
  }
  const backups = (Array.isArray(op.response) ? op.response : []).slice().reverse();
  box.replaceChildren(
    h('p', { className: 'small' }, `${backups.length} backups in ${op.storageLocation}, listed ${when(op.completionTime)}`),
    h('table', { className: 'backups' },
      h('thead', {}, h('tr', {}, ['tag', 'taken', 'size', 'files', 'nodes', 'name'].map((t) => h('th', {}, t)))),
      h('tbody', {}, backups.map((b) => h('tr', { 'data-tag': b.snapshotTag },
        h('td', {}, b.snapshotTag), h('td', {}, when(new Date(b.timestamp).toISOString())),
        h('td', {}, size(b.size)), h('td', {}, String(b.files ?? '')),
        h('td', {}, (b.nodes || []).join(', ')), h('td', { className: 'mono small' }, b.name))))),
    recoveryView(op));
}

// With archived commit logs: per node, the moments a restore with pointInTime can reach.
function recoveryView(op) {
  const windows = Array.isArray(op.recoveryWindows) ? op.recoveryWindows : [];
  if (windows.length === 0) return null;
  return h('div', { className: 'recovery' }, h('h4', {}, 'Point-in-time recovery windows'),
    h('table', { className: 'backups' },
      h('thead', {}, h('tr', {}, ['node', 'earliest', 'latest', 'segments', 'gaps'].map((t) => h('th', {}, t)))),
      h('tbody', {}, windows.map((w) => h('tr', { 'data-node': w.node },
        h('td', { className: 'mono small' }, w.node), h('td', {}, when(w.earliest) || 'no backup before the segments'),
        h('td', {}, when(w.latest)), h('td', {}, `${w.segments} (${size(w.bytes)})`),
        h('td', { className: 'small' }, (w.gaps || []).join(', ') || 'none'))))));
}

$('#l-location').addEventListener('change', () => { $('#backups').dataset.shown = ''; renderBackups(); });

// The API's own validation: a 400 names the field at fault, shown beside it.
function showFieldError(form, error) {
  for (const span of $$('.field-error', form)) span.textContent = '';
  const field = error.body && error.body.field;
  const place = (field && (form.querySelector(`[data-field="${CSS.escape(field)}"] .field-error`)
    || form.querySelector(`[data-field="${CSS.escape(field.split('.')[0])}"] .field-error`)))
    || $('.form-error', form) || $('.field-error', form);
  place.textContent = error.message;
  place.closest('.field')?.classList.add('invalid');
}

function clearErrors(form) {
  for (const span of $$('.field-error', form)) span.textContent = '';
  for (const field of $$('.field.invalid', form)) field.classList.remove('invalid');
}

function value(form, name) {
  const input = form.elements.namedItem(name);
  if (!input) return undefined;
  if (input.type === 'checkbox') return input.checked;
  const text = input.value.trim();
  return text === '' ? undefined : text;
}

async function submitFrom(form, body) {
  clearErrors(form);
  const button = $('button[type=submit]', form);
  button.disabled = true;
  try {
    const record = await api('POST', '/operations', JSON.parse(JSON.stringify(body)));
    notice(`${record.type} accepted: ${record.id}`, 'ok');
    ui.open.add(record.id);
    schedule(0);
    return record;
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) showFieldError(form, error);
    else failed(error);
    return null;
  } finally {
    button.disabled = false;
  }
}

$('#list-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  $('#backups').dataset.shown = '';
  await submitFrom(form, { type: 'list', storageLocation: value(form, 'storageLocation') });
});

$('#backup-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  await submitFrom(form, {
    type: 'backup',
    storageLocation: value(form, 'storageLocation'),
    snapshotTag: value(form, 'snapshotTag'),
    entities: value(form, 'entities'),
    dc: value(form, 'dc'),
    globalRequest: value(form, 'globalRequest') || undefined,
    createMissingBucket: value(form, 'createMissingBucket') || undefined,
  });
});

$('#restore-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const strategy = value(form, 'restorationStrategyType');
  const sourceDir = value(form, 'import.sourceDir');
  await submitFrom(form, {
    type: 'restore',
    storageLocation: value(form, 'storageLocation'),
    snapshotTag: value(form, 'snapshotTag'),
    entities: value(form, 'entities'),
    restorationStrategyType: strategy,
    restorationPhase: strategy === 'IN_PLACE' ? undefined : value(form, 'restorationPhase'),
    import: strategy === 'IN_PLACE' ? undefined : { type: 'import', sourceDir },
    globalRequest: value(form, 'globalRequest') || undefined,
  });
});

// ---- start

route();
refresh();
