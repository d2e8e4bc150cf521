// The streaming hop: a bare Fastify + @fastify/reply-from passthrough on every path, request bodies streamed
// through unparsed. No auth, no validation, no logging. Measured beside bench/reply-from-hop.ts (the issue's
// hop, which parses JSON bodies); the cheaper of the two is the bench's reference.
//   node bench/reference-hop.ts <upstream origin> [port]     (or UPSTREAM_URL / PORT)
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

const upstream = process.argv[2] ?? process.env.UPSTREAM_URL ?? 'http://127.0.0.1:9000';
const port = Number(process.argv[3] ?? process.env.PORT ?? 0);

const app = Fastify({ logger: false });
await app.register(replyFrom, { base: upstream });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
app.all('/*', (request, reply) => reply.from(request.url));

const address = await app.listen({ host: '127.0.0.1', port });
console.log(`reference hop listening on ${address}, forwarding to ${upstream}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close());
