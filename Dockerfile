# One image for every Tailrace deployable; the compose file picks the command (`tailrace doppler`, `tailrace agent`, …).
FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN npm install -g pnpm@10.34.9
COPY . .
RUN pnpm install --frozen-lockfile && pnpm run build && pnpm deploy --filter @tailrace/cli --prod --legacy /app

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
USER node
ENTRYPOINT ["node", "/app/bin/tailrace.mjs"]
