// A small, bounded multipart/form-data reader (RFC 7578 / RFC 2046) for the
// legacy /ingest pprof form. The body is already in memory and size-checked,
// so this only splits it: parts are returned as views into `body`, no copies.
//
// Framing: CRLF line breaks as every real client sends (undici FormData, Go's
// mime/multipart, curl). A preamble before the first delimiter and an epilogue
// after the closing one are ignored. A "--boundary" inside part data that is
// not followed by "--" or optional whitespace + CRLF is data, not a delimiter.

import { IngestError, quoteInput } from './errors.js';

export interface MultipartLimits {
  /** Most parts accepted; one more is a 400. */
  maxParts: number;
  /** Most bytes in one part's data; more is a 413. */
  maxPartBytes: number;
}

/** Longest header block of one part; real clients send ~150 bytes. */
const MAX_PART_HEADER_BYTES = 16 * 1024;

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

function bad(why: string): never {
  throw new IngestError(400, `invalid multipart body: ${why}`, 'malformed_profile');
}

/**
 * Split a header value into its first token and its `;`-separated parameters
 * (names lower-cased; quoted values unquoted, honouring `\` escapes).
 */
export function parseHeaderParams(value: string): { token: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  let i = value.indexOf(';');
  const token = (i < 0 ? value : value.slice(0, i)).trim().toLowerCase();
  while (i >= 0 && i < value.length) {
    i++; // skip ';'
    const semi = value.indexOf(';', i);
    const segEnd = semi < 0 ? value.length : semi;
    // Look for '=' only up to the next ';' so many empty parameters stay linear.
    let eq = i;
    while (eq < segEnd && value[eq] !== '=') eq++;
    if (eq === segEnd) {
      // A parameter without a value (or a trailing ';'): nothing to record.
      i = semi;
      continue;
    }
    const name = value.slice(i, eq).trim().toLowerCase();
    let j = eq + 1;
    while (j < value.length && (value[j] === ' ' || value[j] === '\t')) j++;
    let v = '';
    if (value[j] === '"') {
      j++;
      let closed = false;
      while (j < value.length) {
        const c = value[j]!;
        if (c === '\\' && j + 1 < value.length) {
          v += value[j + 1];
          j += 2;
        } else if (c === '"') {
          closed = true;
          j++;
          break;
        } else {
          v += c;
          j++;
        }
      }
      if (!closed) throw new IngestError(400, `unterminated quoted parameter ${quoteInput(name)} in ${quoteInput(value)}`, 'malformed_profile');
      i = value.indexOf(';', j);
    } else {
      const end = value.indexOf(';', j);
      v = (end < 0 ? value.slice(j) : value.slice(j, end)).trim();
      i = end;
    }
    if (name !== '' && !params.has(name)) params.set(name, v);
  }
  return { token, params };
}

/** Boundary from a `multipart/form-data; boundary=...` content type, or a 400. */
export function multipartBoundary(contentType: string): string {
  const { token, params } = parseHeaderParams(contentType);
  if (token !== 'multipart/form-data') bad(`content type ${quoteInput(contentType)} is not multipart/form-data`);
  const boundary = params.get('boundary');
  if (boundary === undefined || boundary === '') bad(`no boundary in content type ${quoteInput(contentType)}`);
  // RFC 2046: 1–70 characters. Longer is refused so the delimiter search stays cheap.
  if (boundary.length > 70) bad('boundary is longer than 70 characters');
  return boundary;
}

/** The position after a delimiter's line break, or -1 when `at` does not start a real delimiter line. */
function afterDelimiterLine(buf: Buffer, at: number): { next: number; closing: boolean } | null {
  if (buf[at] === 0x2d && buf[at + 1] === 0x2d) return { next: at + 2, closing: true };
  let j = at;
  while (buf[j] === 0x20 || buf[j] === 0x09) j++; // transport padding
  if (buf[j] === 0x0d && buf[j + 1] === 0x0a) return { next: j + 2, closing: false };
  return null;
}

function partName(headerText: string): string {
  let disposition: string | undefined;
  for (const line of headerText.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) bad(`malformed part header line ${quoteInput(line)}`);
    if (line.slice(0, colon).trim().toLowerCase() === 'content-disposition') {
      disposition = line.slice(colon + 1);
    }
  }
  if (disposition === undefined) bad('a part has no Content-Disposition header');
  const { token, params } = parseHeaderParams(disposition);
  if (token !== 'form-data') bad(`part disposition ${quoteInput(token)} is not form-data`);
  const name = params.get('name');
  if (name === undefined || name === '') bad('a part has no field name');
  return name;
}

/**
 * Parse a multipart/form-data body into field name → part data (views into `body`).
 * Errors: no/invalid boundary, missing first or closing delimiter, malformed part
 * headers, too many parts, duplicate field → IngestError 400; a part over
 * `maxPartBytes` → IngestError 413.
 */
export function parseMultipart(body: Uint8Array, contentType: string, limits: MultipartLimits): Map<string, Uint8Array> {
  const boundary = multipartBoundary(contentType);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.concat([CRLF, dashBoundary]);

  // The first delimiter may open the body or follow a preamble ending in CRLF.
  let first: { next: number; closing: boolean } | null = null;
  if (buf.subarray(0, dashBoundary.length).equals(dashBoundary)) {
    first = afterDelimiterLine(buf, dashBoundary.length);
  }
  let search = 0;
  while (first === null) {
    const at = buf.indexOf(delimiter, search);
    if (at < 0) bad('no opening boundary delimiter');
    first = afterDelimiterLine(buf, at + delimiter.length);
    search = at + 1;
  }
  if (first.closing) return new Map();

  const parts = new Map<string, Uint8Array>();
  let cursor = first.next;
  while (true) {
    // A part with no headers starts straight with the blank line.
    let dataStart: number;
    let headerText: string;
    if (buf[cursor] === 0x0d && buf[cursor + 1] === 0x0a) {
      headerText = '';
      dataStart = cursor + 2;
    } else {
      // Search only a bounded window so a body without a blank line costs little.
      const window = buf.subarray(cursor, cursor + MAX_PART_HEADER_BYTES + HEADER_END.length);
      const rel = window.indexOf(HEADER_END);
      if (rel < 0) bad('part headers are not terminated by an empty line');
      const headerEnd = cursor + rel;
      headerText = buf.toString('utf8', cursor, headerEnd);
      dataStart = headerEnd + 4;
    }
    if (headerText === '') bad('a part has no Content-Disposition header');
    const name = partName(headerText);

    // Find the delimiter that ends this part's data.
    search = dataStart;
    let end: number;
    let after: { next: number; closing: boolean } | null = null;
    while (true) {
      end = buf.indexOf(delimiter, search);
      if (end < 0) bad('no closing boundary delimiter');
      after = afterDelimiterLine(buf, end + delimiter.length);
      if (after !== null) break;
      search = end + 1;
    }
    if (end - dataStart > limits.maxPartBytes) {
      throw new IngestError(413, `multipart field ${quoteInput(name)} is larger than ${limits.maxPartBytes} bytes`, 'profile_size_limit');
    }
    if (parts.has(name)) bad(`duplicate field ${quoteInput(name)}`);
    if (parts.size >= limits.maxParts) bad(`too many parts (limit ${limits.maxParts})`);
    parts.set(name, body.subarray(dataStart, end));
    if (after.closing) return parts;
    cursor = after.next;
  }
}
