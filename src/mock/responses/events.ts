// The Responses event stream, in OpenAI's order: response.created, response.in_progress, then per
// output item its added/delta/done events, then response.completed; each event has an `event:`
// line and a `sequence_number`, and the stream ends without a [DONE] line.
import { splitInto } from '../text.js';
import type { Json, Plan } from '../types.js';

class EventWriter {
  readonly pieces: string[] = [];
  private seq = 0;

  emit(type: string, fields: Json): void {
    const data = JSON.stringify({ type, sequence_number: this.seq++, ...fields });
    this.pieces.push(`event: ${type}\ndata: ${data}\n\n`);
  }
}

/** Emits one finished item's events; returns the index of its last delta event (-1 when it has none). */
function itemEvents(w: EventWriter, item: Json, outputIndex: number, chunks: number): number {
  const at = { output_index: outputIndex };
  let lastDelta = -1;
  if (item.type === 'message') {
    const part = (item.content as Json[])[0] ?? { type: 'output_text', annotations: [], logprobs: [], text: '' };
    const text = typeof part.text === 'string' ? part.text : '';
    const where = { item_id: item.id, ...at, content_index: 0 };
    w.emit('response.output_item.added', { ...at, item: { ...item, status: 'in_progress', content: [] } });
    w.emit('response.content_part.added', { ...where, part: { ...part, text: '' } });
    for (const delta of splitInto(text, chunks)) {
      lastDelta = w.pieces.length;
      w.emit('response.output_text.delta', { ...where, delta, logprobs: [] });
    }
    w.emit('response.output_text.done', { ...where, text, logprobs: [] });
    w.emit('response.content_part.done', { ...where, part });
  } else if (item.type === 'function_call') {
    const args = typeof item.arguments === 'string' ? item.arguments : '';
    const where = { item_id: item.id, ...at };
    w.emit('response.output_item.added', { ...at, item: { ...item, status: 'in_progress', arguments: '' } });
    lastDelta = w.pieces.length;
    w.emit('response.function_call_arguments.delta', { ...where, delta: args });
    w.emit('response.function_call_arguments.done', { ...where, name: item.name, arguments: args });
  } else {
    w.emit('response.output_item.added', { ...at, item });
  }
  w.emit('response.output_item.done', { ...at, item });
  return lastDelta;
}

export function responseEvents(done: Json, output: Json[], chunks: number): Plan {
  const w = new EventWriter();
  const inProgress = { ...done, status: 'in_progress', output: [], usage: null };
  w.emit('response.created', { response: inProgress });
  w.emit('response.in_progress', { response: inProgress });
  let holdAt = 0;
  output.forEach((item, i) => {
    const lastDelta = itemEvents(w, item, i, chunks);
    if (lastDelta >= 0) holdAt = lastDelta;
  });
  w.emit('response.completed', { response: done });
  return { kind: 'stream', pieces: w.pieces, holdAt };
}
