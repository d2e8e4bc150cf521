# syntax=docker/dockerfile:1

# Build stage: compiles TypeScript to dist/ with the dev dependencies.
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script would run tsc before the sources are here.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies, the compiled gateway and its config, run as the unprivileged `node` user.
FROM node:22-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
COPY console ./console
# The embedded store's folder (database.path), writable by the user the gateway runs as.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# Slim images have no curl: node itself asks /healthz (PORT overrides the configured port, as in the gateway).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# As `npm start`: a 16 MiB young generation (Node 20's default; see docs/performance.md, "Node flags").
CMD ["node", "--max-semi-space-size=16", "dist/main.js"]
