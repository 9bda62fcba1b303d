// The demo merchant (examples/merchant) in a real browser against a real
// jeton: a shop user signs in, sees the Steam inventory, deposits, and
// withdraws with enough balance and with too little, and the page shows
// the shop's balance right after each callback the shop's backend gets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { backend, launch, startJeton, steps, waitFor } from './lib.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

let srv;
let browser;
let dir;
let bin;
let shop;

/**
 * Starts the merchant on a free port against the test jeton, with its
 * ledger in dataFile; resolves once jeton has saved its callback URL.
 */
async function startMerchant(dataFile) {
  const child = spawn(bin, ['--jeton', srv.baseUrl, '--addr', '127.0.0.1:0', '--data', dataFile], {
    env: { ...process.env, JETON_MERCHANT_ID: srv.merchantId, JETON_API_KEY: srv.apiKey, JETON_API_SECRET: srv.apiSecret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const m = { child, log: '', exited: new Promise((r) => child.once('exit', r)) };
  child.stdout.on('data', (d) => { m.log += d; });
  child.stderr.on('data', (d) => { m.log += d; });
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  m.stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await m.exited;
      clearTimeout(t);
    }
    process.off('exit', orphan);
  };
  try {
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`the merchant exited:\n${m.log}`);
      return m.log.includes('msg="callback URL set"');
    }, { timeoutMs: 30_000 });
  } catch (e) {
    await m.stop();
    throw e;
  }
  m.url = /msg="merchant listening" url=(\S+)/.exec(m.log)[1];
  return m;
}

