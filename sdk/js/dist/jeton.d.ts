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
import type { components, operations } from './openapi.js';
/** Every schema of jeton's OpenAPI document, e.g. `Schemas['Trade']`. */
export type Schemas = components['schemas'];
/** An AssetPay trade (deposit or withdrawal). */
export type Trade = Schemas['Trade'];
/** An inventory item or market listing. */
export type Item = Schemas['Item'];
/** A SagaPay payment. */
export type SagaPayment = Schemas['SagaPayment'];
/** A SagaPay transaction (one card attempt of a payment). */
export type SagaTransaction = Schemas['SagaTransaction'];
type Op = keyof operations;
type Json<R> = R extends {
    content: {
        'application/json': infer J;
    };
} ? J : never;
type Responses<K extends Op> = operations[K]['responses'];
type Success<K extends Op> = Json<Responses<K>[(200 | 201) & keyof Responses<K>]>;
/** The `data` of a route's success envelope, with the generated types. */
export type Data<K extends Op> = Success<K> extends {
    data?: infer D;
} ? D : never;
/** The query parameters of a route. */
export type Query<K extends Op> = NonNullable<operations[K]['parameters']['query']>;
/** The JSON body of a route. */
export type Body<K extends Op> = operations[K] extends {
    requestBody?: infer B;
} ? Json<NonNullable<B>> : never;
/** Which API a route belongs to; each needs its own kind of client token. */
export type Surface = 'assetpay' | 'sagapay';
/**
 * What `getToken` returns: the token alone (its JWT `exp` tells when it
 * expires), or the token with its expiry as a `Date`, epoch milliseconds or
 * an ISO string (for tokens whose payload you would rather not read).
 */
export type TokenResult = string | {
    token: string;
    expiresAt: Date | number | string;
};
/** Options of {@link Jeton}. */
export interface JetonOptions {
    /** Where jeton answers, e.g. `https://pay.example.com` (no trailing path). */
    baseUrl: string;
    /**
     * Fetches a fresh client token from your backend, which mints it with its
     * API credentials. Called on the first request of a surface, shortly
     * before the token expires, and once more when jeton answers
     * `TOKEN_EXPIRED`; never twice at the same time for one surface.
     * `surface` says which kind is wanted: an AssetPay token
     * (`POST /auth/authenticate-client` or signed locally) or a SagaPay one
     * (`POST /partners/{partnerId}/token`).
     */
    getToken: (ctx: {
        surface: Surface;
    }) => TokenResult | Promise<TokenResult>;
    /** The fetch to use (default: the global one). */
    fetch?: typeof fetch;
    /**
     * Refresh this long before expiry at most (default 60 000 ms); never more
     * than a tenth of the token's life, so short tokens are not refreshed on
     * every call.
     */
    refreshMarginMs?: number;
    /** Per-request time limit in ms (default 30 000); then `TIMEOUT`. */
    timeoutMs?: number;
}
/**
 * An error answer of either surface, or a failure to get one.
 *
 * Branch on `key`, never on `message`: keys are stable (docs/errors.md).
 * Besides the vendors' keys the SDK uses `NETWORK_ERROR`, `TIMEOUT` and
 * `BAD_RESPONSE` (no envelope in the answer); errors thrown by `getToken`
 * are passed through unchanged.
 */
