import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { createPool } from '../../infra/db/pool.js';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresEventStore } from '../../infra/eventstore/postgres-event-store.js';
import { cleanupStreamId } from '../../services/cleanup/reclaimer.js';
import { createEventFactory } from '../../services/event-factory.js';
import { putOnBackend } from '../support/backend-objects.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startGatedProxy, type GatedProxy } from '../support/gated-proxy.js';
import { startOrchestratorProcess, type OrchestratorProcess } from '../support/orchestrator-process.js';
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';
import { uiYaml, uiLogin } from './ui-stack.js';

/** Debian's chromium; .ci/run installs it. No browser is ever downloaded. */
const chromium = process.env.S3O_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = new URL('../../test-artifacts/ui/', import.meta.url).pathname;
const objectCount = 24;

function render(port: number, db: TestDatabase, b1: string, b2: string): string {
  const url = new URL(db.url);
  return [
    'server:', `  listen_addr: "127.0.0.1:${port}"`, '  log_level: info',
    'database:', '  driver: postgres', `  host: ${url.hostname}`, `  port: ${url.port || 5432}`, `  database: ${db.name}`,
    `  user: ${decodeURIComponent(url.username) || 'postgres'}`, '  ssl_mode: disable',
    'routing_strategy: pack',
    'rebalance:', '  concurrency: 1',
    'buckets:', '  - name: alpha', '    credentials:', '      - access_key_id: UIKEY', '        secret_access_key: ui-secret',
    'backends:',
    ...[['b1', b1], ['b2', b2]].map(([name, endpoint]) => [
      `  - name: ${name}`, `    endpoint: "${endpoint}"`, '    bucket: test-bucket', '    access_key_id: S3RVER', '    secret_access_key: S3RVER',
      '    force_path_style: true', '    quota_bytes: 1GiB',
    ].join('\n')),
    uiYaml(),
  ].join('\n');
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

// Functions passed to page.evaluate run in the browser; the test's TypeScript has no DOM types.
interface Browserish {
  document: { querySelector(sel: string): { value: number } | null };
  getComputedStyle(el: unknown): { animationName: string };
  sameDocument?: boolean;
}

/** The text of the state badge the page shows for a backend. */
const backendState = (page: Page, backend: string) =>
  page.$eval(`[data-backend-state="${backend}"] .badge`, (el) => el.textContent?.trim());

describe('the dashboard in headless Chromium, against an orchestrator process', () => {
  let db: TestDatabase;
  let s3rvers: S3rverInstance[];
  let gate: GatedProxy;
  let proc: OrchestratorProcess;
  let browser: Browser;
  let page: Page;
  let pool: pg.Pool;

  beforeAll(async () => {
    if (!existsSync(chromium)) {
      throw new Error(`no Chromium at ${chromium}: install Debian's chromium (apt-get install chromium; .ci/run does) or point S3O_CHROMIUM at one`);
    }
    await mkdir(artifacts, { recursive: true });
    db = await createTestDatabase();
    pool = createPool({ connectionString: db.url, max: 2 });
    s3rvers = [await startS3rver(), await startS3rver()];
    gate = await startGatedProxy((s3rvers[1] as S3rverInstance).endpoint);
    proc = await startOrchestratorProcess((port) => render(port, db, (s3rvers[0] as S3rverInstance).endpoint, gate.endpoint));
    const s3 = new S3Client({ endpoint: proc.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'UIKEY', secretAccessKey: 'ui-secret' } });
    for (let i = 0; i < objectCount; i++) {
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `photos/${i % 3 === 0 ? 'raw/' : ''}img-${i}.jpg`, Body: randomBytes(2048) }));
    }
    s3.destroy();
    browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    // The drain and delete buttons ask first (dashboard.js): the operator says yes.
    page.on('dialog', (d) => void d.accept());
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await proc?.cleanup();
    gate?.open();
    await gate?.stop();
    await Promise.all((s3rvers ?? []).map((s) => s.stop()));
    await pool?.end();
    await db?.drop();
  });

  test('signing in leads to the backends page', async () => {
    await page.goto(`${proc.url}/ui/`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await shot(page, '01-login');
    await page.type('input[name=admin_key]', uiLogin.key);
    await page.type('input[name=admin_secret]', uiLogin.secret);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(new URL(page.url()).pathname).toBe('/ui/backends');
    expect(await backendState(page, 'b1')).toBe('active');
    await shot(page, '02-backends');
  });

  test('a drain shows its pulsing Draining badge, and its progress moves on the open page', async () => {
    // An orphan whose cleanup gave up keeps the drain from finishing, so the page can be looked
    // at while it runs; the gate in front of b2 holds the first moves until the page is shown.
    const cause = { actor: 'test:fixture' };
    const events = createEventFactory('dashboard-browser-test');
    const id = ulid();
    await new PostgresEventStore(pool).appendToStream(cleanupStreamId(id), [
      events.event('OrphanRecorded', { backend: 'b1', storageKey: `ghost/${id}`, size: 100, reason: 'test_fixture', kind: 'object' }, cause),
      events.event('CleanupExhausted', { attempt: 10, error: 'simulated: the backend refused ten times' }, cause),
    ], { expected: 'no_stream' });
    gate.close();
    await Promise.all([page.waitForNavigation(), page.click('[data-backend="b1"] form[action="/ui/actions/drain"] button')]);
    expect(await page.$eval('.flash-ok', (el) => el.textContent)).toMatch(/^Drain of b1 started \(job /);
    expect(await backendState(page, 'b1')).toBe('draining');
    expect(await page.$eval('[data-backend-state="b1"] .badge', (el) => (globalThis as unknown as Browserish).getComputedStyle(el).animationName)).toBe('pulse');
    const bar = '[data-backend="b1"] progress';
    expect(await page.$eval(bar, (el) => [(el as unknown as { value: number }).value, (el as unknown as { max: number }).max])).toEqual([0, objectCount]);
    await shot(page, '03-draining-held');
    // Marks this document: the bar must move while the page stays open (polling), not by a reload.
    await page.evaluate(() => {
      (globalThis as unknown as Browserish).sameDocument = true;
    });
    gate.open();
    await page.waitForFunction((sel, n) => (globalThis as unknown as Browserish).document.querySelector(sel)?.value === n, { timeout: 60_000 }, bar, objectCount);
    expect(await page.evaluate(() => (globalThis as unknown as Browserish).sameDocument)).toBe(true);
    expect(await page.$eval(`[data-backend="b1"] [data-job-text]`, (el) => el.textContent)).toMatch(new RegExp(`^${objectCount} of ${objectCount} objects`));
    expect(await backendState(page, 'b1')).toBe('draining');
    await shot(page, '04-draining-moved');

    await page.goto(`${proc.url}/ui/jobs`);
    expect(await page.$eval('tr[data-job-row] td:nth-child(2)', (el) => el.textContent)).toBe('drain');
    await shot(page, '05-jobs');

    await page.goto(`${proc.url}/ui/backends`);
    await Promise.all([page.waitForNavigation(), page.click('[data-backend="b1"] form[action="/ui/actions/drain-cancel"] button')]);
    expect(await page.$eval('.flash-ok', (el) => el.textContent)).toMatch(/^Drain of b1 cancelled/);
    expect(await backendState(page, 'b1')).toBe('active');
  });

  test('the object tree opens a folder in place and leads to an object\'s timeline', async () => {
    await page.goto(`${proc.url}/ui/objects?bucket=alpha`);
    expect(await page.$eval('tr.dir', (el) => el.textContent?.replace(/\s+/g, ' '))).toContain(`photos/ ${objectCount} objects`);
    await page.click('button[data-expand="photos/"]');
    await page.waitForSelector('tr.nested[data-parent="photos/"]');
    const nested = await page.$$eval('tr.nested[data-parent="photos/"] td:first-child', (tds) => tds.map((td) => td.textContent?.trim()));
    expect(nested).toContain('+raw/');
    expect(nested).toContain('img-1.jpg');
    await shot(page, '06-tree');
    await Promise.all([page.waitForNavigation(), page.click('tr.nested a[href*="img-1.jpg"]')]);
    const types = await page.$$eval('.timeline .type', (els) => els.map((e) => e.textContent));
    // Written through the S3 API, then moved to b2 by the drain.
    expect(types[0]).toBe('ObjectWritten');
    expect(types).toContain('CopyMoved');
    expect(await page.$eval('.timeline .event .who', (el) => el.textContent)).toMatch(/by UIKEY · request /);
    await shot(page, '07-history');
  });

  test('a file uploaded through the dashboard downloads byte for byte', async () => {
    const content = randomBytes(300_000);
    const file = join(artifacts, 'upload.bin');
    await writeFile(file, content);
    await page.goto(`${proc.url}/ui/objects?bucket=alpha&prefix=photos%2F`);
    await page.type('form.upload input[name=name]', 'uploaded <file>.bin');
    const input = await page.$('form.upload input[type=file]');
    await input?.uploadFile(file);
    await Promise.all([page.waitForNavigation(), page.click('form.upload button[type=submit]')]);
    expect(await page.$eval('.flash-ok', (el) => el.textContent)).toMatch(/^Uploaded alpha\/photos\/uploaded <file>\.bin \(300000 bytes/);
    const href = await page.$$eval('tr.file a[download]', (as) => as.map((a) => (a as unknown as { href: string }).href).find((h) => h.includes('uploaded')));
    expect(href).toBeDefined();
    const got = await page.evaluate(async (url) => {
      const res = await fetch(url as string);
      const bytes = new Uint8Array(await res.arrayBuffer());
      let bin = '';
      for (const b of bytes) bin += String.fromCharCode(b);
      return { status: res.status, disposition: res.headers.get('content-disposition'), base64: btoa(bin) };
    }, href);
    expect(got.status).toBe(200);
    expect(got.disposition).toMatch(/^attachment; filename="uploaded <file>.bin"/);
    expect(Buffer.from(got.base64, 'base64').equals(content)).toBe(true);
    await shot(page, '08-uploaded');
  });

  test('the log view shows this instance\'s recent lines', async () => {
    await page.goto(`${proc.url}/ui/logs?level=info`);
    const messages = await page.$$eval('table.logs td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
    expect(messages).toContain('dashboard login');
    expect(messages).toContain('s3-orchestrator ready');
    await shot(page, '09-logs');
  });

  test('the backends page\'s figures follow a write without a reload, and sync imports what a backend holds', async () => {
    await page.goto(`${proc.url}/ui/backends`);
    const usedTexts = () => page.$$eval('[data-backend-text="quota"]', (els) => els.map((e) => e.textContent));
    const before = await usedTexts();
    await page.evaluate(() => {
      (globalThis as unknown as Browserish).sameDocument = true;
    });
    const s3 = new S3Client({ endpoint: proc.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'UIKEY', secretAccessKey: 'ui-secret' } });
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'live/figures.bin', Body: randomBytes(5 * 1024 * 1024) }));
    s3.destroy();
    await page.waitForFunction((was) => JSON.stringify([...(globalThis as unknown as { document: { querySelectorAll(s: string): { textContent: string }[] } })
      .document.querySelectorAll('[data-backend-text="quota"]')].map((e) => e.textContent)) !== was, { timeout: 60_000 }, JSON.stringify(before));
    expect(await page.evaluate(() => (globalThis as unknown as Browserish).sameDocument)).toBe(true);
    await shot(page, '10-live-figures');

    await putOnBackend(s3rvers[0] as S3rverInstance, 'found/on-b1.txt', 'put straight onto b1');
    await page.select('form.sync select[name=backend]', 'b1');
    await page.select('form.sync select[name=bucket]', 'alpha');
    await page.type('form.sync input[name=prefix]', 'found/');
    await Promise.all([page.waitForNavigation(), page.click('form.sync button[type=submit]')]);
    expect(await page.$eval('.flash-ok', (el) => el.textContent)).toMatch(/^Sync of b1 into alpha: scanned 1; imported 1 \(20 bytes\)/);
    await shot(page, '11-synced');
    await page.goto(`${proc.url}/ui/objects?bucket=alpha&prefix=found%2F`);
    expect(await page.$$eval('tr.file a[download]', (as) => as.length)).toBe(1);
  });
});
