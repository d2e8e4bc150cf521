// The multipart reader on its own: what it reads of real forms, and everything it refuses because two
// parsers could read it differently.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { readForm } from '../../src/body/form-data.js';
import { readParamHeader } from '../../src/body/header-params.js';

const TYPE = 'multipart/form-data; boundary=B';

/** A form with boundary `B`, from parts given as [headers, content]. */
function form(...parts: [string, string][]): Buffer {
  return Buffer.from(parts.map(([headers, content]) => `--B\r\n${headers}\r\n\r\n${content}\r\n`).join('') + '--B--\r\n', 'latin1');
}
const field = (name: string, value: string): [string, string] => [`Content-Disposition: form-data; name="${name}"`, value];
const file = (name: string, bytes = 'RIFF'): [string, string] => [`Content-Disposition: form-data; name="${name}"; filename="a.wav"\r\nContent-Type: audio/wav`, bytes];

/** The reason `readForm` gives for refusing, or a failure when it does not refuse with 400 invalid_multipart. */
function refusal(body: Buffer, type = TYPE): string {
  try {
    readForm(body, type);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).statusCode).toBe(400);
    expect((err as GatewayError).code).toBe('invalid_multipart');
    return (err as GatewayError).message;
  }
  throw new Error('the form was accepted');
}

