/**
 * jeton's browser and Node SDK: calls the client routes of both surfaces
 * (AssetPay `/client/*`, SagaPay orders, payments, ...) with a client token
 * that the merchant's backend hands out through `getToken()`.
 *
 * One file, no dependencies and no runtime imports, so `dist/jeton.js` can
 * be served as is and imported by a browser without a bundler.
 *
 * @packageDocumentation
 */
/**
 * An error answer of either surface, or a failure to get one.
 *
 * Branch on `key`, never on `message`: keys are stable (docs/errors.md).
 * Besides the vendors' keys the SDK uses `NETWORK_ERROR`, `TIMEOUT` and
 * `BAD_RESPONSE` (no envelope in the answer); errors thrown by `getToken`
 * are passed through unchanged.
 */
export class JetonError extends Error {
    /** Stable key, e.g. `TOKEN_EXPIRED`, `MERCHANT_BALANCE_LOW`, `ORDER_NOT_FOUND`. */
    key;
    /** AssetPay's numeric code (e.g. 12); absent on SagaPay answers. */
    code;
    /** HTTP status; 0 when no answer arrived. */
    status;
    /** jeton's request id (body or `X-Request-Id`), for its logs. */
    requestId;
    /** VALIDATION_FAILED on AssetPay: dotted field path to its reason. */
    fields;
    /** Extra facts, e.g. the current price of `PRICE_CHANGED`. */
    details;
    constructor(init) {
        super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
        this.name = 'JetonError';
        this.key = init.key;
        this.status = init.status;
        this.code = init.code;
        this.requestId = init.requestId;
        this.fields = init.fields;
        this.details = init.details;
    }
}
/** True when `err` is a {@link JetonError} (with that `key`, if given). */
export function isJetonError(err, key) {
    return err instanceof JetonError && (key === undefined || err.key === key);
}
/** Reads a JWT's payload without verifying it: only to learn `exp`/`iat`. */
function jwtClaims(token) {
    const part = token.split('.')[1];
    if (!part)
        return {};
    try {
        const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
        const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
        const json = new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
        const claims = JSON.parse(json);
        return typeof claims === 'object' && claims !== null ? claims : {};
    }
    catch {
        return {};
    }
}
/** One surface's token: cached, refreshed early, one fetch in flight. */
class TokenCache {
    fetchToken;
    marginMs;
    held;
    inFlight;
    constructor(fetchToken, marginMs) {
        this.fetchToken = fetchToken;
        this.marginMs = marginMs;
    }
    /**
     * The token to send now; fetches a new one when it is due. If that
     * fetch fails while the old token has not expired yet, the old one is
     * still good to use: a backend hiccup should not fail the user's call.
     */
    async get() {
        const h = this.held;
        if (h && Date.now() < h.refreshAt)
            return h.token;
        try {
            return await this.refresh();
        }
        catch (err) {
            if (h && this.held === h && Date.now() < h.expiresAt)
                return h.token;
            throw err;
        }
    }
    /** Drops `bad` if it is still the cached one: the server refused it. */
    invalidate(bad) {
        if (this.held?.token === bad)
            this.held = undefined;
    }
    refresh() {
        // Concurrent callers share one getToken() call.
        if (!this.inFlight) {
            const p = (async () => {
                const fetchedAt = Date.now();
                this.held = this.hold(await this.fetchToken(), fetchedAt);
                return this.held.token;
            })();
            this.inFlight = p;
            // Cleared once settled (even when getToken threw before any await).
            p.then(() => this.settled(p), () => this.settled(p));
        }
        return this.inFlight;
    }
    settled(p) {
        if (this.inFlight === p)
            this.inFlight = undefined;
    }
    hold(r, fetchedAt) {
        const token = typeof r === 'string' ? r : r?.token;
        if (typeof token !== 'string' || token === '') {
            throw new TypeError('jeton: getToken() must return a token string or {token, expiresAt}');
        }
        const claims = jwtClaims(token);
        let expiresAt = Infinity;
        if (typeof r !== 'string') {
            expiresAt = new Date(r.expiresAt).getTime();
            if (Number.isNaN(expiresAt))
                throw new TypeError('jeton: getToken() returned an invalid expiresAt');
        }
        else if (typeof claims.exp === 'number') {
            expiresAt = claims.exp * 1000;
        }
        // The life is measured from iat when the token has one: a token the
        // backend cached for a while has less left than it seems.
        const issuedAt = typeof claims.iat === 'number' ? Math.min(claims.iat * 1000, fetchedAt) : fetchedAt;
        const margin = Math.min(this.marginMs, Math.max(0, expiresAt - issuedAt) / 10);
        return { token, expiresAt, refreshAt: expiresAt - margin };
    }
}
/**
 * A client of jeton's browser routes on behalf of one end user.
 *
 * ```ts
 * const jeton = new Jeton({
 *   baseUrl: 'https://pay.example.com',
 *   getToken: async ({ surface }) => (await fetch(`/my-backend/jeton-token?surface=${surface}`)).text(),
 * });
 * const { inventory } = await jeton.inventory({ game: '730', acceptedOnly: true });
 * ```
 */
