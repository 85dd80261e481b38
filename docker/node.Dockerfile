# Skymesh mesh node image: the `skymesh` CLI (node, mesh, plan, demo-http,
# keygen, status) compiled to JavaScript.
#
#   docker build -f docker/node.Dockerfile -t skymesh/node .
#   docker run --rm skymesh/node --help
#   docker run -v "$PWD/node.json:/etc/skymesh/node.json:ro" skymesh/node node --config /etc/skymesh/node.json
#
# Debian (glibc) based: sodium-native's Linux prebuilds need glibc, so on
# this base @skymesh/crypto runs its sodium backend (on Alpine/musl it would
# fall back to the slower openssl one). The runtime stage checks it loads.
#
# Stage 1 installs the workspace packages the node needs and compiles them
# with the same `build` scripts CI runs (crypto → protocol → node); stage 2
# keeps only the compiled node and its production dependencies and runs as
# the unprivileged `node` user. /plan is where `skymesh plan` writes the
# compose mesh's configs (docker/compose.yaml).

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
RUN pnpm install --frozen-lockfile --filter-prod "@skymesh/node..." --filter skymesh
# Sources and build configs only (never a host node_modules or dist).
COPY packages/crypto/src packages/crypto/src
COPY packages/crypto/tsconfig.build.json packages/crypto/
COPY packages/protocol/src packages/protocol/src
COPY packages/protocol/tsconfig.build.json packages/protocol/
COPY services/node/src services/node/src
COPY services/node/tsconfig.build.json services/node/
RUN pnpm --filter-prod "@skymesh/node..." run build \
 && pnpm --filter @skymesh/node deploy --prod --legacy /out

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /out/package.json ./package.json
COPY --from=build --chown=node:node /out/node_modules ./node_modules
COPY --from=build --chown=node:node /out/dist ./dist
# Fails the build if the native crypto backend does not load here.
RUN node -e "import('@skymesh/crypto').then(async (c) => { await c.ready(); if (c.backend().name !== 'sodium') throw new Error('crypto backend: ' + c.backend().name); })"
# A named volume mounted here starts out owned by `node`.
RUN mkdir -p /plan /data && chown node:node /plan /data
USER node
# Links (ws), SOCKS5, API.
EXPOSE 7000 1080 8600
ENTRYPOINT ["node", "dist/cli/skymesh.js"]
CMD ["--help"]
