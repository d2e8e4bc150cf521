import type { FastifyPluginAsync } from 'fastify';
import { acceptedKinds, type EndpointDescription, type JsonObject } from '../endpoints/endpoint.js';
import { withStreamUsage } from '../endpoints/stream-usage.js';
import { invalidRequest, quoted } from '../errors.js';
import { conversationOf } from '../accounts/conversation.js';
import { selectAndForward } from '../accounts/dispatch.js';
import type { Account } from '../accounts/pool.js';
import { ANONYMOUS } from '../auth/client-keys.js';
import { registerMultipartBody } from '../body/multipart-body.js';
import { formBody, jsonObjectBody, resolveModel, validateBody } from '../endpoints/checks.js';
import { checkedFields } from '../endpoints/field-names.js';
import { promptText } from '../proxy/prompt-text.js';
import { chatCall, countChatTokens } from '../translate/call.js';

/**
 * Serves one model endpoint from its description: the checks in the documented order (the key and limits
 * ran in hooks before), then account selection and forwarding. Nothing here is specific to an endpoint.
 */
export const apiEndpointRoute: FastifyPluginAsync<{ endpoint: EndpointDescription }> = async (app, { endpoint }) => {
  const services = app.services;
  const checked = checkedFields(endpoint);
  if (endpoint.form !== undefined) registerMultipartBody(app);
  const kinds = acceptedKinds(endpoint);

  app.post(endpoint.path, async (request, reply) => {
    const { catalog, router } = services;
    const body = endpoint.form === undefined ? jsonObjectBody(request, checked) : formBody(request, endpoint.form.fileFields, checked);
    const { model, pool } = resolveModel(request, body, kinds, catalog, router, endpoint.modelOptional);
    validateBody(endpoint.schema, body);
    endpoint.checkModel?.(body, model);
    const conversationId = (): string | undefined => conversationOf(request.headers, services.config.sticky.sources, affinityField(body, endpoint));

    if (endpoint.translatesChat !== undefined && model.kind === 'chat') {
      if (endpoint.translatesChat === 'count') return reply.send(await countChatTokens(body, model.id));
      return selectAndForward(services.selector, services.forwarder, request, reply, { pool, ...chatCall(body, model.id), conversationId: conversationId() });
    }

    let bound: Account | undefined;
    const previous = endpoint.responseIdField === undefined ? undefined : body[endpoint.responseIdField];
    if (typeof previous === 'string') {
      const owner = await services.responses.findForRequest((request.gateway.clientKey ?? ANONYMOUS).name, previous);
      bound = owner === undefined ? undefined : pool.account(owner.account);
      if (bound === undefined) {
        throw invalidRequest(`Previous response with id '${quoted(previous)}' not found.`, endpoint.responseIdField!, 'previous_response_not_found');
      }
    }

    const raw = request.rawBody!;
    const addUsage = endpoint.asksForStreamUsage === true && body.stream === true && !clientAskedForUsage(body);
    const clientKey = request.gateway.clientKey;
    return selectAndForward(services.selector, services.forwarder, request, reply, {
      pool,
      path: endpoint.api === 'anthropic' ? endpoint.upstreamPath + queryOf(request.url) : endpoint.upstreamPath,
      payload: addUsage ? withStreamUsage(raw, body) : raw,
      contentType: endpoint.form === undefined ? undefined : request.headers['content-type'],
      stripUsageChunk: addUsage,
      countsImages: endpoint.kinds.includes('image'),
      stream: endpoint.stream,
      // Kept for a stream whose client may leave before its usage comes (see src/proxy/usage-estimate.ts).
      prompt: body.stream === true && endpoint.stream?.deltaText !== undefined ? promptText(body) : undefined,
      conversationId: bound === undefined ? conversationId() : undefined,
      bound,
      onResponseId:
        endpoint.recordsResponses === true && clientKey !== undefined
          ? (id, account) => services.responses.record(clientKey.name, id, { account: account.name, model: model.id })
          : undefined,
    });
  });
};

/** Reads the body fields the endpoint's description names as carrying a conversation's affinity. */
function affinityField(body: JsonObject, endpoint: EndpointDescription): (field: string) => unknown {
  return (field) => {
    if (endpoint.affinityFields?.includes(field) !== true) return undefined;
    const dot = field.indexOf('.');
    if (dot < 0) return body[field];
    const outer = body[field.slice(0, dot)];
    return outer !== null && typeof outer === 'object' ? (outer as JsonObject)[field.slice(dot + 1)] : undefined;
  };
}

/** The query string of a request target, `?` included, or ''. */
function queryOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at);
}

function clientAskedForUsage(body: JsonObject): boolean {
  return (body.stream_options as JsonObject | null | undefined)?.include_usage === true;
}
