// --token: every endpoint wants `Authorization: Bearer <token>`; the query API (and the web
// page) also takes the cookie that `/?token=<token>` sets, so a browser can use it.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'cpath_token';

export class TokenCheck {
  private readonly digest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.digest = token !== undefined && token !== '' ? hash(token) : undefined;
  }

  /** Compares digests in constant time (the token's length is not revealed either). */
  matches(candidate: string | undefined): boolean {
    if (!this.digest) return true;
    return candidate !== undefined && timingSafeEqual(hash(candidate), this.digest);
  }

  bearer(header: string | undefined): boolean {
    if (!this.digest) return true;
    const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
    return this.matches(m?.[1]?.trim());
  }

  /** Bearer header, or the cookie (query API only). */
  request(req: IncomingMessage, allowCookie: boolean): boolean {
    if (!this.digest) return true;
    if (this.bearer(req.headers.authorization)) return true;
    return allowCookie && this.matches(cookie(req.headers.cookie, TOKEN_COOKIE));
  }
}

function hash(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
