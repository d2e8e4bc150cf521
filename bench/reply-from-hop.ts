// The hop: bare Fastify with its DEFAULT JSON body parser and `@fastify/reply-from` over an undici
// pool of 128 connections (pipelining 1, keep-alive 60 s), one route `POST /v1/*` answering
// `reply.from(request.url)`. reply-from sends the parsed body on as JSON.stringify's output. Measured beside
// bench/reference-hop.ts, which streams request bodies through unparsed; the cheaper of the two is the
// bench's reference.
//   node bench/reply-from-hop.ts <upstream origin> [port]     (or UPSTREAM_URL / PORT)
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

const upstream = process.argv[2] ?? process.env.UPSTREAM_URL ?? 'http://127.0.0.1:9000';
const port = Number(process.argv[3] ?? process.env.PORT ?? 0);

const app = Fastify({ logger: false });
await app.register(replyFrom, { base: upstream, undici: { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 } });
app.post('/v1/*', (request, reply) => reply.from(request.url));

const address = await app.listen({ host: '127.0.0.1', port });
console.log(`reply-from hop listening on ${address}, forwarding to ${upstream}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close());
