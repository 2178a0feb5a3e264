// Browser tests of the Daedalus console, run by scripts/console-test against a three-node ring of
// test nodes with a sidecar each. Headless Chromium from the OS, driven by playwright-core, with a
// fresh profile; screenshots of each view go to $CONSOLE_SHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/console-test)`);
  return value;
};
const BASE = env('CONSOLE_URL');
// The sidecar of another node of the ring (the page is served by BASE's).
const PEER = env('CONSOLE_PEER_URL');
const READ = env('CONSOLE_READ_TOKEN');
const OPERATE = env('CONSOLE_OPERATE_TOKEN');
const WORK = env('CONSOLE_WORK');
const SHOTS = env('CONSOLE_SHOTS');
const JMX = env('CONSOLE_JMX');
const FAULTS = env('CONSOLE_FAULTS');
const FIXTURE = env('CONSOLE_FIXTURE');

let context;
let page;
let profile;

function faults(...args) {
  execFileSync('java', [FAULTS, JMX, ...args], { stdio: 'inherit' });
}

async function api(method, route, body, token = OPERATE, base = BASE) {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function finished(id) {
  for (let i = 0; i < 600; i += 1) {
    const record = await api('GET', `/operations/${id}`);
    if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(record.state)) return record;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`operation ${id} did not finish`);
}

const op = (id) => page.locator(`details.op[data-id="${id}"]`);

async function useToken(token) {
  await page.fill('#token', token);
  await page.click('#token-form button[type=submit]');
  await page.waitForFunction((t) => sessionStorage.getItem('daedalus.token') === t, token);
}

