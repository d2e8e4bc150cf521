import { Busboy, type BusboyInstance } from '@fastify/busboy';
import type { FastifyInstance } from 'fastify';
import { invalidRequest } from '../errors.js';

/** What the gateway reads of a multipart form: its text fields, and the names of its file fields. */
export interface FormBody {
  readonly fields: Record<string, string>;
  readonly files: readonly string[];
}

/** Real forms of the API have a dozen fields; these bounds keep a hostile one from costing more. */
const MAX_PARTS = 256;
const MAX_FIELD_BYTES = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** The form of a multipart request, read without rebuilding it: the raw bytes go upstream. */
    form: FormBody | undefined;
  }
}

/**
 * Accepts `multipart/form-data` bodies (audio and image uploads): the raw bytes are kept to be forwarded
 * exactly as sent, and the form is read once with busboy (a maintained streaming parser) for the fields the
 * gateway checks, `model` wherever it stands among them. A form with a broken boundary, or a field named
 * twice (which field an upstream honours would be a guess), is refused with 400.
 */
export function registerMultipartBody(app: FastifyInstance): void {
  app.decorateRequest('form', undefined);
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (request, raw, done) => {
    const body = raw as Buffer;
    request.rawBody = body;
    readForm(body, request.headers['content-type'] ?? '').then(
      (form) => {
        request.form = form;
        done(null, form.fields);
      },
      (err: Error) => done(err),
    );
  });
}

/** Reads the fields and file names of a whole multipart body. */
export function readForm(body: Buffer, contentType: string): Promise<FormBody> {
  return new Promise((resolve, reject) => {
    const refuse = (why: string): void => reject(invalidRequest(`The multipart/form-data body could not be read: ${why}.`, null, 'invalid_multipart'));
    let parser: BusboyInstance;
    try {
      parser = new Busboy({ headers: { 'content-type': contentType }, limits: { parts: MAX_PARTS, fieldSize: MAX_FIELD_BYTES } });
    } catch (err) {
      return refuse((err as Error).message.replace(/\.$/, ''));
    }
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    const files: string[] = [];
    let problem: string | undefined;
    const seen = (name: string): boolean => !name.endsWith('[]') && (name in fields || files.includes(name));
    parser.on('field', (name: string, value: string, nameTruncated: boolean, valueTruncated: boolean) => {
      if (valueTruncated || nameTruncated) problem ??= `the field '${name.slice(0, 64)}' is longer than ${MAX_FIELD_BYTES} bytes`;
      else if (seen(name)) problem ??= `the field '${name.slice(0, 64)}' is sent twice`;
      else if (!name.endsWith('[]')) fields[name] = value;
    });
    parser.on('file', (name: string, stream: NodeJS.ReadableStream) => {
      if (seen(name)) problem ??= `the field '${name.slice(0, 64)}' is sent twice`;
      files.push(name);
      stream.resume();
    });
    parser.on('partsLimit', () => {
      problem ??= `it has more than ${MAX_PARTS} parts`;
    });
    parser.on('error', (err: Error) => refuse(err.message.replace(/\.$/, '').toLowerCase()));
    parser.on('finish', () => (problem === undefined ? resolve({ fields, files }) : refuse(problem)));
    parser.end(body);
  });
}
