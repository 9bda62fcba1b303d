// The SDK against a real jeton server (built from this repository): both
// surfaces, typed errors, and the token life cycle.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Jeton, JetonError, isJetonError } from '../dist/jeton.js';
import {
  assetPayToken, backend, mintLocal, recordingFetch, sagaHeaders, sagaPayToken, startJeton, steamId, waitFor,
} from './server.mjs';

const T = { timeout: 60_000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowS = () => Math.floor(Date.now() / 1000);

/** Asserts that p rejects with a JetonError of that key; returns it. */
async function rejectsWith(p, key) {
  const err = await p.then(() => assert.fail(`expected ${key}`), (e) => e);
  assert.ok(err instanceof JetonError, `not a JetonError: ${err}`);
  assert.equal(err.key, key, err.message);
  return err;
}

let srv;
before(async () => { srv = await startJeton(); }, { timeout: 300_000 });
after(async () => { await srv?.stop(); });

describe('AssetPay', () => {
  let jeton;
  let getTokenCalls = 0;
  before(() => {
    jeton = new Jeton({
      baseUrl: srv.baseUrl + '/', // a trailing slash is fine
      getToken: async ({ surface }) => {
        assert.equal(surface, 'assetpay');
        getTokenCalls++;
        return assetPayToken(srv);
      },
      timeoutMs: 15_000,
    });
  });

  it('me describes the token, fetched once and reused', T, async () => {
    const me = await jeton.me();
    assert.equal(me.steamID, steamId);
    assert.equal(me.merchantId, srv.merchantId);
    assert.equal(me.clientId, 'user-123');
    assert.ok(me.expiresIn > 3600);
    await jeton.me();
    assert.equal(getTokenCalls, 1);
  });

  it('inventory, market, marketItem and marketSuggestions', T, async () => {
    const inv = await jeton.inventory({ game: '730', acceptedOnly: true, perPage: 3 });
    assert.equal(inv.inventory.length, 3);
    assert.ok(inv.count >= 3);
    assert.ok(inv.inventory.every((i) => i.accepted && i.offer.reference));

    const market = await jeton.market({ game: '730', sort: 'priceAsc', perPage: 2 });
    assert.equal(market.items.length, 2);
    assert.ok(market.items[0].offer.price <= market.items[1].offer.price);

    const sugg = await jeton.marketSuggestions({ q: 'redline' });
    assert.ok(sugg.length > 0);
    const listings = await jeton.marketItem({ itemId: sugg[0].id, perPage: 5 });
    assert.ok(listings.length > 0);
    assert.ok(listings.every((l) => l.marketHashName === sugg[0].marketHashName));
  });

  it('deposit, trades and trade', T, async () => {
    const inv = await jeton.inventory({ acceptedOnly: true, sort: 'priceAsc', perPage: 1 });
    const item = inv.inventory[0];
    const trade = await jeton.deposit({
      items: [{ itemId: item.id, offer: { price: item.offer.price, reference: item.offer.reference } }],
      externalId: 'sdk-deposit-1',
    });
    assert.equal(trade.type, 'DEPOSIT');
    assert.equal(trade.status, 'INITIATED');
    assert.equal(trade.externalId, 'sdk-deposit-1');

    const { trades, count } = await jeton.trades({ type: 'DEPOSIT' });
    assert.ok(count >= 1);
    assert.ok(trades.some((t) => t.id === trade.id));
    const again = await jeton.trade(trade.id);
    assert.equal(again.id, trade.id);
  });

  it('errors are JetonErrors with the vendor key, code, status and request id', T, async () => {
    let e = await rejectsWith(jeton.deposit({ items: [] }), 'MISSING_ITEMS');
    assert.equal(e.code, 2);
    assert.equal(e.status, 400);
    assert.match(e.requestId, /^[0-9a-f-]{36}$/);

    e = await rejectsWith(jeton.deposit({ items: [{ itemId: 'x' }], tradeUrl: 'nope' }), 'VALIDATION_FAILED');
    assert.equal(e.code, 1001);
    assert.ok(e.fields && Object.keys(e.fields).length > 0, JSON.stringify(e.fields));

    e = await rejectsWith(jeton.trade('no-such-trade'), 'TRADE_NOT_FOUND');
    assert.equal(e.status, 404);
    assert.ok(isJetonError(e, 'TRADE_NOT_FOUND'));
    assert.ok(!isJetonError(new Error('x')));

    // No callback URL yet: jeton cannot ask the merchant to approve.
    const [l] = (await jeton.market({ perPage: 1 })).items;
    const offer = { price: l.offer.price, reference: l.offer.reference };
    e = await rejectsWith(jeton.withdraw({ items: [{ itemId: l.id, market: l.market, offer }] }), 'MERCHANT_NO_CALLBACK_URL');
    assert.equal(e.code, 3014);
  });

  it('withdraw: the merchant backend approves through its callback URL', T, async () => {
    const events = [];
    const cb = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        try { events.push(JSON.parse(body)); } catch { /* not JSON */ }
        res.setHeader('Content-Type', 'application/json');
        res.end('{}'); // any 2xx approves
      });
    });
    await new Promise((r) => cb.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${cb.address().port}/callback`;
      await backend(srv, 'PUT', '/secure/callback-url', { headers: { 'api-key': srv.apiKey }, body: { url } });

      const [l] = (await jeton.market({ game: '730', sort: 'priceAsc', perPage: 1 })).items;
      const offer = { price: l.offer.price, reference: l.offer.reference };
      const trade = await jeton.withdraw({ items: [{ itemId: l.id, market: l.market, offer }], externalId: 'sdk-withdraw-1' });
      assert.equal(trade.type, 'WITHDRAW');
      assert.equal(trade.status, 'INITIATED');

      const moved = await waitFor(async () => {
        const t = await jeton.trade(trade.id);
        return t.status !== 'INITIATED' && t;
      });
      assert.ok(['PENDING', 'ACTIVE', 'HOLD', 'COMPLETED'].includes(moved.status), moved.status);
      assert.ok(events.some((e) => e.payload?.event === 'INITIATED' && e.payload.trade?.id === trade.id),
        JSON.stringify(events.map((e) => e.payload?.event ?? e)));
    } finally {
      await new Promise((r) => cb.close(r));
    }
  });
});

describe('client tokens', () => {
  it('refreshes before expiry, not after', { timeout: 30_000 }, async () => {
    // An 8 s token: refreshed in its last tenth (0.8 s), so a call 0.4 s
    // before expiry must use a new one while the old one still works.
    const got = [];
    const jeton = new Jeton({
      baseUrl: srv.baseUrl,
      getToken: async () => {
        const iat = nowS();
        got.push({ at: Date.now(), exp: iat + 8 });
        return mintLocal(srv, { iat, exp: iat + 8 });
      },
    });
    const first = await jeton.me();
    assert.equal(got.length, 1);
    await jeton.me();
    assert.equal(got.length, 1, 'a fresh token is reused');

    await sleep(got[0].exp * 1000 - 400 - Date.now());
    const second = await jeton.me();
    assert.equal(got.length, 2, 'getToken was called again');
    assert.ok(got[1].at < got[0].exp * 1000, 'before the first token expired');
    assert.notEqual(second.expiresAt, first.expiresAt, 'the call used the new token');
  });

  it('concurrent calls share one getToken', T, async () => {
    let calls = 0;
    const jeton = new Jeton({
      baseUrl: srv.baseUrl,
      getToken: async () => {
        calls++;
        await sleep(200);
        return assetPayToken(srv);
      },
    });
    const all = await Promise.all(Array.from({ length: 5 }, () => jeton.me()));
    assert.equal(all.length, 5);
    assert.equal(calls, 1);
  });

  it('on TOKEN_EXPIRED it gets a new token and retries exactly once', T, async () => {
    const rec = recordingFetch();
    let calls = 0;
    const jeton = new Jeton({
      baseUrl: srv.baseUrl,
      fetch: rec.fetch,
      // First an expired but validly signed token (say the backend cached
      // it, or this device's clock is behind), then a good one.
      getToken: async () => (++calls === 1
        ? mintLocal(srv, { iat: nowS() - 120, exp: nowS() - 60 })
        : assetPayToken(srv)),
    });
    const me = await jeton.me();
    assert.equal(me.steamID, steamId);
    assert.equal(calls, 2);
    assert.deepEqual(rec.calls.map((c) => [c.status, c.key]), [[401, 'TOKEN_EXPIRED'], [200, undefined]]);
  });

  it('a second TOKEN_EXPIRED is thrown, not retried again', T, async () => {
    const rec = recordingFetch();
    let calls = 0;
    const jeton = new Jeton({
      baseUrl: srv.baseUrl,
      fetch: rec.fetch,
      getToken: async () => { calls++; return mintLocal(srv, { iat: nowS() - 120, exp: nowS() - 60 }); },
    });
    const e = await rejectsWith(jeton.me(), 'TOKEN_EXPIRED');
    assert.equal(e.code, 1111);
    assert.equal(e.status, 401);
    assert.equal(calls, 2);
    assert.equal(rec.calls.length, 2);
  });

  it('other token errors are not retried', T, async () => {
    const rec = recordingFetch();
    let calls = 0;
    const jeton = new Jeton({
      baseUrl: srv.baseUrl,
      fetch: rec.fetch,
      getToken: () => { calls++; return 'not-a-jwt'; },
    });
    await rejectsWith(jeton.me(), 'TOKEN_MALFORMED');
    assert.equal(calls, 1);
    assert.equal(rec.calls.length, 1);
  });

  it('a getToken failure reaches the caller unchanged, and the next call asks again', T, async () => {
    const boom = new Error('backend down');
    let calls = 0;
    const jeton = new Jeton({
      baseUrl: srv.baseUrl,
      getToken: () => {
        if (++calls === 1) throw boom; // synchronously, even
        return assetPayToken(srv);
      },
    });
    await assert.rejects(jeton.me(), (e) => e === boom);
    assert.equal((await jeton.me()).steamID, steamId);
    assert.equal(calls, 2);
  });

  it('a failed refresh keeps using the token while it is still valid', T, async () => {
    // Due for refresh at once (30 s left of 630 s is inside the 60 s
    // margin), but the backend is down: the call still goes through.
    let calls = 0;
    const jeton = new Jeton({
      baseUrl: srv.baseUrl,
      getToken: async () => {
        if (++calls > 1) throw new Error('backend down');
        return mintLocal(srv, { iat: nowS() - 600, exp: nowS() + 30 });
      },
    });
    await jeton.me();
    assert.equal((await jeton.me()).steamID, steamId);
    assert.equal(calls, 2);
  });

  it('a server that does not answer: TIMEOUT', T, async () => {
    const hang = createServer(() => {});
    await new Promise((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const jeton = new Jeton({ baseUrl: `http://127.0.0.1:${hang.address().port}`, getToken: () => 'x.y.z', timeoutMs: 300 });
      const e = await rejectsWith(jeton.me(), 'TIMEOUT');
      assert.equal(e.status, 0);
    } finally {
      hang.closeAllConnections();
      await new Promise((r) => hang.close(r));
    }
  });

  it('no server: NETWORK_ERROR with status 0', T, async () => {
    const closed = createServer();
    await new Promise((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address();
    await new Promise((r) => closed.close(r)); // nobody listens there now
    const jeton = new Jeton({ baseUrl: `http://127.0.0.1:${port}`, getToken: () => 'x.y.z', timeoutMs: 5_000 });
    const e = await rejectsWith(jeton.me(), 'NETWORK_ERROR');
    assert.equal(e.status, 0);
  });
});

