# Minimal image for now; the Kubernetes issue adds iptables/iproute2, non-root and OCI labels.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm ci --ignore-scripts && npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
ENTRYPOINT ["node", "/app/bin/ballast.js"]
CMD ["serve"]
