# Skymesh route server image.
#
#   docker build -f docker/route-server.Dockerfile -t skymesh/route-server .
#   docker run -p 8401:8401 -e ROUTE_SERVER_KEY=<64 hex> skymesh/route-server
#
# Stage 1 installs the workspace packages the service needs and compiles
# them (crypto → protocol → service-kit → route-server); stage 2 keeps only the compiled
# service and its production dependencies, and runs as the unprivileged
# `node` user. Configuration is by environment (docs/route-server.md).

ARG NODE_VERSION=20.20

FROM node:${NODE_VERSION}-alpine AS build
# pnpm from the npm registry (pinned like package.json's packageManager).
RUN npm install -g pnpm@10.34.9
WORKDIR /src
# Manifests first, so the dependency layer is cached across source changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc tsconfig.base.json ./
COPY packages/crypto/package.json packages/crypto/
COPY packages/protocol/package.json packages/protocol/
COPY packages/service-kit/package.json packages/service-kit/
COPY services/route-server/package.json services/route-server/
# The root project ("skymesh") brings the TypeScript compiler the builds use.
RUN pnpm install --frozen-lockfile --filter "@skymesh/route-server..." --filter skymesh
# Sources and build configs only (never a host node_modules or dist).
COPY packages/crypto/src packages/crypto/src
COPY packages/crypto/tsconfig.build.json packages/crypto/
COPY packages/protocol/src packages/protocol/src
COPY packages/protocol/tsconfig.build.json packages/protocol/
COPY packages/service-kit/src packages/service-kit/src
COPY packages/service-kit/tsconfig.build.json packages/service-kit/
COPY services/route-server/src services/route-server/src
COPY services/route-server/tsconfig.build.json services/route-server/
RUN pnpm --filter "@skymesh/route-server..." run build \
 && pnpm --filter @skymesh/route-server deploy --prod --legacy /out

FROM node:${NODE_VERSION}-alpine AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8401
WORKDIR /app
COPY --from=build --chown=node:node /out/package.json ./package.json
COPY --from=build --chown=node:node /out/node_modules ./node_modules
COPY --from=build --chown=node:node /out/dist ./dist
USER node
EXPOSE 8401
HEALTHCHECK --interval=30s --timeout=5s CMD wget -qO- "http://127.0.0.1:${PORT}/health" >/dev/null || exit 1
CMD ["node", "dist/main.js"]
