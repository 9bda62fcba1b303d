// Dashboard security in a real browser: CSRF tokens, merchant isolation
// and sign-in throttling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assetPayToken, backend, cli, newOwner, signIn, steps, jetonAndBrowser } from './lib.mjs';

const env = jetonAndBrowser();
/** Follows a setup link and chooses the password; leaves the page signed in. */
async function setUp(page, link, password) {
  await page.goto(link);
  await page.fill('#password', password);
  await page.fill('#confirm', password);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.waitForURL(/done=password-set/);
}

test('security: CSRF, another merchant sees nothing, sign-in throttling', async () => {
  const ctxA = await env.browser.newContext();
  const pageA = await ctxA.newPage();
  const step = await steps('security', pageA);
  const pwA = 'merchant a password!';
  const pwB = 'merchant b password!';
  let tradeId;
  let merchantB;

  await step('merchant A signs in and has a trade', async () => {
    await setUp(pageA, await newOwner(env.srv, env.srv.merchantId, 'a@shop.example'), pwA);
    const token = await assetPayToken(env.srv, 'sec-user');
    const auth = { headers: { Authorization: token } };
    const inv = await backend(env.srv, 'GET', '/client/inventory?acceptedOnly=true&perPage=1', auth);
    const item = inv.inventory[0];
    tradeId = (await backend(env.srv, 'POST', '/client/trading/deposit', {
      ...auth, body: { items: [{ itemId: item.id, offer: { price: item.offer.price, reference: item.offer.reference } }] },
    })).id;
    await pageA.goto(`${env.srv.baseUrl}/dashboard/trades/${tradeId}`);
    assert.match(await pageA.locator('h1').textContent(), new RegExp(tradeId));
  });

  await step('a form without its CSRF token, or with a wrong one, gets 403 and changes nothing', async () => {
    const statuses = await pageA.evaluate(async () => {
      const post = (body) => fetch('/dashboard/keys', {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual',
      }).then((r) => r.status);
      return [await post('scope=ADMIN'), await post('scope=ADMIN&csrf=forged-token-value')];
    });
    assert.deepEqual(statuses, [403, 403]);
    await pageA.goto(`${env.srv.baseUrl}/dashboard/keys`);
    assert.ok(!(await pageA.content()).includes('>ADMIN<'), 'no ADMIN-only key was created');
    // A tampered hidden field in the real form is refused the same way.
    await pageA.evaluate(() => { document.querySelector('form[action="/dashboard/keys"] input[name=csrf]').value = 'x'; });
    const res = await Promise.all([
      pageA.waitForResponse((r) => r.url().endsWith('/dashboard/keys') && r.request().method() === 'POST'),
      pageA.getByRole('button', { name: 'Create key' }).click(),
    ]);
    assert.equal(res[0].status(), 403);
    assert.match(await pageA.locator('[role=alert]').textContent(), /security token/);
  });

  await step('the sign-in form refuses a missing CSRF token', async () => {
    const status = await pageA.evaluate(() => fetch('/dashboard/login', {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'email=a%40shop.example&password=x', redirect: 'manual',
    }).then((r) => r.status));
    assert.equal(status, 403);
  });

  const ctxB = await env.browser.newContext();
  const pageB = await ctxB.newPage();
  await step('another merchant\'s user sees nothing of merchant A', async () => {
    merchantB = await cli(env.srv, 'merchant', 'create', '--name', 'Other shop');
    await setUp(pageB, await newOwner(env.srv, merchantB.merchantId, 'b@other.example'), pwB);
    assert.equal((await pageB.locator('#merchant-id').textContent()).trim(), merchantB.merchantId);
    const html = [];
    for (const path of ['/dashboard/', '/dashboard/trades', '/dashboard/callbacks', '/dashboard/keys', '/dashboard/wallet', '/dashboard/providers']) {
      await pageB.goto(env.srv.baseUrl + path);
      html.push(await pageB.content());
    }
    for (const h of html) {
      assert.ok(!h.includes(env.srv.merchantId), 'merchant A\'s ID appears on B\'s dashboard');
      assert.ok(!h.includes(tradeId), 'merchant A\'s trade appears on B\'s dashboard');
    }
    const direct = await pageB.goto(`${env.srv.baseUrl}/dashboard/trades/${tradeId}`);
    assert.equal(direct.status(), 404);
    // Controls on A's trade are refused as well.
    const status = await pageB.evaluate(async (id) => {
      const csrf = document.querySelector('input[name=csrf]').value;
      const r = await fetch('/dashboard/sandbox/offers/accept', {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `csrf=${encodeURIComponent(csrf)}&trade=${encodeURIComponent(id)}`, redirect: 'manual',
      });
      return r.status;
    }, tradeId);
    assert.equal(status, 404);
  });

  await step('sign-in is throttled after repeated wrong passwords', async () => {
    const ctxC = await env.browser.newContext();
    const pageC = await ctxC.newPage();
    for (let i = 0; i < 4; i++) {
      await signIn(pageC, env.srv.baseUrl, 'b@other.example', `wrong password ${i}`);
      assert.match(await pageC.locator('[role=alert]').textContent(), /Wrong email or password/);
    }
    await signIn(pageC, env.srv.baseUrl, 'b@other.example', 'wrong password 5');
    assert.match(await pageC.locator('[role=alert]').textContent(), /locked/);
    // Now even the right password is refused until the lock ends.
    const res = pageC.waitForResponse((r) => r.url().endsWith('/dashboard/login') && r.request().method() === 'POST');
    await signIn(pageC, env.srv.baseUrl, 'b@other.example', pwB);
    assert.equal((await res).status(), 429);
    assert.match(await pageC.locator('[role=alert]').textContent(), /locked/);
    assert.match(pageC.url(), /\/dashboard\/login/);
    await pageC.screenshot({ path: `${process.env.JETON_E2E_ARTIFACTS || new URL('./artifacts', import.meta.url).pathname}/security/throttled.png` });
    await ctxC.close();
  });

  await ctxB.close();
  await ctxA.close();
});
