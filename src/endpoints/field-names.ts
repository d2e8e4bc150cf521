import { z } from 'zod';
import type { EndpointDescription } from './endpoint.js';
import { invalidRequest, quoted } from '../errors.js';
import { foldCase } from '../body/json-scan.js';

/** The body fields an endpoint reads or checks, by their folded name (see `foldCase`). */
export type CheckedFields = ReadonlyMap<string, string>;

/** Names whose every letter is lower-case ASCII fold to nothing but themselves among the checked names. */
const PLAIN = /^[a-z0-9_]*$/;

/** Every field the gateway reads of an endpoint's body: its schema's, the model, affinity, response id and files. */
export function checkedFields(endpoint: EndpointDescription): CheckedFields {
  const names = new Set(['model', ...(endpoint.affinityFields ?? []), ...(endpoint.form?.fileFields ?? [])]);
  if (endpoint.responseIdField !== undefined) names.add(endpoint.responseIdField);
  if (endpoint.schema instanceof z.ZodObject) for (const name of Object.keys(endpoint.schema.shape)) names.add(name);
  return new Map([...names].map((name) => [foldCase(name), name]));
}

/**
 * Refuses a name that differs only in case from a field the gateway checks (`MODEL`, `Stream`), or, in a
 * form, that field as an array (`model[]`). Such a field is not the one the gateway checked, yet an upstream
 * that matches names ignoring case (Go's JSON decoder) or reads arrays of one item would take it for it:
 * `{"MODEL": ...}` on an endpoint where `model` is optional would pass unchecked.
 */
export function refuseCaseVariants(names: Iterable<string>, checked: CheckedFields, form: boolean): void {
  for (const sent of names) {
    if (PLAIN.test(sent)) continue;
    const exact = checked.get(foldCase(sent));
    if (exact === sent) continue;
    if (exact !== undefined) {
      const message = `The field '${quoted(sent)}' differs only in case from '${exact}'; send it as '${exact}'.`;
      throw invalidRequest(message, exact, form ? 'invalid_multipart' : 'invalid_json');
    }
    const single = form && sent.endsWith('[]') ? checked.get(foldCase(sent.slice(0, -2))) : undefined;
    if (single !== undefined) throw invalidRequest(`The field '${quoted(sent)}' is read by the gateway as '${single}', sent once.`, single, 'invalid_multipart');
  }
}
