// A real jeton for the SDK's tests: built from this repository, started on
// a free port with a fresh data folder, and the demo merchant that its
// first start prints. Plus what a merchant's backend does (mint tokens).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';

/** The repository root: sdk/js/test -> ../../.. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A Steam ID and its own trade URL (partner = SteamID64 - 76561197960265728). */
export const steamId = '76561198012345678';
export const tradeUrl = 'https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh';

const banner = {
  merchantId: /merchant ID\s+(\S+)/,
  partnerId: /partner ID\s+(\S+)/,
  apiKey: /API key\s+(\S+)/,
  apiSecret: /API secret\s+(\S+)/,
  providerId: /provider ID\s+(\S+)/,
  providerCertificate: /provider certificate\s+(\S+)/,
};

/**
 * Builds and starts jeton; resolves once it listens and the demo merchant
 * is known. Always call stop(), also when a test failed.
 */
export async function startJeton({ timeoutMs = 240_000 } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'jeton-sdk-test-'));
  // JETON_BIN: test a jeton built elsewhere instead of building one here.
  const bin = process.env.JETON_BIN ? resolve(process.env.JETON_BIN) : join(dir, 'jeton');
  if (!process.env.JETON_BIN) {
    await promisify(execFile)('go', ['build', '-buildvcs=false', '-o', bin, './cmd/jeton'], {
      cwd: repoRoot,
      timeout: timeoutMs,
      maxBuffer: 16 << 20,
    }).catch(async (e) => {
      await rm(dir, { recursive: true, force: true });
      throw e;
    });
  }
  const child = spawn(
    bin,
    ['serve', '--data', join(dir, 'data'), '--addr', '127.0.0.1:0', '--log-format', 'json',
      '--sandbox-accept-after', '500ms', '--sandbox-terminal-after', '200ms'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stopped = new Promise((r) => child.once('exit', r));
  // Should this process end without stop() (a crash, a timeout), take
  // the server along.
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  let out = '';
  let err = '';
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await stopped;
      clearTimeout(t);
    }
    process.off('exit', orphan);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const info = await new Promise((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`jeton did not start in 30 s:\n${err}`)), 30_000);
      const check = () => {
        const addr = /"msg":"jeton listening","addr":"([^"]+)"/.exec(err)?.[1];
        const found = Object.fromEntries(Object.entries(banner).map(([k, re]) => [k, re.exec(out)?.[1]]));
        if (addr && Object.values(found).every(Boolean)) {
          clearTimeout(t);
          ok({ baseUrl: `http://${addr}`, ...found });
        }
      };
      child.stdout.on('data', (d) => { out += d; check(); });
      child.stderr.on('data', (d) => { err += d; check(); });
      child.once('exit', (code) => { clearTimeout(t); fail(new Error(`jeton exited (${code}):\n${err}`)); });
    });
    // bin and dataDir let other suites (the browser tests) run the CLI on
    // the same store.
    return { ...info, bin, dataDir: join(dir, 'data'), stop, log: () => err };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** fetch with a time limit, JSON in and out: the merchant backend's calls. */
export async function backend(srv, method, path, { headers = {}, body } = {}) {
  const res = await fetch(srv.baseUrl + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

/** The SagaPay merchant-credential headers. */
export const sagaHeaders = (srv) => ({ 'API-KEY': srv.apiKey, 'API-SECRET': srv.apiSecret, 'MERCHANT-ID': srv.merchantId });

/** An AssetPay client token from POST /auth/authenticate-client (option 1). */
export async function assetPayToken(srv, clientId = 'user-123') {
  const d = await backend(srv, 'POST', '/auth/authenticate-client', {
    headers: { 'api-key': srv.apiKey },
    body: { clientSteamId: steamId, clientTradeUrl: tradeUrl, clientId },
  });
  return d.token;
}

/** A SagaPay client token from POST /partners/{partnerId}/token, as {token, expiresAt}. */
export async function sagaPayToken(srv, externalUserId = 'user-123') {
  const asked = Date.now();
  const d = await backend(srv, 'POST', `/partners/${srv.partnerId}/token`, {
    headers: sagaHeaders(srv),
    body: { providerId: srv.providerId, providerCertificate: srv.providerCertificate, externalUserId },
  });
  return { token: d.token, expiresAt: asked + Number(d.validUntil) * 1000 };
}

/**
 * A token signed locally with the API secret (option 2), valid or not:
 * iat and exp are Unix seconds. sagapay: a SagaPay token for that user.
 */
export function mintLocal(srv, { iat, exp, sagapay }) {
  const claims = sagapay
    ? { sagapay: { externalUserId: sagapay, providerId: srv.providerId } }
    : { client: { steamID: steamId, tradeUrl, clientId: 'user-123' } };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', userId: srv.merchantId })
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(srv.apiSecret));
}

/** Calls fn until it returns something truthy, at most timeoutMs. */
export async function waitFor(fn, { timeoutMs = 15_000, everyMs = 100 } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A fetch that records each answer's status and error key. */
export function recordingFetch() {
  const calls = [];
  const f = async (input, init) => {
    const res = await fetch(input, init);
    const body = await res.clone().json().catch(() => ({}));
    calls.push({ url: String(input), status: res.status, key: body?.error?.key ?? body?.key });
    return res;
  };
  return { fetch: f, calls };
}
