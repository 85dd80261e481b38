# Skymesh route server image.
#
#   docker build -f docker/route-server.Dockerfile -t skymesh/route-server .
#   docker run -p 8401:8401 -e ROUTE_SERVER_KEY=<64 hex> skymesh/route-server
#
# Debian (glibc) based, so sodium-native's prebuilds load and @skymesh/crypto
# runs its sodium backend (checked at build time); on Alpine/musl it would
# fall back to the slower openssl backend.
#
# Stage 1 installs the workspace packages the service needs and compiles
# them (crypto → protocol → service-kit → route-server); stage 2 keeps only the compiled
# service and its production dependencies, and runs as the unprivileged
# `node` user. Configuration is by environment (docs/route-server.md).

ARG NODE_VERSION=20.20

FROM node:${NODE_VERSION}-bookworm-slim AS build
ENV CI=1
# pnpm from the npm registry (pinned like package.json's packageManager).
RUN npm install -g pnpm@10.34.9
WORKDIR /src
# Manifests first, so the dependency layer is cached across source changes.
# Every workspace package's manifest (pnpm-workspace.yaml lists packages/*,
# services/*, tools/*): --frozen-lockfile checks the lockfile against all.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc tsconfig.base.json ./
COPY packages/crypto/package.json packages/crypto/
COPY packages/protocol/package.json packages/protocol/
COPY packages/service-kit/package.json packages/service-kit/
COPY services/gateway/package.json services/gateway/
COPY services/node/package.json services/node/
COPY services/route-server/package.json services/route-server/
COPY tools/local-stack/package.json tools/local-stack/
# The root project ("skymesh") brings the TypeScript compiler the builds use.
RUN pnpm install --frozen-lockfile --filter-prod "@skymesh/route-server..." --filter skymesh
# Sources and build configs only (never a host node_modules or dist).
COPY packages/crypto/src packages/crypto/src
COPY packages/crypto/tsconfig.build.json packages/crypto/
COPY packages/protocol/src packages/protocol/src
COPY packages/protocol/tsconfig.build.json packages/protocol/
COPY packages/service-kit/src packages/service-kit/src
COPY packages/service-kit/tsconfig.build.json packages/service-kit/
COPY services/route-server/src services/route-server/src
COPY services/route-server/tsconfig.build.json services/route-server/
RUN pnpm --filter-prod "@skymesh/route-server..." run build \
 && pnpm --filter @skymesh/route-server deploy --prod --legacy /out

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8401
WORKDIR /app
COPY --from=build --chown=node:node /out/package.json ./package.json
COPY --from=build --chown=node:node /out/node_modules ./node_modules
COPY --from=build --chown=node:node /out/dist ./dist
# Fails the build if the native crypto backend does not load here.
RUN node -e "import('@skymesh/crypto').then(async (c) => { await c.ready(); if (c.backend().name !== 'sodium') throw new Error('crypto backend: ' + c.backend().name); })"
USER node
EXPOSE 8401
# The slim image has no wget/curl: node's fetch checks /health.
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8401)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
