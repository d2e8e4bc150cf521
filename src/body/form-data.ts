import { isUtf8 } from 'node:buffer';
import { invalidRequest, quoted, type GatewayError } from '../errors.js';
import { foldCase } from './json-scan.js';
import { readParamHeader, type ParamHeader } from './header-params.js';

/** What the gateway reads of a multipart form: its text fields, the names of its file fields, and every part's name. */
export interface FormBody {
  /** Text fields by name; fields named `x[]` (arrays) are not among them. */
  readonly fields: Record<string, string>;
  readonly files: readonly string[];
  /** The name of every part, in order. */
  readonly names: readonly string[];
}

/** Real forms of the API have a dozen parts, headers of a few hundred bytes and short text fields. */
const MAX_PARTS = 256;
const MAX_HEADER_BYTES = 8 * 1024;
const MAX_FIELD_BYTES = 64 * 1024;
/** RFC 2046: 1 to 70 characters, the last not a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Charsets a text field may declare: the ones whose bytes read the same as UTF-8. */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);
/** Transfer encodings that leave the bytes as they are; an upstream may decode `base64` or `quoted-printable`. */
const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);
const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');

export const invalidMultipart = (why: string): GatewayError =>
  invalidRequest(`The multipart/form-data body could not be read: ${why}.`, null, 'invalid_multipart');

/**
 * Reads a whole multipart body, one way only: whatever two parsers could read differently is refused
 * (400 `invalid_multipart`) rather than guessed, so the form the gateway checks is the form the upstream
 * reads, whichever parser it uses. Written here rather than taken from busboy, which reads the first of two
 * `boundary` parameters, skips parts it does not understand, ignores what follows the closing delimiter and
 * hides the part headers these checks need. Refused:
 * - a `Content-Type` or `Content-Disposition` that repeats a parameter (see `readParamHeader`);
 * - anything before the first delimiter or after the closing one (but a final CRLF), a form cut before its
 *   closing delimiter, a delimiter followed by anything but CRLF or `--`;
 * - a part whose headers repeat, fold, are not `Name: value`, or lack `Content-Disposition: form-data`
 *   with a `name`;
 * - a text field (a part without `filename`) that declares a charset other than UTF-8, a transfer encoding,
 *   or whose bytes are not UTF-8;
 * - a name sent twice or differing only in case from another (`x[]` arrays may repeat exactly).
 */
export function readForm(body: Buffer, contentType: string): FormBody {
  const header = readParamHeader(contentType);
  if (typeof header === 'string') throw invalidMultipart(`its Content-Type cannot be read: ${header}`);
  const boundary = header.params.get('boundary');
  if (boundary === undefined) throw invalidMultipart('its Content-Type has no boundary');
  if (!BOUNDARY.test(boundary)) throw invalidMultipart('its boundary is not 1 to 70 characters of those RFC 2046 allows');
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const first = delimiter.subarray(2);
  if (!body.subarray(0, first.length).equals(first)) throw invalidMultipart('it does not begin with its boundary');

  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  const files: string[] = [];
  const names: string[] = [];
  const byFolded = new Map<string, string>();
  let at = first.length;
  for (;;) {
    if (body[at] === 0x2d && body[at + 1] === 0x2d) {
      const epilogue = body.subarray(at + 2);
      if (epilogue.length > 0 && !epilogue.equals(CRLF)) throw invalidMultipart('it has content after its closing delimiter');
      return { fields, files, names };
    }
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) {
      throw invalidMultipart(at + 2 > body.length ? 'it ends before its closing delimiter' : 'a delimiter is followed by something other than a line break');
    }
    if (names.length === MAX_PARTS) throw invalidMultipart(`it has more than ${MAX_PARTS} parts`);
    const headersEnd = body.subarray(at, at + MAX_HEADER_BYTES + 4).indexOf(HEADERS_END);
    if (headersEnd < 0) {
      throw invalidMultipart(body.length - at > MAX_HEADER_BYTES ? `a part's headers are longer than ${MAX_HEADER_BYTES} bytes` : 'it ends inside the headers of a part');
    }
    const part = readPartHeaders(body.toString('latin1', at + 2, at + headersEnd));
    const contentStart = at + headersEnd + 4;
    const contentEnd = body.indexOf(delimiter, contentStart);
    if (contentEnd < 0) throw invalidMultipart(`it ends inside the part '${quoted(part.name)}'`);
    admitName(part.name, byFolded);
    names.push(part.name);
    if (part.file) files.push(part.name);
    else if (!part.name.endsWith('[]')) fields[part.name] = readText(part, body.subarray(contentStart, contentEnd));
    at = contentEnd + delimiter.length;
  }
}

