# The APG Service Mesh control plane; the demo greeter and client run from the same image
# (docker-compose.yml gives them their own command).
FROM node:20-slim

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lock file changes, not on every source edit.
# All of them, dev ones included, because the image runs TypeScript through tsx without a build step.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .

# Not root; DATA_DIR (./data, the embedded PGlite used when DATABASE_URL is unset) must be writable.
RUN mkdir -p /app/data && chown node:node /app/data
USER node

# REST API and xDS (ADS); HOST defaults to 0.0.0.0, so both are reachable from other containers.
EXPOSE 8080 18000

# What `npx tsx src/cli.ts serve` runs, without npx: npx starts tsx under `sh -c`, and that shell
# dies on SIGTERM without passing it on, so `docker stop` would never reach the control plane's
# graceful shutdown. tsx itself relays SIGTERM and SIGINT to the program.
# --max-semi-space-size=64: a young generation of up to 2 × 64 MB, so that access-log records
# die young instead of being promoted and collected by the old generation's GC (bench:als: about
# 14% more entries/s per core, ~40 MB more RSS; docs/benchmarks.md).
CMD ["node_modules/.bin/tsx", "--max-semi-space-size=64", "src/cli.ts", "serve"]
