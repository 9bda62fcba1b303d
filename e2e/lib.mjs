// Shared parts of the browser tests: Debian's chromium through
// playwright-core, steps that leave a screenshot each (and name the step
// that failed), the jeton CLI on the test server's store, and a merchant
// endpoint that records what jeton sends it.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { startJeton } from '../sdk/js/test/server.mjs';

export { startJeton, backend, sagaHeaders, assetPayToken, sagaPayToken, steamId, tradeUrl, waitFor } from '../sdk/js/test/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** Where screenshots go; CI keeps the folder as the tests' artifacts. */
export const artifacts = process.env.JETON_E2E_ARTIFACTS || join(here, 'artifacts');

/** Starts Debian's chromium headless; never a downloaded browser. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 60_000,
  });
}

/**
 * A recorder of named steps for one scenario: each step's screenshot is
 * written as NN-name.png, and a failure is rethrown naming the step, with a
 * FAILED screenshot of the page as it was.
 */
export async function steps(suite, page) {
  const dir = join(artifacts, suite);
  await mkdir(dir, { recursive: true });
  let n = 0;
  const shot = async (name) => {
    n++;
    const file = join(dir, `${String(n).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    return file;
  };
  return async function step(name, fn) {
    try {
      await fn();
    } catch (e) {
      const file = await shot(`FAILED-${name}`);
      e.message = `step "${name}" failed (screenshot ${file}): ${e.message}`;
      throw e;
    }
    await shot(name);
  };
}

/** Runs the jeton CLI on the test server's store and parses its --json. */
export async function cli(srv, ...args) {
  const { stdout } = await promisify(execFile)(srv.bin, [...args, '--data', srv.dataDir, '--json'], { timeout: 30_000 });
  return JSON.parse(stdout);
}

/** Creates a dashboard owner and returns the one-time setup link. */
export async function newOwner(srv, merchantId, email) {
  const u = await cli(srv, 'user', 'create', '--merchant', merchantId, '--email', email, '--base-url', srv.baseUrl);
  return u.setupUrl;
}

/**
 * A merchant endpoint on 127.0.0.1 that answers 200 and keeps every
 * request (headers and raw body), like a merchant backend's log.
 */
export async function receiver() {
  const got = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${srv.address().port}/jeton/callback`,
    got,
    close: () => new Promise((ok) => srv.close(ok)),
  };
}

/** Signs in through the form with the keyboard only. */
export async function signIn(page, baseUrl, email, password) {
  await page.goto(`${baseUrl}/dashboard/login`);
  await page.focus('#email');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.waitForLoadState('load');
}

/** Fails when the page scrolls sideways at its current width. */
export async function fitsWidth(page) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (scroll > width) throw new Error(`${page.url()} is ${scroll} px wide at a ${width} px viewport`);
}

/**
 * Starts a jeton and the browser before the test file's tests and stops
 * both after them; env.srv and env.browser are set once they run.
 */
export function jetonAndBrowser() {
  const env = {};
  before(async () => {
    env.srv = await startJeton();
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.srv?.stop();
  });
  return env;
}
