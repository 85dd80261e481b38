# Skymesh payment gateway image. Build from the repository root:
#   docker build -f docker/gateway.Dockerfile -t skymesh/gateway .
#
# Debian (glibc) based, so sodium-native's prebuilds load and @skymesh/crypto
# runs its sodium backend (checked at build time).
#
# Stage 1 installs the workspace and compiles @skymesh/crypto, @skymesh/protocol,
# @skymesh/service-kit and @skymesh/gateway to JavaScript; stage 2 keeps only
# the gateway's production dependencies and its migrations (pnpm deploy) and
# runs as an unprivileged user. Database: DATABASE_URL (PostgreSQL), else
# PGlite in PGLITE_DIR (else in memory).

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
# --filter-prod: the gateway's workspace devDependencies (@skymesh/node, for
# its tests) are not installed or built.
RUN pnpm install --frozen-lockfile --filter-prod "@skymesh/gateway..." --filter skymesh
# Sources, build configs and migrations only (never a host node_modules or dist).
COPY packages/crypto/src packages/crypto/src
COPY packages/crypto/tsconfig.build.json packages/crypto/
COPY packages/protocol/src packages/protocol/src
COPY packages/protocol/tsconfig.build.json packages/protocol/
COPY packages/service-kit/src packages/service-kit/src
COPY packages/service-kit/tsconfig.build.json packages/service-kit/
COPY services/gateway/src services/gateway/src
COPY services/gateway/drizzle services/gateway/drizzle
COPY services/gateway/tsconfig.build.json services/gateway/
RUN pnpm --filter-prod "@skymesh/gateway..." run build \
 && pnpm --filter @skymesh/gateway deploy --prod --legacy /out

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8402
WORKDIR /app
COPY --from=build --chown=root:root /out/package.json ./package.json
COPY --from=build --chown=root:root /out/node_modules ./node_modules
COPY --from=build --chown=root:root /out/dist ./dist
COPY --from=build --chown=root:root /out/drizzle ./drizzle
# Fails the build if the native crypto backend does not load here.
RUN node -e "import('@skymesh/crypto').then(async (c) => { await c.ready(); if (c.backend().name !== 'sodium') throw new Error('crypto backend: ' + c.backend().name); })"
# A named volume mounted here (PGLITE_DIR=/data/pglite) starts out owned by `node`.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8402
# Migrations (drizzle/) are applied at start; the process exits non-zero on a bad env value.
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8402)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