export declare class JetonError extends Error {
    /** Stable key, e.g. `TOKEN_EXPIRED`, `MERCHANT_BALANCE_LOW`, `ORDER_NOT_FOUND`. */
    readonly key: string;
    /** AssetPay's numeric code (e.g. 12); absent on SagaPay answers. */
    readonly code?: number;
    /** HTTP status; 0 when no answer arrived. */
    readonly status: number;
    /** jeton's request id (body or `X-Request-Id`), for its logs. */
    readonly requestId?: string;
    /** VALIDATION_FAILED on AssetPay: dotted field path to its reason. */
    readonly fields?: Record<string, string>;
    /** Extra facts, e.g. the current price of `PRICE_CHANGED`. */
    readonly details?: Record<string, unknown>;
    constructor(init: {
        key: string;
        message: string;
        status: number;
        code?: number;
        requestId?: string;
        fields?: Record<string, string>;
        details?: Record<string, unknown>;
        cause?: unknown;
    });
}
/** True when `err` is a {@link JetonError} (with that `key`, if given). */
export declare function isJetonError(err: unknown, key?: string): err is JetonError;
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
export declare class Jeton {
    private readonly baseUrl;
    private readonly fetchFn;
    private readonly timeoutMs;
    private readonly tokens;
    constructor(opts: JetonOptions);
    /** The token's client: Steam ID, trade URL, expiry, warnings. */
    me(): Promise<Data<'clientMe'>>;
    /** The user's Steam inventory with jeton's offers. */
    inventory(query?: Query<'clientInventory'>): Promise<Data<'clientInventory'>>;
    /** Market listings the user may withdraw. */
    market(query?: Query<'clientMarket'>): Promise<Data<'clientMarket'>>;
    /** The listings of one item (by market hash name or listing id). */
    marketItem(query: Query<'clientMarketItem'>): Promise<Data<'clientMarketItem'>>;
    /** Item names matching a search, for type-ahead. */
    marketSuggestions(query?: Query<'clientMarketSuggestions'>): Promise<Data<'clientMarketSuggestions'>>;
    /** Starts a deposit of inventory items; the trade comes back INITIATED. */
    deposit(body: Body<'clientDeposit'>): Promise<Data<'clientDeposit'>>;
    /**
     * Starts a withdrawal of market listings; INITIATED until the merchant's
     * backend approves it through its callback URL.
     */
    withdraw(body: Body<'clientWithdraw'>): Promise<Data<'clientWithdraw'>>;
    /** The user's trades, newest first. */
    trades(query?: Query<'clientTrades'>): Promise<Data<'clientTrades'>>;
    /** One of the user's trades. */
    trade(id: string): Promise<Data<'clientTrade'>>;
    /** The token's user, merchant and expiry. */
    clientTokenMe(): Promise<Data<'sagapayTokenMe'>>;
    /** Creates an order; with `controlFunctions.initiatePaymentsOptions` also its payment. */
    createOrder(body: Body<'sagapayCreateOrder'>): Promise<Data<'sagapayCreateOrder'>>;
    /** An order as created, with its adjustments and status. */
    getOrder(orderId: string): Promise<Data<'sagapayGetOrder'>>;
    /** Replaces an order's lines while nothing is paid. */
    updateOrder(orderId: string, body: Body<'sagapayUpdateOrder'>): Promise<Data<'sagapayUpdateOrder'>>;
    /** Cancels an order that is not paid. */
    cancelOrder(orderId: string): Promise<Data<'sagapayCancelOrder'>>;
    /** An order's status with its payments and transactions. */
    orderStatus(orderId: string): Promise<Data<'sagapayOrderStatus'>>;
    /** Tips and other adjustments made to an order between two dates (yyyy-mm-dd). */
    orderAdjustments(orderId: string, query: Query<'sagapayOrderAdjustments'>): Promise<Data<'sagapayOrderAdjustments'>>;
    /** Starts a payment of an order on its terminal. */
    initiatePayment(body: Body<'sagapayInitiatePayment'>): Promise<Data<'sagapayInitiatePayment'>>;
    /** A payment. */
    getPayment(paymentId: string): Promise<Data<'sagapayGetPayment'>>;
    /** A payment's status (poll it, or let the backend take the webhook). */
    paymentStatus(paymentId: string): Promise<Data<'sagapayPaymentStatus'>>;
    /** Cancels a payment the terminal has not completed. */
    cancelPayment(paymentId: string): Promise<Data<'sagapayCancelPayment'>>;
    /**
     * The user's transactions, 100 a page, newest first; `page` (from 1) is
     * sent as Surfboard's `X-PAGE-NUMBER` header.
     */
    transactions(query?: Query<'sagapayTransactions'> & {
        page?: number;
    }): Promise<Data<'sagapayTransactions'>>;
    /** Tip settings of the merchant, or of one of its stores or terminals. */
    getTips(merchantId: string, at?: {
        storeId: string;
        terminalId?: string;
    }): Promise<Data<'sagapayGetTipsMerchant'>>;
    /** Branding of the merchant, or of one of its stores or terminals. */
    getBranding(merchantId: string, at?: {
        storeId: string;
        terminalId?: string;
    }): Promise<Data<'sagapayGetBrandingMerchant'>>;
    /** The address of a transaction's receipt page. */
    receiptLink(transactionId: string): Promise<Data<'sagapayReceiptLink'>>;
    /**
     * Sends one request with the surface's token and unwraps the envelope.
     * On `TOKEN_EXPIRED` (the clock of this device may be behind, or the
     * token was cached elsewhere) it fetches a new token and tries once more.
     */
    private call;
    private send;
}
export {};
