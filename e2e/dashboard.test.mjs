// The dashboard in a real browser: what the vendors' docs send merchants
// to "your dashboard" for.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assetPayToken, backend, fitsWidth, launch, newOwner, receiver, signIn, startJeton, steps, waitFor,
} from './lib.mjs';

let srv;
let browser;
let hook;

before(async () => {
  srv = await startJeton();
  browser = await launch();
  hook = await receiver();
});

after(async () => {
  await browser?.close();
  await hook?.close();
  await srv?.stop();
});

/** Calls an AssetPay key route with a key and returns the HTTP status and error key. */
async function withKey(key, method, path, body) {
  const res = await fetch(srv.baseUrl + path, {
    method,
    headers: { 'api-key': key, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const json = await res.json();
  return { status: res.status, key: json.error?.key };
}

const authBody = {
  clientSteamId: '76561198012345678',
  clientTradeUrl: 'https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh',
  clientId: 'dash-user',
};

/** Creates a key with the given scopes on the keys page and returns it. */
async function createKey(page, ...scopes) {
  await page.goto(`${srv.baseUrl}/dashboard/keys`);
  for (const box of await page.locator('input[name=scope]').all()) {
    const want = scopes.includes(await box.getAttribute('value'));
    if ((await box.isChecked()) !== want) await box.click();
  }
  await page.getByRole('button', { name: 'Create key' }).click();
  const value = (await page.locator('#secret-value').textContent()).trim();
  assert.match(value, /^ap_/);
  return value;
}

test('dashboard: owner setup, merchant ID, keys, rotation, revocation, callback URL and test ping', async () => {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await ctx.newPage();
  const step = await steps('dashboard', page);
  const email = 'owner@shop.example';
  const password = 'correct horse battery staple';

  await step('setup from the one-time link', async () => {
    const link = await newOwner(srv, srv.merchantId, email);
    await page.goto(link);
    await page.fill('#password', password);
    await page.fill('#confirm', password);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL(/\/dashboard\/\?done=password-set/);
    assert.match(await page.locator('[role=status]').first().textContent(), /password is set/);
    await fitsWidth(page);
  });

  await step('the setup link works only once', async () => {
    const link = await newOwner(srv, srv.merchantId, 'second@shop.example');
    const other = await browser.newContext();
    const p = await other.newPage();
    await p.goto(link);
    await p.fill('#password', password);
    await p.fill('#confirm', password);
    await p.getByRole('button', { name: 'Set password and sign in' }).click();
    await p.waitForURL(/done=password-set/);
    const again = await p.goto(link);
    assert.equal(again.status(), 404);
    assert.match(await p.locator('[role=alert]').textContent(), /not valid/);
    await other.close();
  });

  await step('sign out, then sign in with the keyboard', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/dashboard\/login/);
    await signIn(page, srv.baseUrl, email, password);
    await page.waitForURL(`${srv.baseUrl}/dashboard/`);
  });

  await step('read the merchant ID on the overview', async () => {
    assert.equal((await page.locator('#merchant-id').textContent()).trim(), srv.merchantId);
    assert.equal((await page.locator('#partner-id').textContent()).trim(), srv.partnerId);
    await fitsWidth(page);
  });

  let readOnly;
  await step('create a READ_ONLY key, shown once', async () => {
    readOnly = await createKey(page, 'READ_ONLY');
    assert.match(await page.locator('[role=note]').textContent(), /cannot show it again/);
    await page.goto(`${srv.baseUrl}/dashboard/keys`);
    assert.ok(!(await page.content()).includes(readOnly), 'the key list must not show a key value');
  });

  await step('the READ_ONLY key is refused on a CORE_ACCESS route and works on a read route', async () => {
    const core = await withKey(readOnly, 'POST', '/auth/authenticate-client', authBody);
    assert.deepEqual(core, { status: 403, key: 'API_KEY_SCOPE_DENIED' });
    const read = await withKey(readOnly, 'GET', '/secure/prices');
    assert.equal(read.status, 200);
  });

  let oldKey;
  let newKey;
  await step('rotate a key with a grace period: both work', async () => {
    oldKey = await createKey(page, 'CORE_ACCESS');
    assert.equal((await withKey(oldKey, 'POST', '/auth/authenticate-client', authBody)).status, 200);
    await page.goto(`${srv.baseUrl}/dashboard/keys`);
    const row = page.locator('tr', { hasText: oldKey.slice(0, 7) }).first();
    await row.locator('select[name=grace]').selectOption('24h');
    await row.getByRole('button', { name: 'Rotate' }).click();
    newKey = (await page.locator('#secret-value').textContent()).trim();
    assert.notEqual(newKey, oldKey);
    assert.match(await page.locator('[role=note]').textContent(), /keeps working for 24h/);
    assert.equal((await withKey(oldKey, 'POST', '/auth/authenticate-client', authBody)).status, 200);
    assert.equal((await withKey(newKey, 'POST', '/auth/authenticate-client', authBody)).status, 200);
  });

  await step('revoke the rotated key: it is refused at once', async () => {
    await page.goto(`${srv.baseUrl}/dashboard/keys`);
    const row = page.locator('tr', { hasText: newKey.slice(0, 7) }).first();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(/done=key-revoked/);
    assert.match(await row.textContent(), /revoked/);
    await waitFor(async () => (await withKey(newKey, 'POST', '/auth/authenticate-client', authBody)).status === 401);
    assert.equal((await withKey(oldKey, 'POST', '/auth/authenticate-client', authBody)).status, 200, 'the old key is still in its grace period');
  });

  await step('set the callback URL: saved after its test ping', async () => {
    await page.goto(`${srv.baseUrl}/dashboard/callbacks`);
    await page.fill('#callback-url', hook.url);
    await page.getByRole('button', { name: 'Save URL' }).click();
    await page.waitForURL(/done=callback-saved/);
    assert.equal(await page.inputValue('#callback-url'), hook.url);
    assert.equal(hook.got.length, 1);
    assert.deepEqual(Object.keys(JSON.parse(hook.got[0].body)).sort(), ['merchantId', 'test', 'timestamp']);
    await fitsWidth(page);
  });

  await step('send the test ping and see it in the delivery log', async () => {
    await page.getByRole('button', { name: 'Send test ping' }).click();
    await page.waitForURL(/done=callback-tested/);
    assert.equal(hook.got.length, 2);
    const rows = page.locator('#delivery-log tbody tr', { hasText: 'TEST' });
    assert.equal(await rows.count(), 2);
    assert.match(await rows.first().textContent(), /delivered/);
    assert.match(await rows.first().textContent(), /200/);
  });

  let tradeId;
  await step('a deposit sends signed status callbacks; the trade page shows its timeline', async () => {
    const token = await assetPayToken(srv, 'dash-user');
    const auth = { headers: { Authorization: token } };
    const inv = await backend(srv, 'GET', '/client/inventory?acceptedOnly=true&perPage=1', auth);
    const item = inv.inventory[0];
    const trade = await backend(srv, 'POST', '/client/trading/deposit', {
      ...auth, body: { items: [{ itemId: item.id, offer: { price: item.offer.price, reference: item.offer.reference } }] },
    });
    tradeId = trade.id;
    await waitFor(() => hook.got.some((r) => r.headers['x-assetpay-signature']));
    await page.goto(`${srv.baseUrl}/dashboard/trades`);
    await page.getByRole('link', { name: tradeId }).click();
    await page.waitForURL(new RegExp(`/dashboard/trades/${tradeId}`));
    assert.match(await page.locator('#timeline').textContent(), /INITIATED/);
  });

  await step('the verifier accepts a real callback and names what is wrong with an altered one', async () => {
    const cb = hook.got.find((r) => r.headers['x-assetpay-signature']);
    await page.goto(`${srv.baseUrl}/dashboard/callbacks`);
    await page.check('input[name=kind][value=assetpay]');
    await page.fill('#verify-header', cb.headers['x-assetpay-signature']);
    await page.fill('#verify-body', cb.body);
    await page.getByRole('button', { name: 'Check' }).click();
    assert.match(await page.locator('#verify-result').textContent(), /Valid/);

    await page.check('input[name=kind][value=assetpay]');
    await page.fill('#verify-header', cb.headers['x-assetpay-signature']);
    await page.fill('#verify-body', cb.body.replace('"DEPOSIT"', '"WITHDRAW"'));
    await page.getByRole('button', { name: 'Check' }).click();
    const text = await page.locator('#verify-result').textContent();
    assert.match(text, /signature_mismatch/);
    assert.doesNotMatch(text, /[0-9a-f]{64}/, 'the verifier must never show a signature');
  });

  await step('the wallet and ledger pages', async () => {
    await page.goto(`${srv.baseUrl}/dashboard/wallet`);
    assert.match(await page.locator('#available').textContent(), /^\$\d/);
    await fitsWidth(page);
  });

  await step('every page fits 375 px and labels every control', async () => {
    const pages = ['/', '/keys', '/providers', '/callbacks', '/webhooks', '/trades', `/trades/${tradeId}`, '/wallet',
      '/risk?wager=100&kyc=3&fiat=1', '/payments', '/sandbox', '/terminal'];
    for (const p of pages) {
      const res = await page.goto(`${srv.baseUrl}/dashboard${p}`);
      assert.equal(res.status(), 200, p);
      await fitsWidth(page);
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.type !== 'hidden' && !el.hidden && el.offsetParent !== null)
        .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML));
      assert.deepEqual(unlabelled, [], `${p} has controls without a label`);
      const unnamed = await page.evaluate(() => [...document.querySelectorAll('button')]
        .filter((b) => !b.textContent.trim() && !b.getAttribute('aria-label')).map((b) => b.outerHTML));
      assert.deepEqual(unnamed, [], `${p} has buttons without a name`);
    }
  });

  await ctx.close();
});