async function shot(name, target = page) {
  await target.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

before(async () => {
  profile = mkdtempSync(path.join(tmpdir(), 'daedalus-console-profile-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (error) => { throw error; });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('the page is self-contained and refuses cross-site changes', async () => {
  const response = await fetch(`${BASE}/ui`);
  assert.equal(response.status, 200, 'the page needs no token');
  assert.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  assert.equal(response.headers.get('x-frame-options'), 'DENY');
  assert.equal((await fetch(`${BASE}/operations`)).status, 401, 'the data needs one');
  const forged = await fetch(`${BASE}/operations`, {
    method: 'POST',
    headers: { origin: 'http://evil.example', 'content-type': 'text/plain', authorization: `Bearer ${OPERATE}` },
    body: JSON.stringify({ type: 'flush', keyspace: 'spark_test' }),
  });
  assert.equal(forged.status, 403, 'a request from another site changes nothing');
});

test('the nodes view shows the ring through every sidecar', async () => {
  await page.goto(`${BASE}/ui#nodes`);
  await page.locator('#notice', { hasText: 'needs a token' }).waitFor();
  await useToken(OPERATE);
  assert.ok(!page.url().includes(OPERATE), 'the token is never in the URL');
  await page.locator('article.node').nth(2).waitFor();
  const cards = page.locator('article.node');
  assert.equal(await cards.count(), 3);
  for (let i = 0; i < 3; i += 1) {
    const text = await cards.nth(i).innerText();
    assert.match(text, /UP/);
    assert.match(text, /NORMAL/);
    assert.match(text, /answers/);
    assert.match(text, /4\.1\.0/);
  }
  assert.equal(await page.locator('.dc h2').count(), 2, 'two datacenters');
  await shot('nodes');
});

test("a running import's bar advances and completes", async () => {
  const source = path.join(WORK, 'import-source');
  mkdirSync(source, { recursive: true });
  cpSync(FIXTURE, source, { recursive: true });
  faults('delay', 'importNewSSTables', '8000');
  await page.goto(`${BASE}/ui#operations`);
  const record = await api('POST', '/operations',
    { type: 'import', keyspace: 'spark_test', table: 'test3', sourceDir: source });
  const seen = new Set();
  const deadline = Date.now() + 30000;
  let state = '';
  while (Date.now() < deadline) {
    const entry = op(record.id);
    if (await entry.count()) {
      state = await entry.getAttribute('data-state');
      seen.add(Number(await entry.locator(':scope > summary progress').getAttribute('value')));
      if (state === 'RUNNING' && seen.size === 2) await shot('operations');
      if (state === 'COMPLETED') break;
    }
    await page.waitForTimeout(200);
  }
  faults('clear');
  assert.equal(state, 'COMPLETED');
  assert.ok([...seen].some((v) => v > 0 && v < 1), `a value between 0 and 1 was shown: ${[...seen]}`);
  assert.equal(await op(record.id).locator(':scope > summary progress').getAttribute('value'), '1');
  assert.match(await op(record.id).locator(':scope > summary').innerText(), /100%/);
});

test('a cancel from the page cancels', async () => {
  const record = await api('POST', '/operations', {
    type: 'backup', storageLocation: `file://${WORK}/store/slow/console/dc1/node`,
    createMissingBucket: true, entities: 'spark_test.test3', concurrentConnections: 1,
    bandwidth: { value: 100, unit: 'BPS' },
  });
  await page.goto(`${BASE}/ui#operations`);
  await op(record.id).and(page.locator('[data-state="RUNNING"]')).waitFor();
  await op(record.id).locator('button.cancel').click();
  await op(record.id).and(page.locator('[data-state="CANCELLED"]')).waitFor({ timeout: 15000 });
  assert.equal((await api('GET', `/operations/${record.id}`)).state, 'CANCELLED');
});

test('a global backup started from the form shows its per-node view; the list shows it', async () => {
  await page.goto(`${BASE}/ui#backups`);
  const form = page.locator('#backup-form');
  // The API's own validation, beside the field it names.
  await form.locator('button[type=submit]').click();
  const error = form.locator('[data-field="storageLocation"] .field-error');
  await error.filter({ hasText: /storageLocation/ }).waitFor();
  await form.locator('input[name=storageLocation]').fill(`file://${WORK}/store/bucket/any/any/any`);
  await form.locator('input[name=snapshotTag]').fill('console');
  await form.locator('input[name=entities]').fill('spark_test.test3');
  await form.locator('input[name=globalRequest]').check();
  await form.locator('input[name=createMissingBucket]').check();
  await form.locator('button[type=submit]').click();
  const accepted = await page.locator('#notice', { hasText: 'backup accepted' }).innerText();
  const id = accepted.split(': ')[1].trim();
  await page.goto(`${BASE}/ui#operations/${id}`);
  await op(id).locator('tr.node-row').nth(2).waitFor();
  await op(id).and(page.locator('[data-state="COMPLETED"]')).waitFor({ timeout: 60000 });
  const rows = op(id).locator('tr.node-row');
  assert.equal(await rows.count(), 3);
  for (let i = 0; i < 3; i += 1) assert.match(await rows.nth(i).innerText(), /COMPLETED/);
  await shot('global-backup');

  // The node's part, listed from the backups view.
  await page.goto(`${BASE}/ui#backups`);
  const location = `file://${WORK}/store/bucket/console/dc1/11111111-1111-1111-1111-111111111111`;
  await page.fill('#l-location', location);
  await page.click('#list-form button[type=submit]');
  await page.locator('#backups tr[data-tag="console"]').waitFor({ timeout: 30000 });
  assert.match(await page.locator('#backups tr[data-tag="console"]').innerText(), /KiB/);
  await shot('backups');
});

test("an operation submitted to another node's sidecar is listed, with its node, and cancels from here", async () => {
  const record = await api('POST', '/operations', { type: 'flush', keyspace: 'spark_test' }, OPERATE, PEER);
  await page.goto(`${BASE}/ui#operations`);
  const row = op(record.id);
  await row.and(page.locator('[data-state="COMPLETED"]')).waitFor({ timeout: 30000 });
  const peerAddress = new URL(PEER).hostname;
  assert.equal(await row.locator(':scope > summary .where').innerText(), peerAddress);
  // The node filter keeps it for its node and drops it for another.
  const endpoints = await page.locator('#f-node option').evaluateAll((options) => options.map((o) => o.value));
  const peerEndpoint = endpoints.find((e) => e.includes(peerAddress));
  assert.ok(peerEndpoint, `a filter entry for ${peerAddress}: ${endpoints}`);
  await page.selectOption('#f-node', peerEndpoint);
  await row.waitFor();
  await page.selectOption('#f-node', endpoints.find((e) => e && !e.includes(peerAddress)));
  await row.waitFor({ state: 'detached' });
  await page.selectOption('#f-node', '');
  // Cancel from this sidecar's page reaches the sidecar that runs it.
  const slow = await api('POST', '/operations', {
    type: 'backup', storageLocation: `file://${WORK}/store/slow-peer/console/dc1/node`,
    createMissingBucket: true, entities: 'spark_test.test3', concurrentConnections: 1,
    bandwidth: { value: 100, unit: 'BPS' },
  }, OPERATE, PEER);
  await op(slow.id).and(page.locator('[data-state="RUNNING"]')).waitFor({ timeout: 30000 });
  await op(slow.id).locator('button.cancel').click();
  await op(slow.id).and(page.locator('[data-state="CANCELLED"]')).waitFor({ timeout: 15000 });
  assert.equal((await api('GET', `/operations/${slow.id}`, undefined, OPERATE, PEER)).state, 'CANCELLED');
  // The node's parts of a cluster-wide request are inside its per-node view, not listed again.
  const listed = await page.locator('details.op').evaluateAll((rows) => rows.map((r) => r.dataset.id));
  const global = await api('GET', '/cluster/operations?type=backup');
  for (const sidecar of global.sidecars) {
    for (const o of sidecar.operations) {
      for (const n of o.nodes || []) assert.ok(!listed.includes(n.operationId), `${n.operationId} listed twice`);
    }
  }
});

test('a failed operation shows its cause and the Java exception', async () => {
  faults('fail', 'forceKeyspaceFlush', 'java.lang.IllegalStateException', 'commit log disk is read-only');
  const record = await api('POST', '/operations', { type: 'flush', keyspace: 'spark_test' });
  await finished(record.id);
  faults('clear');
  await page.goto(`${BASE}/ui#operations/${record.id}`);
  await op(record.id).and(page.locator('[data-state="FAILED"]')).waitFor();
  const failure = op(record.id).locator('.failure');
  await failure.waitFor();
  const text = await failure.innerText();
  assert.match(text, /java\.lang\.IllegalStateException/);
  assert.match(text, /commit log disk is read-only/);
  await shot('failure');
});

test('a read-only token sees no action buttons', async () => {
  const record = await api('POST', '/operations', {
    type: 'backup', storageLocation: `file://${WORK}/store/slow2/console/dc1/node`,
    createMissingBucket: true, entities: 'spark_test.test3', concurrentConnections: 1,
    bandwidth: { value: 100, unit: 'BPS' },
  });
  await page.goto(`${BASE}/ui#operations`);
  await useToken(READ);
  await page.locator('#role', { hasText: 'role: read' }).waitFor();
  await op(record.id).and(page.locator('[data-state="RUNNING"]')).waitFor();
  assert.equal(await page.locator('button.cancel').count(), 0);
  await page.goto(`${BASE}/ui#backups`);
  assert.equal(await page.locator('#backup-form').isVisible(), false);
  assert.equal(await page.locator('#restore-form').isVisible(), false);
  // Listing backups only reads the bucket: a read token may. Two archived commit-log segments
  // (Esop's keys: name, then last-modified millis) after the backup give the node a recovery window.
  const nodeDir = `${WORK}/store/bucket/console/dc1/11111111-1111-1111-1111-111111111111`;
  mkdirSync(`${nodeDir}/commitlog`, { recursive: true });
  const now = Date.now();
  writeFileSync(`${nodeDir}/commitlog/CommitLog-7-${now}.log.${now + 1000}`, Buffer.alloc(1024));
  writeFileSync(`${nodeDir}/commitlog/CommitLog-7-${now + 1}.log.${now + 2000}`, Buffer.alloc(1024));
  await page.fill('#l-location', `file://${nodeDir}`);
  await page.click('#list-form button[type=submit]');
  await page.locator('#notice', { hasText: 'list accepted' }).waitFor();
  await page.locator('#backups tr[data-tag="console"]').waitFor({ timeout: 30000 });
  const window = page.locator('#backups .recovery tr[data-node]');
  await window.waitFor({ timeout: 30000 });
  assert.match(await window.innerText(), /2 \(/, 'two segments in the window');
  const refused = await fetch(`${BASE}/operations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${READ}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'flush', keyspace: 'spark_test' }),
  });
  assert.equal(refused.status, 403, 'anything but list needs operate');
  await shot('read-only');
  // A phone-sized window of the same list.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${BASE}/ui#operations`);
  await op(record.id).waitFor();
  await shot('phone', page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await api('DELETE', `/operations/${record.id}`);
  await finished(record.id);
});
