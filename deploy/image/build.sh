#!/usr/bin/env bash
# `npm run image`: builds the ballast image from this checkout with podman, from the repository's Dockerfile, and
# prints its size and what is in it. The base is the official node:24-bookworm-slim when a registry answers, and
# otherwise a local equivalent built from Debian packages and the npm registry (deploy/image/base.sh); the same
# Dockerfile either way. Set NODE_IMAGE to choose the base yourself, IMAGE to name the result.
#
#   npm run image                     # → localhost/ballast:<version from package.json>
#   IMAGE=registry.example/ballast:1 npm run image
#
# Needs podman (as root, with runc: deploy/image/containers.conf); with docker, run the `docker build` line in the
# Dockerfile's header instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/image/containers.conf}"

command -v podman >/dev/null || { echo "image: podman is not installed (Debian: apt-get install podman runc mmdebstrap)" >&2; exit 2; }
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)"
image="${IMAGE:-localhost/ballast:$version}"
official="docker.io/library/node:24-bookworm-slim"

base="${NODE_IMAGE:-}"
if [[ -z "$base" ]]; then
  if podman image exists "$official" || timeout 120 podman pull --quiet "$official" >/dev/null 2>&1; then
    base="$official"
  else
    echo "image: $official cannot be pulled; using a local equivalent (deploy/image/base.sh)" >&2
    base="$(deploy/image/base.sh)"
  fi
fi

# npm in the build stage trusts the same certificate authorities as npm here: a registry behind an intercepting
# proxy or a private registry with its own CA. Passed as build secrets, so neither file stays in any layer.
secrets=()
cafile="$(npm config get cafile 2>/dev/null || true)"
if [[ -n "$cafile" && "$cafile" != "null" && "$cafile" != "undefined" && -r "$cafile" ]]; then
  npmrc="$(mktemp /tmp/ballast-npmrc.XXXXXX)"
  trap 'rm -f "$npmrc"' EXIT
  printf 'cafile=/run/secrets/npm_ca\n' >"$npmrc"
  secrets=(--secret "id=npmrc,src=$npmrc" --secret "id=npm_ca,src=$cafile")
fi

started=$SECONDS
podman build --quiet --layers \
  --build-arg "NODE_IMAGE=$base" \
  --build-arg "VERSION=$version" \
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "${secrets[@]}" \
  --tag "$image" . >/dev/null

size="$(podman image inspect --format '{{.Size}}' "$image")"
contents="$(podman run --rm --entrypoint /bin/sh "$image" -c \
  'echo "node $(node --version)"; echo "bundle $(stat -c %s /app/dist/bundle.js) bytes";
   if command -v npm >/dev/null || [ -e /usr/local/lib/node_modules/npm ]; then echo "npm present"; else echo "npm absent"; fi')"
echo "image: $image built in $((SECONDS - started)) s from $base"
echo "image: $((size / 1000000)) MB ($size bytes); $(echo "$contents" | paste -sd ';' | sed 's/;/; /g')"
