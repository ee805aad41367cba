#!/usr/bin/env bash
# Starts a local Kubernetes control plane for the `kube` tests, no containers: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kwok (one fake node whose pods are
# reported Running) and the Flink Kubernetes operator as a JVM process (webhook off), with the
# operator's CRDs applied. Everything binds to 127.0.0.1. Idempotent: when the API server in
# the state folder answers, nothing is started again.
#
# Tools come from scripts/kube-tools.sh (${RANKER_TOOLS_DIR:-.tools}). State, certificates, logs
# and PIDs live in ${RANKER_KUBE_DIR:-$RANKER_TOOLS_DIR/kube}. The last line of output is
# KUBECONFIG=<path>. scripts/kube-down.sh stops the processes by PID.
#
#   RANKER_KUBE_OPERATOR=0   do not start the Flink operator (CRDs are applied all the same)
#   RANKER_KUBE_WATCHED=a,b  namespaces the operator reconciles (default below: the kube tests'
#                            own; FlinkDeployments elsewhere keep the status a test writes)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${RANKER_TOOLS_DIR:-$root/.tools}"
case "$tools" in /*) ;; *) tools="$root/$tools" ;; esac
bin="$tools/bin"
state="${RANKER_KUBE_DIR:-$tools/kube}"
pki="$state/pki"
logs="$state/logs"
pids="$state/pids"
kubeconfig="$state/admin.kubeconfig"
mkdir -p "$pki" "$logs" "$pids"

log() { printf 'kube-up: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
  [ -x "$bin/$b" ] || die "$bin/$b missing: run scripts/kube-tools.sh first"
done
kubectl() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

alive() { [ -f "$pids/$1.pid" ] && kill -0 "$(cat "$pids/$1.pid")" 2>/dev/null; }
api_ready() { [ -f "$kubeconfig" ] && kubectl get --raw /readyz >/dev/null 2>&1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# --- ports (chosen once, kept in the state folder) ------------------------------------------
if [ ! -f "$state/ports" ]; then
  {
    echo "ETCD_CLIENT=$(free_port)"; echo "ETCD_PEER=$(free_port)"; echo "API=$(free_port)"
    echo "KCM=$(free_port)"; echo "SCHED=$(free_port)"; echo "KWOK=$(free_port)"
    echo "OPERATOR_HEALTH=$(free_port)"
  } >"$state/ports"
fi
# shellcheck disable=SC1091
. "$state/ports"

# --- certificates and service-account keys (openssl, self-signed CA) ------------------------
if [ ! -f "$pki/admin.crt" ]; then
  log "creating certificates in $pki"
  (
    cd "$pki"
    openssl genrsa -out ca.key 2048 2>/dev/null
    openssl req -x509 -new -key ca.key -days 3650 -subj "/CN=ranker-test-ca" -out ca.crt 2>/dev/null
    openssl genrsa -out apiserver.key 2048 2>/dev/null
    openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n' >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out admin.key 2048 2>/dev/null
    openssl req -new -key admin.key -subj "/O=system:masters/CN=ranker-admin" -out admin.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >admin.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile admin.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  )
fi

if [ ! -f "$kubeconfig" ]; then
  cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ranker-test
  cluster:
    server: https://127.0.0.1:$API
    certificate-authority: $pki/ca.crt
users:
- name: admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: ranker-test
  context: {cluster: ranker-test, user: admin, namespace: default}
current-context: ranker-test
EOF
fi

start() {  # name, then the command: started detached, PID recorded, output in logs/
  local name="$1"; shift
  if alive "$name"; then return; fi
  log "starting $name"
  setsid "$@" >"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$pids/$name.pid"
}

wait_for() {  # description, seconds, command...
  local what="$1" limit="$2"; shift 2
  local until=$(( $(date +%s) + limit ))
  until "$@"; do
    [ "$(date +%s)" -lt "$until" ] || die "$what not ready after ${limit}s (logs: $logs)"
    sleep 0.5
  done
}

t0=$(date +%s)

start etcd "$bin/etcd" --name ranker-test --data-dir "$state/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "ranker-test=http://127.0.0.1:$ETCD_PEER" --unsafe-no-fsync --quota-backend-bytes 1073741824
etcd_ready() { python3 - "$ETCD_CLIENT" <<'EOF'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=1).read()
except Exception:
    sys.exit(1)
EOF
}
wait_for etcd 60 etcd_ready

start kube-apiserver "$bin/kube-apiserver" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API" \
  --etcd-servers "http://127.0.0.1:$ETCD_CLIENT" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" --cert-dir "$pki" \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range 10.96.0.0/16 --authorization-mode RBAC --allow-privileged=true \
  --enable-priority-and-fairness=false --profiling=false
wait_for kube-apiserver 120 api_ready

start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$KCM" --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --use-service-account-credentials=false --controllers '*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle' \
  --profiling=false
start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHED" --leader-elect=false --profiling=false
stages=()
for f in "$tools"/kwok-stages/*.yaml; do stages+=(-c "$f"); done
[ "${#stages[@]}" -gt 0 ] || die "$tools/kwok-stages is empty: run scripts/kube-tools.sh control-plane"
start kwok "$bin/kwok" --kubeconfig "$kubeconfig" "${stages[@]}" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --cidr 10.244.0.0/24 --node-ip 127.0.0.1 --server-address "127.0.0.1:$KWOK"

# one fake node that kwok keeps Ready; pods bound to it are reported Running
if ! kubectl get node kwok-node-0 >/dev/null 2>&1; then
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-0, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
status:
  allocatable: {cpu: "64", memory: 256Gi, pods: "250", ephemeral-storage: 1Ti}
  capacity: {cpu: "64", memory: 256Gi, pods: "250", ephemeral-storage: 1Ti}
EOF
fi
# The API server taints a new node not-ready (TaintNodesByCondition); the node-lifecycle controller
# that would lift it is off (no kubelet leases here), so lift it once kwok reports the node Ready.
node_ready() {
  kubectl get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True
}
wait_for "kwok node Ready" 60 node_ready
if kubectl get node kwok-node-0 -o jsonpath='{.spec.taints[*].key}' | grep -q node.kubernetes.io/not-ready; then
  kubectl taint node kwok-node-0 node.kubernetes.io/not-ready:NoSchedule- >/dev/null
fi
sa_ready() { kubectl -n default get serviceaccount default >/dev/null 2>&1; }
wait_for "default service account (controller-manager)" 120 sa_ready

# --- the Flink operator: CRDs from its own jar, then the JVM ---------------------------------
op="$tools/flink-operator"
if [ -d "$op/crds" ]; then
  kubectl apply --server-side -f "$op/crds" >/dev/null
  crd_established() {
    kubectl get crd "$1" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null | grep -q True
  }
  for crd in $(ls "$op/crds" | sed 's/-v1.yml$//'); do
    wait_for "CRD $crd" 60 crd_established "$crd"
  done
fi
if [ "${RANKER_KUBE_OPERATOR:-1}" = 1 ]; then
  [ -d "$op/lib" ] || die "$op/lib missing: run scripts/kube-tools.sh operator first"
  mkdir -p "$state/operator-conf"
  cat >"$state/operator-conf/flink-conf.yaml" <<EOF
kubernetes.operator.watched.namespaces: ${RANKER_KUBE_WATCHED:-ranker-dev,ranker-prod,ranker-ops,ranker-flink}
kubernetes.operator.health.probe.enabled: true
kubernetes.operator.health.probe.port: $OPERATOR_HEALTH
kubernetes.operator.reconcile.interval: 5 s
kubernetes.operator.observer.progress-check.interval: 2 s
kubernetes.operator.metrics.reporter.slf4j.factory.class: org.apache.flink.metrics.slf4j.Slf4jReporterFactory
kubernetes.operator.metrics.reporter.slf4j.interval: 1 h
kubernetes.operator.resource.cleanup.timeout: 5 s
kubernetes.operator.job.upgrade.last-state-fallback.enabled: false
rest.bind-address: 127.0.0.1
EOF
  cat >"$state/operator-conf/log4j-operator.properties" <<'EOF'
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-40c{1} - %m%n
EOF
  cp "$state/operator-conf/log4j-operator.properties" "$state/operator-conf/log4j-console.properties"
  # The operator would resolve in-cluster names (<job>-rest.<ns>) through the machine's DNS; with
  # its own hosts file the JVM resolves nothing but localhost and never leaves the machine. The
  # flink bridge (tests/support/flinkbridge.py) adds <cluster>-rest.<ns> for the JobManagers it
  # runs; the JVM reads the file on every lookup and caches no answer (ttl 0).
  [ -f "$state/operator-conf/hosts" ] || printf '127.0.0.1 localhost\n' >"$state/operator-conf/hosts"
  java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  # Without KUBERNETES_SERVICE_HOST the operator believes it runs outside the cluster and sends
  # every REST call to localhost:<rest.port> (a port-forward); set, it addresses each JobManager as
  # in a cluster, <cluster>-rest.<namespace>:<rest.port>, resolved through the hosts file above.
  # The variables name the real API server; the Kubernetes client still reads KUBECONFIG.
  KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$API" \
    KUBECONFIG="$kubeconfig" FLINK_CONF_DIR="$state/operator-conf" OPERATOR_NAMESPACE=flink-operator \
    HOST_IP=127.0.0.1 OPERATOR_NAME=flink-kubernetes-operator \
    start flink-operator "$java_bin" -Xmx512m -XX:+UseSerialGC -Djdk.net.hosts.file="$state/operator-conf/hosts" \
    -Dsun.net.inetaddr.ttl=0 -Dsun.net.inetaddr.negative.ttl=0 \
    -Dlog4j.configurationFile="$state/operator-conf/log4j-operator.properties" \
    -cp "$op/lib/*" org.apache.flink.kubernetes.operator.FlinkOperator
  op_ready() {
    python3 - "$OPERATOR_HEALTH" <<'EOF'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=1).read()
except Exception:
    sys.exit(1)
EOF
  }
  wait_for "flink operator (health probe)" 180 op_ready
fi

log "control plane up in $(( $(date +%s) - t0 ))s (API https://127.0.0.1:$API, logs in $logs)"
echo "KUBECONFIG=$kubeconfig"
