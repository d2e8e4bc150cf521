import { typedEventStream } from '../proxy/stream-formats.js';
import { imageEditFormSchema } from '../schemas/forms.js';
import type { EndpointDescription } from './endpoint.js';
import { imagesGenerations } from './images-generations.js';

/** Image edits: a form with the image(s) in `image` (or `image[]`), under the size and `n` rules of generations. */
export const imagesEdits: EndpointDescription = {
  path: '/v1/images/edits',
  upstreamPath: '/images/edits',
  kinds: ['image'],
  schema: imageEditFormSchema,
  form: { fileFields: ['image', 'image[]'] },
  stream: typedEventStream(['image_edit.completed'], String.raw`image_edit\.partial_image`),
  checkModel: (body, model) => imagesGenerations.checkModel!({ ...body, n: body.n === undefined ? undefined : Number(body.n) }, model),
};
