/**
 * Attachment requests through the proxy (spec/proxy.md#attachments): the client sends the provider's
 * upload or download URL's path and query to the proxy's origin; the proxy sends the same method,
 * path, query, headers and body upstream with its own proxy token, and streams the answer back.
 * Bodies flow through with backpressure and are never held whole.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream';
import { LOGIN_HEADER } from './login.ts';
import { PROXY_HEADER } from './token.ts';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy's own, never forwarded as they came. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  LOGIN_HEADER,
  PROXY_HEADER,
]);

function forwardedHeaders(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !NOT_FORWARDED.has(name)) out[name] = value;
  return out;
}

/** Where the provider's HTTP endpoints are, and how to reach them. */
export interface HttpUpstream {
  /** `http://host:port` or `https://host:port`, the origin of the upstream WebSocket URL. */
  readonly origin: string;
  /** Extra CA certificates to trust upstream (a test provider's self-signed certificate). */
  readonly ca?: string | Buffer;
}

/** Error answers of the proxy itself, in the registry's JSON shape. */
export function answer(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ code, message }));
}

/** Streams `req` to the provider with `token` as its `Parley-Proxy`, and the answer back to `res`. */
export function forwardRequest(
  upstream: HttpUpstream,
  req: IncomingMessage,
  res: ServerResponse,
  token: string,
): void {
  const url = new URL(req.url ?? '/', upstream.origin);
  const secure = url.protocol === 'https:';
  const headers = { ...forwardedHeaders(req.headers), [PROXY_HEADER]: token };
  const out = (secure ? httpsRequest : httpRequest)(url, {
    method: req.method,
    headers,
    ...(secure && upstream.ca ? { ca: upstream.ca } : {}),
  });
  out.on('response', (back) => {
    const headersBack: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(back.headers))
      if (value !== undefined && !NOT_FORWARDED.has(name)) headersBack[name] = value;
    res.writeHead(back.statusCode ?? 502, back.statusMessage, headersBack);
    pipeline(back, res, () => undefined);
  });
  out.on('error', () => answer(res, 503, 'UNAVAILABLE', 'the provider cannot be reached'));
  // A client that goes stops the upstream request too: nothing is kept for it.
  res.on('close', () => {
    if (!res.writableFinished) out.destroy();
  });
  pipeline(req, out, () => undefined);
}
