// The virtual terminal: an order created through the SagaPay API is paid
// on a manual sandbox terminal in the dashboard, with a tip, and the
// receipt shows the store's branding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backend, newOwner, sagaHeaders, sagaPayToken, steps, waitFor, jetonAndBrowser } from './lib.mjs';

const env = jetonAndBrowser();
test('virtual terminal: tip, test card, branded receipt', async () => {
  const admin = { headers: sagaHeaders(env.srv) };
  const brandColor = '#7A1FA2';
  let terminalId;
  let orderId;
  let bearer;

  const ctx = await env.browser.newContext({ viewport: { width: 375, height: 800 } });
  const page = await ctx.newPage();
  const step = await steps('terminal', page);

  await step('set up a branded store with a manual terminal through the API', async () => {
    const store = await backend(env.srv, 'POST', `/partners/${env.srv.partnerId}/merchants/${env.srv.merchantId}/stores`, {
      ...admin,
      body: {
        storeName: 'Violet Café', phoneNumber: { code: '+46', number: '701234567' },
        address: { addressLine1: 'Drottninggatan 1', city: 'Stockholm', countryCode: 'SE', postalCode: '111 51' },
      },
    });
    // Registration codes starting with 9 make manual terminals.
    const term = await backend(env.srv, 'POST', `/merchants/${env.srv.merchantId}/stores/${store.storeId}/devices`, {
      ...admin, body: { registrationIdentifier: '912345', terminalName: 'Counter' },
    });
    terminalId = term.terminalId;
    await backend(env.srv, 'PATCH', `/merchants/${env.srv.merchantId}/stores/${store.storeId}/tips`, {
      ...admin, body: { tipConfig: 'ENABLED', tipLevel1: 5, tipLevel2: 10, tipLevel3: 15 },
    });
    await backend(env.srv, 'PATCH', `/merchants/${env.srv.merchantId}/stores/${store.storeId}/branding`, {
      ...admin, body: { brandColor, backgroundColor: '#F3E5F5' },
    });
  });

  await step('create the order and start the payment through the SagaPay API', async () => {
    const { token } = await sagaPayToken(env.srv, 'walk-in');
    bearer = { headers: { Authorization: `Bearer ${token}` } };
    const order = await backend(env.srv, 'POST', '/orders', {
      ...bearer,
      body: {
        terminal$id: terminalId, referenceId: 'table-7',
        orderLines: [{ id: '1', name: 'Cardamom bun', quantity: 2, amount: { regular: 2000, total: 4000, currency: '752' } }],
        totalOrderAmount: { regular: 4000, total: 4000, currency: '752' },
      },
    });
    orderId = order.orderId;
    await backend(env.srv, 'POST', '/payments', { ...bearer, body: { orderId, paymentMethod: 'CARD' } });
  });

  await step('sign in to the dashboard', async () => {
    const link = await newOwner(env.srv, env.srv.merchantId, 'till@violet.example');
    await page.goto(link);
    await page.fill('#password', 'violet terminal tester');
    await page.fill('#confirm', 'violet terminal tester');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL(/done=password-set/);
  });

  await step('the terminal asks for a tip; pick 10%', async () => {
    await waitFor(async () => {
      await page.goto(`${env.srv.baseUrl}/dashboard/terminal`);
      return /Choose a tip/.test(await page.locator(`#terminal-${terminalId} .screen`).textContent());
    });
    const tip10 = page.locator(`#terminal-${terminalId} button[data-tip-level="2"]`);
    assert.match(await tip10.textContent(), /10% \(4\.00 752\)/);
    await tip10.click();
    await page.waitForURL(/done=terminal-tip/);
  });

  await step('present the test card', async () => {
    await waitFor(async () => {
      await page.goto(`${env.srv.baseUrl}/dashboard/terminal`);
      return /Present card/.test(await page.locator(`#terminal-${terminalId} .screen`).textContent());
    });
    await page.selectOption(`#card-${terminalId}`, 'MASTERCARD');
    await page.getByRole('button', { name: 'Present card' }).click();
    await page.waitForURL(/done=terminal-card/);
  });

  await step('the order is paid with the tip', async () => {
    await waitFor(async () => (await backend(env.srv, 'GET', `/orders/${orderId}/status`, bearer)).orderStatus === 'PAYMENT_COMPLETED', { timeoutMs: 20_000 });
    await page.goto(`${env.srv.baseUrl}/dashboard/orders/${orderId}`);
    assert.match(await page.locator('#order-status').textContent(), /PAYMENT_COMPLETED/);
  });

  await step('the receipt page shows the store branding and the tip', async () => {
    await page.locator('#receipts a').first().click();
    await page.waitForURL(/\/receipt\//);
    const text = await page.textContent('body');
    assert.match(text, /Violet Café/);
    assert.match(text, /44\.00 752/);
    assert.match(text, /Tip.*4\.00 752/s);
    assert.match(text, /MASTERCARD/);
    const colors = await page.evaluate(() => [...document.querySelectorAll('*')].map((e) => getComputedStyle(e).color)
      .concat([...document.querySelectorAll('*')].map((e) => getComputedStyle(e).backgroundColor)));
    assert.ok(colors.includes('rgb(122, 31, 162)'), `the brand colour ${brandColor} is used on the receipt`);
  });

  await ctx.close();
});
