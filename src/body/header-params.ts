/** A header value of the `type; name=value; ...` shape (`Content-Type`, `Content-Disposition`), read strictly. */
export interface ParamHeader {
  /** The value before the first `;`, lower case (`multipart/form-data`, `form-data`). */
  readonly type: string;
  /** Parameters by lower-case name, values unquoted. */
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Reads `value` as RFC 9110 defines it, or says why it cannot be read one way only: a parameter named
 * twice (names compared ignoring case, as they are defined), one that is not `name=value`, or a quoted
 * value with a backslash or a line break. Parsers disagree on all of these (the first `boundary` or the
 * last, `\"` as an escape or as a backslash that ends the value), so a gateway that read one way and an
 * upstream that read the other would see two different forms.
 */
export function readParamHeader(value: string): ParamHeader | string {
  const params = new Map<string, string>();
  const semicolon = value.indexOf(';');
  const type = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  let at = semicolon < 0 ? value.length : semicolon + 1;
  while (at < value.length) {
    const equals = value.indexOf('=', at);
    if (equals < 0) {
      if (value.slice(at).trim() === '') break;
      return `the parameter '${value.slice(at, at + 64).trim()}' has no value`;
    }
    const name = value.slice(at, equals).trim().toLowerCase();
    if (!TOKEN.test(name)) return `the parameter name '${name.slice(0, 64)}' is not a token`;
    let rest = equals + 1;
    let paramValue: string;
    if (value[rest] === '"') {
      const close = value.indexOf('"', rest + 1);
      if (close < 0) return `the parameter '${name}' has no closing quote`;
      paramValue = value.slice(rest + 1, close);
      if (/[\\\r\n]/.test(paramValue)) return `the parameter '${name}' holds a backslash or a line break`;
      rest = close + 1;
      const next = value.indexOf(';', rest);
      if (value.slice(rest, next < 0 ? value.length : next).trim() !== '') return `the parameter '${name}' has text after its closing quote`;
      at = next < 0 ? value.length : next + 1;
    } else {
      const next = value.indexOf(';', rest);
      paramValue = value.slice(rest, next < 0 ? value.length : next).trim();
      if (!TOKEN.test(paramValue)) return `the parameter '${name}' has a value that is neither a token nor quoted`;
      at = next < 0 ? value.length : next + 1;
    }
    if (params.has(name)) return `the parameter '${name}' is given twice`;
    params.set(name, paramValue);
  }
  return { type, params };
}