describe('readForm', () => {
  it('reads the forms clients send: fields, files, repeated x[] fields, UTF-8 names and values', async () => {
    const data = new FormData();
    data.append('model', 'whisper-1');
    data.append('prompt', 'Grüße 🎧');
    data.append('file', new Blob([Buffer.from('RIFF\r\n--not-the-boundary\r\n')]), 'clip.wav');
    data.append('timestamp_granularities[]', 'word');
    data.append('timestamp_granularities[]', 'segment');
    data.append('image[]', new Blob(['a']), 'a.png');
    data.append('image[]', new Blob(['b']), 'b.png');
    const request = new Request('http://x/', { method: 'POST', body: data });
    const body = Buffer.from(await request.arrayBuffer());
    const read = readForm(body, request.headers.get('content-type')!);
    expect({ ...read.fields }).toEqual({ model: 'whisper-1', prompt: 'Grüße 🎧' });
    expect(read.files).toEqual(['file', 'image[]', 'image[]']);
    expect(read.names).toEqual(['model', 'prompt', 'file', 'timestamp_granularities[]', 'timestamp_granularities[]', 'image[]', 'image[]']);
  });

  it('takes an empty form, a part with no content, quoted boundaries, charset utf-8 and no final line break', () => {
    expect(readForm(Buffer.from('--B--'), TYPE).names).toEqual([]);
    expect(readForm(form(field('a', '')), TYPE).fields).toEqual({ a: '' });
    expect(readForm(form(field('a', 'x')), 'Multipart/Form-Data; boundary="B"').fields).toEqual({ a: 'x' });
    const utf8 = readForm(form(['Content-Disposition: form-data; name="a"\r\nContent-Type: text/plain; charset=UTF-8', 'x']), TYPE);
    expect(utf8.fields).toEqual({ a: 'x' });
    expect(readForm(form(field('a', 'x')).subarray(0, -2), TYPE).fields).toEqual({ a: 'x' });
  });

  it('refuses the probe that stopped the process: a form that never closes', () => {
    const probe = Buffer.from('--B\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nRIFF');
    expect(refusal(probe)).toContain("ends inside the part 'file'");
  });

  it('refuses a form cut anywhere before its closing delimiter', () => {
    const whole = form(field('model', 'whisper-1'), file('file'));
    for (let cut = 0; cut < whole.length - '--B--\r\n'.length + 4; cut++) refusal(whole.subarray(0, cut));
  });

  it('refuses a part without a name, with an empty name, with name* or without form-data', () => {
    expect(refusal(form(['Content-Disposition: form-data; filename="a"', 'RIFF']))).toContain('no name');
    expect(refusal(form(['Content-Disposition: form-data; name=""', 'x']))).toContain('no name');
    expect(refusal(form(['Content-Disposition: form-data; name*=utf-8\'\'model', 'x']))).toContain("'name*'");
    expect(refusal(form(['Content-Disposition: attachment; name="model"', 'x']))).toContain('not form-data');
    expect(refusal(form(['Content-Type: text/plain', 'x']))).toContain('no Content-Disposition');
    expect(refusal(form(['', 'x']))).toContain('no Content-Disposition');
  });

  it('refuses a Content-Type that names the boundary twice, or has none, or a broken one', () => {
    const two = Buffer.from('--X\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o-mini\r\n--X--\r\n');
    expect(refusal(two, 'multipart/form-data; boundary=X; boundary=Y')).toContain("'boundary' is given twice");
    expect(refusal(two, 'multipart/form-data; boundary=X; BOUNDARY=X')).toContain("'boundary' is given twice");
    expect(refusal(two, 'multipart/form-data')).toContain('no boundary');
    expect(refusal(two, 'multipart/form-data; boundary="X')).toContain('closing quote');
    expect(refusal(two, 'multipart/form-data; boundary="X\\"Y"')).toContain('backslash');
    expect(refusal(two, `multipart/form-data; boundary=${'x'.repeat(71)}`)).toContain('1 to 70');
  });

  it('refuses a Content-Disposition that repeats a parameter', () => {
    expect(refusal(form(['Content-Disposition: form-data; name="model"; name="stream"', 'x']))).toContain("'name' is given twice");
    expect(refusal(form(['Content-Disposition: form-data; name="file"; filename="a"; FILENAME="b"', 'x']))).toContain("'filename' is given twice");
  });

  it('refuses a part whose headers repeat, fold or are not Name: value', () => {
    const disposition = 'Content-Disposition: form-data; name="model"';
    expect(refusal(form([`${disposition}\r\n${disposition.replace('model', 'm2')}`, 'x']))).toContain("'content-disposition' twice");
    expect(refusal(form([`${disposition}\r\n continued`, 'x']))).toContain("not 'Name: value'");
    expect(refusal(form([`${disposition}\nContent-Type: text/plain`, 'x']))).toContain('bare line break');
  });

  it('refuses content before the first delimiter, after the closing one, or a delimiter with trailing text', () => {
    expect(refusal(Buffer.concat([Buffer.from('preamble\r\n'), form(field('a', 'x'))]))).toContain('does not begin');
    const body = form(field('model', 'gpt-4o-mini'));
    expect(refusal(Buffer.concat([body, Buffer.from('--B\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-5\r\n--B--\r\n')]))).toContain(
      'after its closing delimiter',
    );
    expect(refusal(Buffer.from('--B--\r\n\r\n'))).toContain('after its closing delimiter');
    expect(refusal(Buffer.from('--B \r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--B--'))).toContain('other than a line break');
  });

  it('refuses a name sent twice, or differing only in case from another', () => {
    expect(refusal(form(field('model', 'a'), field('model', 'b')))).toContain("'model' is sent twice");
    expect(refusal(form(field('model', 'a'), field('MODEL', 'b')))).toContain('only in case');
    expect(refusal(form(file('file'), file('file')))).toContain("'file' is sent twice");
    expect(refusal(form(file('image[]'), file('IMAGE[]')))).toContain('only in case');
  });

  it('refuses text fields in another charset, in a transfer encoding, or not UTF-8', () => {
    const utf16 = Buffer.from('whisper-1', 'utf16le').toString('latin1');
    expect(refusal(form(['Content-Disposition: form-data; name="model"\r\nContent-Type: text/plain; charset=utf-16le', utf16]))).toContain('utf-16le');
    expect(refusal(form(['Content-Disposition: form-data; name="model"\r\nContent-Transfer-Encoding: base64', 'd2hpc3Blci0x']))).toContain('base64');
    expect(refusal(form(field('model', '\xff\xfe')))).toContain('not UTF-8');
    expect(refusal(form(field('prompt', 'x'.repeat(64 * 1024 + 1))))).toContain('longer than');
    // A file's bytes are its own: any charset, any bytes.
    expect(readForm(form([`${file('file')[0]}; charset=utf-16le`, '\xff\xfe']), TYPE).files).toEqual(['file']);
  });

  it('refuses more than 256 parts', () => {
    const many = Array.from({ length: 257 }, (_, i) => field(`f${i}`, 'x'));
    expect(refusal(form(...many))).toContain('more than 256 parts');
  });
});

describe('readParamHeader', () => {
  it('reads tokens and quoted values, names ignoring case', () => {
    expect(readParamHeader('Form-Data; Name="a b;c"; filename=x.wav')).toEqual({ type: 'form-data', params: new Map([['name', 'a b;c'], ['filename', 'x.wav']]) });
  });

  it('says why a header cannot be read one way only', () => {
    expect(readParamHeader('form-data; name')).toContain('no value');
    expect(readParamHeader('form-data; name="a"x')).toContain('after its closing quote');
    expect(readParamHeader('form-data; name=a b')).toContain('neither a token nor quoted');
    expect(readParamHeader('form-data; na me=a')).toContain('not a token');
  });
});