before(async () => {
  srv = await startJeton();
  dir = await mkdtemp(join(tmpdir(), 'jeton-merchant-e2e-'));
  bin = join(dir, 'merchant');
  await promisify(execFile)('go', ['build', '-buildvcs=false', '-o', bin, './examples/merchant'], {
    cwd: repoRoot, timeout: 240_000, maxBuffer: 16 << 20,
  });
  shop = await startMerchant(join(dir, 'merchant-data.json'));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await shop?.stop();
  await srv?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Dollars as the page writes them. */
const money = (n) => (n < 0 ? '-$' : '$') + Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const cents = (n) => Math.round(n * 100);

/** A merchant route of jeton with the API key. */
const secure = (method, path, body) => backend(srv, method, path, { headers: { 'api-key': srv.apiKey }, body });

/** Waits until the shop's backend has logged this callback (or approval call). */
function gotCallback(line) {
  return waitFor(() => shop.log.includes(line), { timeoutMs: 20_000 });
}

/**
 * The balance the page shows, right after a callback: the page polls the
 * shop every second, so it must show the new amount within 3 s.
 */
async function balanceIs(page, dollars) {
  await page.waitForFunction((want) => document.querySelector('#balance')?.textContent === want, money(dollars), { timeout: 3_000 })
    .catch(async () => {
      throw new Error(`the page shows ${await page.textContent('#balance')}, want ${money(dollars)}`);
    });
}

/** The page's row of a trade: its status cell, once it matches. */
async function tradeStatus(page, id, re) {
  const cell = page.locator(`#trades tbody tr[data-id="${id}"] .status`);
  await waitFor(async () => re.test((await cell.textContent({ timeout: 5_000 }).catch(() => '')) ?? ''), { timeoutMs: 20_000 })
    .catch(async () => {
      throw new Error(`trade ${id} shows "${await cell.textContent().catch(() => '?')}", want ${re}`);
    });
  return (await cell.textContent()).trim();
}

/** Clicks the button of one item and returns the id of the trade it started (the newest row). */
async function startTrade(page, list, itemId, label) {
  const before = await page.locator('#trades tbody tr').count();
  await page.locator(`${list} li[data-id="${itemId}"]`).getByRole('button', { name: new RegExp(`^${label} `) }).click();
  await waitFor(async () => (await page.locator('#trades tbody tr').count()) > before, { timeoutMs: 10_000 })
    .catch(async () => {
      throw new Error(`no new trade; the page says: ${await page.textContent('#message')}`);
    });
  return page.locator('#trades tbody tr').first().getAttribute('data-id');
}

test('demo merchant: sign in, inventory, deposit, approved and rejected withdrawals, balance after each callback', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await ctx.newPage();
  const step = await steps('merchant', page);
  const alice = { steamId: '76561198012345678', tradeUrl: 'https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AliceTr8' };
  let balance = 0;

  await step('alice signs in and sees her $0 balance', async () => {
    await page.goto(shop.url);
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('#shop:not([hidden])');
    assert.equal((await page.textContent('#user-name')).trim(), 'alice');
    await balanceIs(page, 0);
  });

  let inventory;
  await step('she sees her Steam inventory', async () => {
    await page.waitForSelector('#inventory li');
    inventory = await page.$$eval('#inventory li', (lis) => lis.map((li) => ({ id: li.dataset.id, price: Number(li.dataset.price) })));
    // The same items jeton lists for her trade URL, most valuable first.
    const q = new URLSearchParams({ game: '730', tradeUrl: alice.tradeUrl, acceptedOnly: 'true', sort: 'priceDesc', perPage: '24' });
    const want = await secure('GET', `/secure/inventory?${q}`);
    assert.deepEqual(inventory.map((i) => i.id), want.inventory.map((i) => i.id));
    assert.ok(inventory.length > 0);
  });

  let dep;
  await step('she deposits an item; the instant credit arrives with the HOLD callback', async () => {
    // A valuable item, so part of it waits for the end of the hold.
    const item = inventory.find((i) => i.price > 200 && i.price < 5000) ?? inventory[0];
    const id = await startTrade(page, '#inventory', item.id, 'Deposit');
    await gotCallback(`trade=${id} type=DEPOSIT status=HOLD`);
    dep = await secure('GET', `/secure/trades/${id}`);
    assert.equal(dep.status, 'HOLD');
    assert.ok(dep.preCredit > 0, `preCredit ${dep.preCredit}`);
    balance = dep.preCredit;
    await balanceIs(page, balance);
    await tradeStatus(page, id, /^HOLD$/);
  });

  await step('the hold ends (sandbox clock); the rest arrives with the COMPLETED callback', async () => {
    await secure('POST', '/secure/sandbox/clock/advance', { seconds: 8 * 24 * 3600 });
    await gotCallback(`trade=${dep.id} type=DEPOSIT status=COMPLETED`);
    balance = dep.totalPrice;
    await balanceIs(page, balance);
    await tradeStatus(page, dep.id, /^COMPLETED$/);
  });

  await step('she withdraws an item she can afford: approved, the price is taken at once', async () => {
    // Listings from $100 up, cheapest first: the first one fits her balance.
    await page.fill('#min-price', '100');
    await page.getByRole('button', { name: 'Show' }).click();
    await waitFor(async () => Number(await page.locator('#market li').first().getAttribute('data-price')) >= 100);
    const first = page.locator('#market li').first();
    const item = { id: await first.getAttribute('data-id'), price: Number(await first.getAttribute('data-price')) };
    assert.ok(item.price <= balance, `the cheapest listing ($${item.price}) fits $${balance}`);
    const id = await startTrade(page, '#market', item.id, 'Withdraw');
    await gotCallback(`msg=approval trade=${id} user=alice price=${item.price} approve=true`);
    balance = (cents(balance) - cents(item.price)) / 100;
    await balanceIs(page, balance);
    // The trade goes on: the offer is sent and accepted.
    await tradeStatus(page, id, /^(ACTIVE|HOLD|COMPLETED)$/);
    await gotCallback(`trade=${id} type=WITHDRAW status=HOLD`);
    await balanceIs(page, balance);
    assert.equal((await secure('GET', `/secure/trades/${id}`)).status, 'HOLD');
  });

  await step('she withdraws an item she cannot afford: rejected, MERCHANT_REJECTED, balance unchanged', async () => {
    await page.fill('#min-price', String(Math.floor(balance) + 1));
    await page.getByRole('button', { name: 'Show' }).click();
    await waitFor(async () => Number(await page.locator('#market li').first().getAttribute('data-price')) > balance);
    const first = page.locator('#market li').first();
    const item = { id: await first.getAttribute('data-id'), price: Number(await first.getAttribute('data-price')) };
    const id = await startTrade(page, '#market', item.id, 'Withdraw');
    await gotCallback(`msg=approval trade=${id} user=alice price=${item.price} approve=false`);
    await gotCallback(`trade=${id} type=WITHDRAW status=FAILED`);
    assert.equal(await tradeStatus(page, id, /^FAILED/), 'FAILED MERCHANT_REJECTED');
    await balanceIs(page, balance);
    const t = await secure('GET', `/secure/trades/${id}`);
    assert.deepEqual([t.status, t.error], ['FAILED', 'MERCHANT_REJECTED']);
  });

  await step('the balance history lists each movement once', async () => {
    const rows = await page.$$eval('#ledger tbody tr', (trs) => trs.map((tr) => tr.querySelector('.amount').textContent));
    // Newest first: the approved withdrawal, the rest of the deposit, the instant credit, the opening balance.
    assert.deepEqual(rows, [
      money(-(cents(dep.totalPrice) - cents(balance)) / 100),
      money(dep.pendingCredit),
      money(dep.preCredit),
      money(0),
    ]);
  });

  await step('after a restart of the shop, the balance is the same', async () => {
    await shop.stop();
    shop = await startMerchant(join(dir, 'merchant-data.json'));
    await page.goto(shop.url);
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('#shop:not([hidden])');
    await balanceIs(page, balance);
  });

  await ctx.close();
});
