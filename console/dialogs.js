// The console's modal dialogs: a form, a confirmation, and a new secret shown once.
import { h } from './dom.js';

function modal(dialog) {
  document.body.append(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  dialog.showModal();
  return dialog;
}

/** A modal dialog of `fields`; `onSubmit(values, dialog)` runs when `submitLabel` is pressed, its error shown in the dialog. */
export function formDialog(title, fields, submitLabel, onSubmit) {
  const inputs = fields.map((field) => ({ field, input: h('input', { name: field.name, type: field.type ?? 'text', autocomplete: 'off' }) }));
  const status = h('p', { class: 'error', role: 'alert' });
  const dialog = h('dialog', { 'aria-label': title });
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', {}, title),
    inputs.map(({ field, input }) => h('label', {}, field.label, input)),
    status,
    h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, submitLabel), h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(inputs.map(({ field, input }) => [field.name, input.value.trim()]));
    try {
      await onSubmit(values, dialog);
    } catch (error) {
      status.textContent = error.message;
    }
  });
  dialog.append(form);
  return modal(dialog);
}

/** Asks `question`; `onConfirm(dialog)` runs on `Confirm`, its error shown in the dialog. */
export function confirmDialog(question, onConfirm) {
  const status = h('p', { class: 'error', role: 'alert' });
  const dialog = h('dialog', { 'aria-label': question });
  const confirm = async () => {
    try {
      await onConfirm(dialog);
    } catch (error) {
      status.textContent = error.message;
    }
  };
  dialog.append(
    h('p', {}, question),
    status,
    h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: confirm }, 'Confirm'), h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel')),
  );
  return modal(dialog);
}

/** Shows a new secret once, in the read-only field `New key`, with `Copy` and `Done`. */
export function showSecret(dialog, title, key, onDone) {
  const field = h('input', { id: 'new-key', readonly: true, value: key, autocomplete: 'off' });
  const copied = h('span', { role: 'status' });
  const copy = async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(key);
      copied.textContent = 'Copied.';
    } catch {
      copied.textContent = 'Press Ctrl+C to copy the selected key.';
    }
  };
  const done = () => {
    dialog.close();
    onDone();
  };
  dialog.replaceChildren(
    h('h2', {}, title),
    h('p', {}, 'Copy the key now: it is shown only once.'),
    h('label', { for: 'new-key' }, 'New key'),
    field,
    h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: copy }, 'Copy'), h('button', { type: 'button', onclick: done }, 'Done'), copied),
  );
}
