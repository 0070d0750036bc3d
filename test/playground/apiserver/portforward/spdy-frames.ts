// SPDY/3.1 framing and header blocks (zlib with the SPDY/3 dictionary), for spdy.ts.
import zlib from 'node:zlib';

export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const PING = 6;
export const GOAWAY = 7;
export const HEADERS = 8;
export const FLAG_FIN = 0x01;
export const RST_REFUSED_STREAM = 3;
export const RST_CANCEL = 5;
export const GOAWAY_PROTOCOL_ERROR = 1;
export const MAX_FRAME_DATA = 0xffffff;

export interface Frame {
  control: boolean;
  version: number; // control frames
  type: number; // control frames
  streamId: number; // data frames
  flags: number;
  payload: Buffer;
}

/** The SPDY/3 header compression dictionary: length-prefixed names, then a raw tail. */
const DICTIONARY_NAMES = (
  'options, head, post, put, delete, trace, accept, accept-charset, accept-encoding, accept-language, ' +
  'accept-ranges, age, allow, authorization, cache-control, connection, content-base, content-encoding, ' +
  'content-language, content-length, content-location, content-md5, content-range, content-type, date, ' +
  'etag, expect, expires, from, host, if-match, if-modified-since, if-none-match, if-range, ' +
  'if-unmodified-since, last-modified, location, max-forwards, pragma, proxy-authenticate, ' +
  'proxy-authorization, range, referer, retry-after, server, te, trailer, transfer-encoding, upgrade, ' +
  'user-agent, vary, via, warning, www-authenticate, method, get, status, 200 OK, version, HTTP/1.1, ' +
  'url, public, set-cookie, keep-alive, origin'
).split(', ');
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_NAMES.map((n) => lengthPrefixed(Buffer.from(n))),
  Buffer.from(DICTIONARY_TAIL),
]);

function lengthPrefixed(data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

export function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Splits the connection's byte stream into frames (8-byte header, 24-bit length). */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUIntBE(5, 3);
      if (this.buffered.length < 8 + length) break;
      const first = this.buffered.readUInt32BE(0);
      const control = (this.buffered[0] & 0x80) !== 0;
      frames.push({
        control,
        version: control ? (first >>> 16) & 0x7fff : 0,
        type: control ? first & 0xffff : 0,
        streamId: control ? 0 : first & 0x7fffffff,
        flags: this.buffered[4],
        payload: this.buffered.subarray(8, 8 + length),
      });
      this.buffered = this.buffered.subarray(8 + length);
    }
    return frames;
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(0x8000 | 3, 0);
  header.writeUInt16BE(type, 2);
  header.writeUInt32BE(payload.length, 4);
  header[4] = flags;
  return Buffer.concat([header, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(streamId & 0x7fffffff, 0);
  header.writeUInt32BE(data.length, 4);
  header[4] = flags;
  return Buffer.concat([header, data]);
}

export function uint32s(...values: number[]): Buffer {
  const buf = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => buf.writeUInt32BE(v >>> 0, 4 * i));
  return buf;
}

export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const entries = Object.entries(headers);
  const parts = [uint32s(entries.length)];
  for (const [name, value] of entries)
    parts.push(lengthPrefixed(Buffer.from(name.toLowerCase())), lengthPrefixed(Buffer.from(value)));
  return Buffer.concat(parts);
}

/** Header names are lowercase on the wire; multiple values are NUL-separated (we keep them comma-joined). */
export function decodeHeaderBlock(block: Buffer): Map<string, string> {
  const headers = new Map<string, string>();
  let offset = 0;
  const take = (): Buffer => {
    if (offset + 4 > block.length) throw new Error('truncated header block');
    const length = block.readUInt32BE(offset);
    if (offset + 4 + length > block.length) throw new Error('truncated header block');
    offset += 4 + length;
    return block.subarray(offset - length, offset);
  };
  if (block.length < 4) throw new Error('truncated header block');
  const count = block.readUInt32BE(0);
  offset = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toString('latin1').toLowerCase();
    headers.set(name, take().toString('latin1').split('\0').join(','));
  }
  return headers;
}

/**
 * Outgoing header blocks as *stored* (uncompressed) deflate blocks in one zlib stream that
 * announces the SPDY dictionary. That is valid input for the peer's single inflate context,
 * and, unlike Node's asynchronous deflate, lets a SYN_REPLY be written synchronously ahead of
 * the stream's DATA frames. Header blocks here are a few bytes, so compression buys nothing.
 */
export class HeaderCompressor {
  private started = false;

  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      // CMF 0x78 (deflate, 32K window), FLG 0x20 (FDICT; 0x7820 % 31 == 0), then the dictionary id.
      parts.push(Buffer.of(0x78, 0x20), uint32s(adler32(SPDY_DICTIONARY)));
      this.started = true;
    }
    for (let offset = 0; offset < block.length; offset += 0xffff) {
      const chunk = block.subarray(offset, offset + 0xffff);
      const len = chunk.length;
      // BFINAL=0 BTYPE=00, padded to a byte; then LEN and its one's complement, little-endian.
      parts.push(Buffer.of(0x00, len & 0xff, len >> 8, ~len & 0xff, (~len >> 8) & 0xff), chunk);
    }
    // The empty stored block Z_SYNC_FLUSH ends with: Go's inflater hands out a block's bytes
    // only after reading the next block header, which must not be in the next frame.
    parts.push(Buffer.of(0x00, 0x00, 0x00, 0xff, 0xff));
    return Buffer.concat(parts);
  }
}

/** Incoming header blocks: one zlib context for the whole connection, flushed per block. */
export class HeaderDecompressor {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  private output: Buffer[] = [];

  constructor(onError: (err: Error) => void) {
    this.inflate.on('error', onError);
    // Flowing, so a large block cannot stall the transform at its highWaterMark.
    this.inflate.on('data', (chunk: Buffer) => this.output.push(chunk));
  }

  /** Callers wait for each block before passing the next (the output is not tagged by block). */
  decompress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.inflate.write(block);
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(this.output.splice(0))));
    });
  }

  close(): void {
    this.inflate.destroy();
  }
}