interface PartHeaders {
  readonly name: string;
  readonly file: boolean;
  readonly contentType: ParamHeader | undefined;
  readonly transferEncoding: string | undefined;
}

/** The headers of one part, given as latin1 text (each byte one character) without their final CRLF. */
function readPartHeaders(text: string): PartHeaders {
  const headers = new Map<string, string>();
  for (const line of text === '' ? [] : text.split('\r\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    if (colon < 0 || !HEADER_NAME.test(name)) throw invalidMultipart(`a part has a header line that is not 'Name: value' ('${quoted(line)}')`);
    const value = line.slice(colon + 1).trim();
    if (/[\r\n]/.test(value)) throw invalidMultipart('a part has a header with a bare line break');
    if (headers.has(name)) throw invalidMultipart(`a part has the header '${quoted(name)}' twice`);
    headers.set(name, value);
  }
  const disposition = headers.get('content-disposition');
  if (disposition === undefined) throw invalidMultipart('a part has no Content-Disposition');
  const read = readParamHeader(disposition);
  if (typeof read === 'string') throw invalidMultipart(`a part's Content-Disposition cannot be read: ${read}`);
  if (read.type !== 'form-data') throw invalidMultipart(`a part's Content-Disposition is '${quoted(read.type)}', not form-data`);
  if (read.params.has('name*')) throw invalidMultipart("a part names itself with 'name*'; send 'name'");
  const latin1Name = read.params.get('name');
  if (latin1Name === undefined || latin1Name === '') throw invalidMultipart('a part has no name');
  const nameBytes = Buffer.from(latin1Name, 'latin1');
  if (!isUtf8(nameBytes)) throw invalidMultipart('a part has a name that is not UTF-8');
  const type = headers.get('content-type');
  const contentType = type === undefined ? undefined : readParamHeader(type);
  if (typeof contentType === 'string') throw invalidMultipart(`a part's Content-Type cannot be read: ${contentType}`);
  return {
    name: nameBytes.toString('utf8'),
    file: read.params.has('filename') || read.params.has('filename*'),
    contentType,
    transferEncoding: headers.get('content-transfer-encoding')?.toLowerCase(),
  };
}

/** Refuses a name sent before, or one that differs only in case from one sent before; `x[]` may repeat as it is. */
function admitName(name: string, byFolded: Map<string, string>): void {
  const folded = foldCase(name);
  const earlier = byFolded.get(folded);
  if (earlier === undefined) {
    byFolded.set(folded, name);
    return;
  }
  if (earlier === name && name.endsWith('[]')) return;
  const sameAs = earlier === name ? '' : ` ('${quoted(name)}' differs from '${quoted(earlier)}' only in case)`;
  throw invalidMultipart(`the field '${quoted(earlier)}' is sent twice${sameAs}`);
}

/** A text field's value, which must be UTF-8 and sent as it is. */
function readText(part: PartHeaders, content: Buffer): string {
  const name = quoted(part.name);
  const charset = part.contentType?.params.get('charset')?.toLowerCase();
  if (charset !== undefined && !UTF8_CHARSETS.has(charset)) throw invalidMultipart(`the field '${name}' is in ${quoted(charset)}; send text fields in UTF-8`);
  if (part.transferEncoding !== undefined && !IDENTITY_ENCODINGS.has(part.transferEncoding)) {
    throw invalidMultipart(`the field '${name}' has the transfer encoding '${quoted(part.transferEncoding)}'; send text fields as they are`);
  }
  if (content.length > MAX_FIELD_BYTES) throw invalidMultipart(`the field '${name}' is longer than ${MAX_FIELD_BYTES} bytes`);
  if (!isUtf8(content)) throw invalidMultipart(`the field '${name}' is not UTF-8`);
  return content.toString('utf8');
}
