# Skymesh payment gateway image. Build from the repository root:
#   docker build -f docker/gateway.Dockerfile -t skymesh/gateway .
# Stage 1 installs the workspace and compiles @skymesh/crypto, @skymesh/protocol
# and @skymesh/gateway to JavaScript; stage 2 keeps only the gateway's
# production dependencies (pnpm deploy) and runs as an unprivileged user.

FROM node:20-slim AS build
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CI=1
# pnpm from the npm registry (pinned like package.json's packageManager).
RUN npm install -g pnpm@10.34.9
WORKDIR /src
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json tsconfig.base.json turbo.json ./
COPY packages ./packages
COPY services/gateway ./services/gateway
RUN pnpm install --frozen-lockfile --filter @skymesh/gateway...
RUN pnpm --filter @skymesh/gateway... run build
RUN pnpm --filter @skymesh/gateway deploy --prod --legacy /out

FROM node:20-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8402
WORKDIR /app
COPY --from=build --chown=root:root /out /app
USER node
EXPOSE 8402
# Migrations (drizzle/) are applied at start; the process exits non-zero on a bad env value.
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8402)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
