# ballast image: Node.js 24 (official, Debian bookworm slim) and ballast as one bundled file (dist/bundle.js, with
# every library in it), plus iproute2 and iptables for node setup (--setup-interface, --setup-iptables).
# deploy/base/daemonset.yaml runs it.
#
#   npm run image                  # podman: deploy/image/build.sh, the build test/image runs
#   docker build -t ballast:0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
#
# Stages: build (all dependencies: tsc, then esbuild bundles dist/cli.js and the libraries it imports into
# dist/bundle.js) → runtime (that file alone: no node_modules, no npm cache, no devDependency; not the `node`
# package either, whose Node.js binary would double the image). One file instead of some 160 modules is 4–5 MiB
# less resident memory per pod (bench/modules.js, docs/performance.md §2).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied, and the `node` devDependency's preinstall
# would fetch a second Node.js; the image's own Node 24 builds. Its uninstalled shim node_modules/.bin/node is
# removed so that `npm run build` finds that node. (esbuild's binary comes from its platform package; its install
# script only checks it.)
# The npmrc secret (optional) carries registry settings such as a CA file, without leaving them in a layer
# (deploy/image/build.sh passes this machine's).
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --mount=type=secret,id=npm_ca \
    npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# iproute2 for the nodelocaldns interface; iptables brings both backends (iptables-nft and iptables-legacy), so ballast
# can use whichever one the node's kube-proxy uses. npm and corepack are removed: nothing installs at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 iptables \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && mkdir -p /var/lib/ballast /run/ballast \
 && chown node:node /var/lib/ballast /run/ballast
WORKDIR /app
ENV NODE_ENV=production
# The default snapshot place (persistence.path's default follows systemd's StateDirectory= variable): the node user's
# directory made above. The DaemonSet names its hostPath file in the ConfigMap anyway.
ENV STATE_DIRECTORY=/var/lib/ballast
COPY --from=build /app/dist/bundle.js /app/dist/bundle.js.map ./dist/
COPY package.json ./
COPY bin/ballast.js bin/lean.js ./bin/
# Non-root by default: `docker run ballast serve --listen 0.0.0.0:5353` needs no privilege, and the default snapshot
# directory is the node user's. Node setup does need root: the `ip` and `iptables` children get no capabilities as
# any other user (Kubernetes sets no ambient capabilities), and the host's /run/xtables.lock belongs to root. The
# DaemonSet therefore sets runAsUser: 0 itself, with every capability dropped but NET_ADMIN, NET_BIND_SERVICE and
# NET_RAW (deploy/base/daemonset.yaml says why each).
USER node
EXPOSE 53/udp 53/tcp 9253/tcp
# Node.js runs as PID 1: ballast handles SIGTERM, SIGINT and SIGHUP itself and reaps its own children. The
# launcher makes the process lean as it does everywhere else (bin/lean.js: V8's heap flags and glibc's MALLOC_*
# settings, docs/performance.md §2): it re-runs itself with them, same PID, before ballast is loaded.
ENTRYPOINT ["node", "/app/bin/ballast.js"]
CMD ["serve"]
# Labels last: the build's revision and date change with every build, and would otherwise invalidate the cached
# layers above.
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="ballast" \
      org.opencontainers.image.description="Node-local DNS cache for Kubernetes that keeps answering when the control plane does not" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
