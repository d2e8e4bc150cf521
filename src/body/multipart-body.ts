import type { FastifyInstance } from 'fastify';
import { readForm, type FormBody } from './form-data.js';

export type { FormBody };

declare module 'fastify' {
  interface FastifyRequest {
    /** The form of a multipart request, read without rebuilding it: the raw bytes go upstream. */
    form: FormBody | undefined;
  }
}

/** Declares `request.form`, in the scope where some routes take forms. */
export function declareForms(app: FastifyInstance): void {
  app.decorateRequest('form', undefined);
}

/**
 * Accepts `multipart/form-data` bodies (audio and image uploads) in the scope it is registered in: the
 * routes that take forms, so that no other route reads one. The raw bytes are kept to be forwarded exactly
 * as sent, and the form is read once, strictly (see `readForm`), for the fields the gateway checks. The
 * reader works on the whole body and throws nothing but its 400, so no malformed form, cut or not, can
 * escape as an unhandled error.
 */
export function registerMultipartBody(app: FastifyInstance): void {
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (request, raw, done) => {
    const body = raw as Buffer;
    request.rawBody = body;
    try {
      const form = readForm(body, request.headers['content-type'] ?? '');
      request.form = form;
      done(null, form.fields);
    } catch (err) {
      done(err as Error);
    }
  });
}