describe('SagaPay', () => {
  let jeton;
  let terminalId;
  before(async () => {
    // The merchant backend's one-time setup: a store and a sandbox terminal.
    const h = { headers: sagaHeaders(srv) };
    const store = await backend(srv, 'POST', `/partners/${srv.partnerId}/merchants/${srv.merchantId}/stores`, {
      ...h,
      body: {
        storeName: 'Kiosk', phoneNumber: { code: '+46', number: '701234567' },
        address: { addressLine1: 'Drottninggatan 1', city: 'Stockholm', countryCode: 'SE', postalCode: '111 51' },
      },
    });
    const term = await backend(srv, 'POST', `/merchants/${srv.merchantId}/stores/${store.storeId}/devices`, {
      ...h, body: { registrationIdentifier: '123456' },
    });
    terminalId = term.terminalId;
    // One client for both surfaces: getToken is told which kind to fetch.
    jeton = new Jeton({
      baseUrl: srv.baseUrl,
      getToken: ({ surface }) => (surface === 'sagapay' ? sagaPayToken(srv, 'user-42') : assetPayToken(srv)),
      timeoutMs: 15_000,
    });
  }, T);

  const order = () => ({
    'terminal$id': terminalId,
    referenceId: 'receipt-1001',
    orderLines: [{ id: '1', name: 'Coffee', quantity: 1, amount: { regular: 4500, total: 4500, currency: '752' } }],
    totalOrderAmount: { regular: 4500, total: 4500, currency: '752' },
  });

  it('clientTokenMe', T, async () => {
    const me = await jeton.clientTokenMe();
    assert.equal(me.externalUserId, 'user-42');
    assert.equal(me.merchantId, srv.merchantId);
    // The same client also holds an AssetPay token for AssetPay routes.
    assert.equal((await jeton.me()).steamID, steamId);
  });

  it('createOrder, getOrder, orderStatus, updateOrder, cancelOrder', T, async () => {
    const { orderId } = await jeton.createOrder(order());
    assert.ok(orderId);
    const got = await jeton.getOrder(orderId);
    assert.equal(got.referenceId, 'receipt-1001');
    let st = await jeton.orderStatus(orderId);
    assert.equal(st.orderStatus, 'PENDING');

    await jeton.updateOrder(orderId, { ...order(), referenceId: 'receipt-1002' });
    assert.equal((await jeton.getOrder(orderId)).referenceId, 'receipt-1002');
    await jeton.cancelOrder(orderId);
    st = await jeton.orderStatus(orderId);
    assert.equal(st.orderStatus, 'CANCELLED');
  });

  it('initiatePayment to PAYMENT_COMPLETED, transactions, receiptLink', T, async () => {
    const { orderId } = await jeton.createOrder(order());
    const { paymentId } = await jeton.initiatePayment({ orderId, paymentMethod: 'CARD' });
    const done = await waitFor(async () => {
      const s = await jeton.paymentStatus(paymentId);
      return s.paymentStatus === 'PAYMENT_COMPLETED' && s;
    });
    assert.ok(done.transactionId);
    const payment = await jeton.getPayment(paymentId);
    assert.equal(payment.paymentId, paymentId);
    assert.equal(payment.paymentStatus, 'PAYMENT_COMPLETED');
    assert.equal((await jeton.orderStatus(orderId)).orderStatus, 'PAYMENT_COMPLETED');
    const day = (d) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
    assert.ok(Array.isArray(await jeton.orderAdjustments(orderId, { startDate: day(-1), endDate: day(1) })));

    const txs = await jeton.transactions({ page: 1 });
    assert.ok(txs.some((t) => t.transactionId === done.transactionId), JSON.stringify(txs));
    const { receiptURL } = await jeton.receiptLink(done.transactionId);
    assert.match(receiptURL, /\/receipt\//);
  });

  it('errors carry the key and status, without an AssetPay code', T, async () => {
    const e = await rejectsWith(jeton.getOrder('no-such-order'), 'ORDER_NOT_FOUND');
    assert.equal(e.status, 404);
    assert.equal(e.code, undefined);
    assert.match(e.requestId, /^[0-9a-f-]{36}$/, 'from the X-Request-Id header');
    const half = { regular: 4500.5, total: 4500.5, currency: '752' };
    const bad = await rejectsWith(jeton.createOrder({ ...order(), totalOrderAmount: half }), 'VALIDATION_FAILED');
    assert.equal(bad.status, 400);
  });

  it('tips and branding are readable with a client token', T, async () => {
    const tips = await jeton.getTips(srv.merchantId);
    assert.equal(typeof tips, 'object');
    const branding = await jeton.getBranding(srv.merchantId);
    assert.equal(typeof branding, 'object');
  });

  it('an expired SagaPay token is refreshed once and retried', T, async () => {
    const rec = recordingFetch();
    let calls = 0;
    const saga = new Jeton({
      baseUrl: srv.baseUrl,
      fetch: rec.fetch,
      getToken: async () => (++calls === 1
        ? mintLocal(srv, { iat: nowS() - 120, exp: nowS() - 60, sagapay: 'user-42' })
        : sagaPayToken(srv, 'user-42')),
    });
    assert.equal((await saga.clientTokenMe()).externalUserId, 'user-42');
    assert.equal(calls, 2);
    assert.deepEqual(rec.calls.map((c) => [c.status, c.key]), [[401, 'TOKEN_EXPIRED'], [200, undefined]]);
  });
});