export class Jeton {
    baseUrl;
    fetchFn;
    timeoutMs;
    tokens;
    constructor(opts) {
        if (!opts?.baseUrl)
            throw new TypeError('jeton: baseUrl is required');
        if (typeof opts.getToken !== 'function')
            throw new TypeError('jeton: getToken is required');
        this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
        // Bound to globalThis: browsers refuse a detached `fetch` call.
        this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
        this.timeoutMs = opts.timeoutMs ?? 30_000;
        const margin = opts.refreshMarginMs ?? 60_000;
        const cache = (surface) => new TokenCache(() => opts.getToken({ surface }), margin);
        this.tokens = { assetpay: cache('assetpay'), sagapay: cache('sagapay') };
    }
    // ---- AssetPay (`/client/*`, an AssetPay client token) ----
    /** The token's client: Steam ID, trade URL, expiry, warnings. */
    me() {
        return this.call('assetpay', 'GET', '/client/me');
    }
    /** The user's Steam inventory with jeton's offers. */
    inventory(query) {
        return this.call('assetpay', 'GET', '/client/inventory', { query });
    }
    /** Market listings the user may withdraw. */
    market(query) {
        return this.call('assetpay', 'GET', '/client/market', { query });
    }
    /** The listings of one item (by market hash name or listing id). */
    marketItem(query) {
        return this.call('assetpay', 'GET', '/client/market/item', { query });
    }
    /** Item names matching a search, for type-ahead. */
    marketSuggestions(query) {
        return this.call('assetpay', 'GET', '/client/market/suggestions', { query });
    }
    /** Starts a deposit of inventory items; the trade comes back INITIATED. */
    deposit(body) {
        return this.call('assetpay', 'POST', '/client/trading/deposit', { body });
    }
    /**
     * Starts a withdrawal of market listings; INITIATED until the merchant's
     * backend approves it through its callback URL.
     */
    withdraw(body) {
        return this.call('assetpay', 'POST', '/client/trading/withdraw', { body });
    }
    /** The user's trades, newest first. */
    trades(query) {
        return this.call('assetpay', 'GET', '/client/trades', { query });
    }
    /** One of the user's trades. */
    trade(id) {
        return this.call('assetpay', 'GET', `/client/trades/${seg(id)}`);
    }
    // ---- SagaPay (operational routes, a SagaPay client token) ----
    /** The token's user, merchant and expiry. */
    clientTokenMe() {
        return this.call('sagapay', 'GET', '/client-tokens/me');
    }
    /** Creates an order; with `controlFunctions.initiatePaymentsOptions` also its payment. */
    createOrder(body) {
        return this.call('sagapay', 'POST', '/orders', { body });
    }
    /** An order as created, with its adjustments and status. */
    getOrder(orderId) {
        return this.call('sagapay', 'GET', `/orders/${seg(orderId)}`);
    }
    /** Replaces an order's lines while nothing is paid. */
    updateOrder(orderId, body) {
        return this.call('sagapay', 'PUT', `/orders/${seg(orderId)}`, { body });
    }
    /** Cancels an order that is not paid. */
    cancelOrder(orderId) {
        return this.call('sagapay', 'DELETE', `/orders/${seg(orderId)}`);
    }
    /** An order's status with its payments and transactions. */
    orderStatus(orderId) {
        return this.call('sagapay', 'GET', `/orders/${seg(orderId)}/status`);
    }
    /** Tips and other adjustments made to an order between two dates (yyyy-mm-dd). */
    orderAdjustments(orderId, query) {
        return this.call('sagapay', 'GET', `/orders/${seg(orderId)}/adjustments`, { query });
    }
    /** Starts a payment of an order on its terminal. */
    initiatePayment(body) {
        return this.call('sagapay', 'POST', '/payments', { body });
    }
    /** A payment. */
    getPayment(paymentId) {
        return this.call('sagapay', 'GET', `/payments/${seg(paymentId)}`);
    }
    /** A payment's status (poll it, or let the backend take the webhook). */
    paymentStatus(paymentId) {
        return this.call('sagapay', 'GET', `/payments/${seg(paymentId)}/status`);
    }
    /** Cancels a payment the terminal has not completed. */
    cancelPayment(paymentId) {
        return this.call('sagapay', 'DELETE', `/payments/${seg(paymentId)}`);
    }
    /**
     * The user's transactions, 100 a page, newest first; `page` (from 1) is
     * sent as Surfboard's `X-PAGE-NUMBER` header.
     */
    transactions(query) {
        const { page, ...rest } = query ?? {};
        const headers = page === undefined ? {} : { 'X-PAGE-NUMBER': String(page) };
        return this.call('sagapay', 'GET', '/transactions', { query: rest, headers });
    }
    /** Tip settings of the merchant, or of one of its stores or terminals. */
    getTips(merchantId, at) {
        return this.call('sagapay', 'GET', `${merchantPath(merchantId, at)}/tips`);
    }
    /** Branding of the merchant, or of one of its stores or terminals. */
    getBranding(merchantId, at) {
        return this.call('sagapay', 'GET', `${merchantPath(merchantId, at)}/branding`);
    }
    /** The address of a transaction's receipt page. */
    receiptLink(transactionId) {
        return this.call('sagapay', 'GET', `/receipts/${seg(transactionId)}/link`);
    }
    // ---- transport ----
    /**
     * Sends one request with the surface's token and unwraps the envelope.
     * On `TOKEN_EXPIRED` (the clock of this device may be behind, or the
     * token was cached elsewhere) it fetches a new token and tries once more.
     */
    async call(surface, method, path, c = {}) {
        const tokens = this.tokens[surface];
        for (let attempt = 0;; attempt++) {
            const token = await tokens.get();
            try {
                return await this.send(method, path, token, c);
            }
            catch (err) {
                if (attempt === 0 && isJetonError(err, 'TOKEN_EXPIRED')) {
                    tokens.invalidate(token);
                    continue;
                }
                throw err;
            }
        }
    }
    async send(method, path, token, c) {
        const headers = { Accept: 'application/json', Authorization: `Bearer ${token}`, ...c.headers };
        const init = { method, headers, signal: AbortSignal.timeout(this.timeoutMs) };
        if (c.body !== undefined) {
            headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(c.body);
        }
        let res;
        let text;
        try {
            res = await this.fetchFn(this.baseUrl + path + queryString(c.query), init);
            text = await res.text();
        }
        catch (err) {
            const timeout = err?.name === 'TimeoutError';
            throw new JetonError({
                key: timeout ? 'TIMEOUT' : 'NETWORK_ERROR',
                message: timeout ? `jeton: no answer within ${this.timeoutMs} ms` : `jeton: ${method} ${path} failed: ${String(err)}`,
                status: 0,
                cause: err,
            });
        }
        let body;
        try {
            body = text ? JSON.parse(text) : undefined;
        }
        catch {
            body = undefined;
        }
        // AssetPay says success: true, SagaPay status: "SUCCESS".
        if (res.ok && body && (body.success === true || body.status === 'SUCCESS'))
            return body.data;
        throw errorOf(res, body);
    }
}
function errorOf(res, body) {
    const requestId = body?.requestId ?? res.headers.get('X-Request-Id') ?? undefined;
    const e = body?.error;
    const key = e?.key ?? body?.key;
    if (!key) {
        return new JetonError({
            key: 'BAD_RESPONSE',
            message: `jeton: HTTP ${res.status} without an error envelope`,
            status: res.status,
            requestId,
        });
    }
    return new JetonError({
        key,
        message: e?.message ?? body?.message ?? `HTTP ${res.status}`,
        status: res.status,
        code: e?.code,
        requestId,
        fields: e?.fields,
        details: e?.details,
    });
}
function seg(id) {
    return encodeURIComponent(id);
}
function merchantPath(merchantId, at) {
    let p = `/merchants/${seg(merchantId)}`;
    if (at)
        p += `/stores/${seg(at.storeId)}`;
    if (at?.terminalId)
        p += `/terminals/${seg(at.terminalId)}`;
    return p;
}
function queryString(q) {
    if (!q)
        return '';
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(q))
        if (v !== undefined && v !== null)
            s.append(k, String(v));
    const out = s.toString();
    return out ? `?${out}` : '';
}
