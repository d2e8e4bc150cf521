import type { FastifyPluginAsync } from 'fastify';
import { prefetchPins } from '../accounts/pin-prefetch.js';
import { requireClientKey } from '../auth/plugin.js';
import { BufferedBodies, capBufferedBodies } from '../body/buffered-bodies.js';
import { refuseEncodedBodies } from '../body/content-encoding.js';
import { registerJsonBody } from '../body/json-body.js';
import { declareForms } from '../body/multipart-body.js';
import { API_ENDPOINTS, STORED_RESPONSE_ENDPOINTS } from '../endpoints/index.js';
import { enforceLimits } from '../limits/plugin.js';
import { enforceBudgets } from '../spend/plugin.js';
import { apiEndpointRoute } from './api-endpoint.js';
import { modelsRoute } from './models.js';
import { storedResponseRoute } from './stored-response.js';

/**
 * The authenticated API scope: the only one with a body parser. Its hooks run in the order they are added
 * here, which is the documented order of checks (docs/api.md): the key, then budgets and limits from the
 * headers alone, then the body, then each route's model and body rules.
 */
export const v1Routes: FastifyPluginAsync = async (v1) => {
  const { services } = v1;
  requireClientKey(v1, services);
  // After the key (an anonymous upload is refused unread), before the budgets and limits count the request.
  capBufferedBodies(v1, new BufferedBodies(), services);
  // Before the hooks that wait for Redis: the pin lookup goes out in the same write as their commands.
  prefetchPins(v1, services);
  enforceBudgets(v1, services.spend);
  enforceLimits(v1, services.limiter);
  refuseEncodedBodies(v1);
  registerJsonBody(v1);
  declareForms(v1);
  for (const endpoint of API_ENDPOINTS) await v1.register(apiEndpointRoute, { endpoint });
  for (const endpoint of STORED_RESPONSE_ENDPOINTS) await v1.register(storedResponseRoute, { endpoint });
  await v1.register(modelsRoute);
};
