{{/*
Checks the schema cannot express. Collects every problem, then fails once listing them all.
Config-level rules (local paths, memory state vs replicas) belong to `ranker-values gen`.
Numbers: Helm 4 hands them to templates as float64/int64, Helm 3 often as json.Number, whose kind
is "string" — so "is this a string" is `typeIs "string"`, never `kindIs "string"`.
*/}}
{{- define "ranker.validateValues" -}}
{{- $v := .Values -}}
{{- $problems := list -}}

{{- if not (trim $v.ranking.config) -}}
{{- $problems = append $problems "ranking.config is empty: generate the values with `ranker-values gen <config.yml>` and pass the lifecycle step's file, e.g. -f values/generated/bootstrap.yaml" -}}
{{- end -}}

{{- $s3 := $v.s3.auth -}}
{{- if and (eq $s3.mode "secret") (or (not $s3.accessKeyId) (not $s3.secretAccessKey)) -}}
{{- $problems = append $problems "s3.auth.mode is secret but s3.auth.accessKeyId or s3.auth.secretAccessKey is empty: set both, or use mode existingSecret / serviceAccount" -}}
{{- end -}}
{{- if and (eq $s3.mode "existingSecret") (not $s3.existingSecret) -}}
{{- $problems = append $problems "s3.auth.mode is existingSecret but s3.auth.existingSecret names no Secret" -}}
{{- end -}}

{{- $usesRedis := eq $v.ranking.state.type "redis" -}}
{{- if $v.redis.enabled -}}
{{- if and $v.redis.auth.enabled (not $v.redis.auth.password) (not $v.redis.auth.existingSecret) -}}
{{- $problems = append $problems "redis.auth.enabled needs redis.auth.password or redis.auth.existingSecret (the admin user's password)" -}}
{{- end -}}
{{- else if $usesRedis -}}
{{- if and $v.externalRedis.auth.enabled (not $v.externalRedis.auth.existingSecret) -}}
{{- $problems = append $problems "externalRedis.auth.enabled needs externalRedis.auth.existingSecret (a Secret holding the password)" -}}
{{- end -}}
{{- if $v.externalRedis.tls -}}
{{- $problems = append $problems "externalRedis.tls: Metarank 0.4.1 connects to Redis in plain TCP only; use a Redis endpoint without TLS inside a private network" -}}
{{- end -}}
{{- end -}}

{{- if and $v.sharedVolume.enabled (not $v.sharedVolume.existingClaim) -}}
{{- $problems = append $problems "sharedVolume.enabled needs sharedVolume.existingClaim (a ReadWriteMany PVC)" -}}
{{- end -}}
{{- if $v.sharedVolume.enabled -}}
{{- $mount := clean (toString $v.sharedVolume.mountPath) -}}
{{- /* Mount points of the chart's pods (and the operator's flink-config-volume): the API server
refuses a pod with one mountPath twice; below /config the read-only ConfigMap volume has no room
for a mount point. */ -}}
{{- $taken := list "/" "/config" "/tmp" "/opt/flink/log" "/opt/flink/plugins" "/opt/flink/conf" "/run/secrets/ranker-tune" -}}
{{- if or (has $mount $taken) (hasPrefix "/config/" $mount) -}}
{{- $problems = append $problems (printf "sharedVolume.mountPath %q is a mount point the chart already uses (%s, or below the read-only /config): the API server refuses a pod that mounts one path twice; use another path, e.g. /data" $v.sharedVolume.mountPath (join ", " (rest $taken))) -}}
{{- end -}}
{{- end -}}

{{- with include "ranker.reparseProblem" . -}}
{{- $problems = append $problems . -}}
{{- end -}}
{{- /* ValidateConfigMap: data keys plus values at most 1 MiB (core/v1 MaxSecretSize). */ -}}
{{- $configBytes := add (len (include "ranker.renderedConfig" .)) (len "config.yml") 1 -}}
{{- if gt $configBytes 1048576 -}}
{{- $problems = append $problems (printf "ranking.config: the ConfigMap would hold %d bytes; the API server accepts at most 1048576 (1 MiB): make the config smaller (ranker-values gen refuses such a config: RV907)" $configBytes) -}}
{{- end -}}

{{- /* A Service name must be a DNS-1035 label (start with a letter): the api Service is
<fullname>-api, the bundled Redis's <release>-redis. Other names may start with a digit. */ -}}
{{- $full := include "ranker.fullname" . -}}
{{- if and $v.stages.api.enabled (not (regexMatch "^[a-z]" $full)) -}}
{{- $problems = append $problems (printf "release name %q: the api Service would be named %q, but a Service name must start with a letter (DNS-1035); choose a release name starting with a letter, or set fullnameOverride" .Release.Name (include "ranker.apiServiceName" .)) -}}
{{- end -}}
{{- if and $v.redis.enabled (not (regexMatch "^[a-z]" .Release.Name)) -}}
{{- $problems = append $problems (printf "release name %q: the bundled Redis's Services would be named %q, but a Service name must start with a letter (DNS-1035); choose a release name starting with a letter" .Release.Name (include "ranker.bundledRedisHost" .)) -}}
{{- end -}}

{{- $forbidden := list "kubernetes.namespace" "kubernetes.cluster-id" "high-availability.cluster-id" -}}
{{- range $where, $conf := dict "flink.flinkConfiguration" $v.flink.flinkConfiguration "stages.bootstrap.flinkConfiguration" $v.stages.bootstrap.flinkConfiguration "stages.update.flinkConfiguration" $v.stages.update.flinkConfiguration -}}
{{- range $key := $forbidden -}}
{{- if hasKey $conf $key -}}
{{- $problems = append $problems (printf "%s.%s: the Flink operator sets this key itself and rejects deployments that set it" $where $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- $update := $v.stages.update -}}
{{- if $update.enabled -}}
{{- range $key := list "checkpoints" "savepoints" "savepoint" -}}
{{- if not (index $v.ranking.paths $key) -}}
{{- $problems = append $problems (printf "stages.update needs ranking.paths.%s (written by ranker-values gen)" $key) -}}
{{- end -}}
{{- end -}}
{{- if and $update.ha.enabled (not $v.ranking.paths.ha) -}}
{{- $problems = append $problems "stages.update.ha.enabled needs ranking.paths.ha (written by ranker-values gen)" -}}
{{- end -}}
{{- if and (gt (int $update.jobManager.replicas) 1) (not $update.ha.enabled) -}}
{{- $problems = append $problems "stages.update.jobManager.replicas > 1 needs stages.update.ha.enabled" -}}
{{- end -}}
{{- end -}}

{{- $api := $v.stages.api -}}
{{- $scale := $api.autoscaling -}}
{{- if and $scale.enabled (gt (int $scale.minReplicas) (int $scale.maxReplicas)) -}}
{{- $problems = append $problems "stages.api.autoscaling.minReplicas is larger than maxReplicas" -}}
{{- end -}}
{{- if and $scale.enabled (le (int $scale.targetCPUUtilizationPercentage) 0) (le (int $scale.targetMemoryUtilizationPercentage) 0) -}}
{{- $problems = append $problems "stages.api.autoscaling.enabled needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage above 0" -}}
{{- end -}}
{{- if $api.enabled -}}
{{- $percent := "^[0-9]+%$" -}}
{{- $surge := $api.maxSurge -}}
{{- if and (typeIs "string" $surge) (not (regexMatch $percent $surge)) -}}
{{- $problems = append $problems (printf "stages.api.maxSurge %q: an integer or a percentage like \"25%%\"" $surge) -}}
{{- else if eq (trimSuffix "%" (toString $surge)) "0" -}}
{{- $problems = append $problems "stages.api.maxSurge is 0: with maxUnavailable 0 (always) a rollout could never start a new pod" -}}
{{- end -}}
{{- with and $api.pdb.enabled (include "ranker.pdbProblem" $api) -}}
{{- $problems = append $problems . -}}
{{- end -}}
{{- end -}}
{{- if and $api.ingress.enabled (not $api.ingress.hosts) -}}
{{- $problems = append $problems "stages.api.ingress.enabled needs at least one entry in stages.api.ingress.hosts" -}}
{{- end -}}
{{- if and $api.httpRoute.enabled (not $api.httpRoute.parentRefs) -}}
{{- $problems = append $problems "stages.api.httpRoute.enabled needs at least one entry in stages.api.httpRoute.parentRefs (the Gateway to attach to)" -}}
{{- end -}}

{{- $bootstrap := $v.stages.bootstrap -}}
{{- if and $bootstrap.enabled (eq $bootstrap.mode "flink") (gt (int $bootstrap.jobManager.replicas) 1) -}}
{{- $conf := merge (dict) $bootstrap.flinkConfiguration $v.flink.flinkConfiguration -}}
{{- if not (or (hasKey $conf "high-availability") (hasKey $conf "high-availability.type")) -}}
{{- $problems = append $problems "stages.bootstrap.jobManager.replicas > 1: standby JobManagers need high availability, which the batch bootstrap does not use; set it to 1" -}}
{{- end -}}
{{- end -}}

{{- $problems = concat $problems (fromYamlArray (include "ranker.engineProblems" .)) -}}
{{- $problems = concat $problems (fromYamlArray (include "ranker.tuneProblems" .)) -}}
{{- $problems = concat $problems (fromYamlArray (include "ranker.metricsProblems" .)) -}}

{{- if $problems -}}
{{- fail (printf "\n\nranker: %d problem(s) in the values:\n  - %s\n" (len $problems) (join "\n  - " $problems)) -}}
{{- end -}}
{{- end -}}

{{/*
The problem (or nothing) with the api's PodDisruptionBudget, judged at the fewest replicas the
api can have (autoscaling.minReplicas or replicaCount): a budget that allows no disruption at
that size blocks every node drain. Call with .Values.stages.api.
*/}}
{{- define "ranker.pdbProblem" -}}
{{- $pdb := .pdb -}}
{{- $replicas := int (ternary .autoscaling.minReplicas .replicaCount .autoscaling.enabled) -}}
{{- $where := ternary "stages.api.autoscaling.minReplicas" "stages.api.replicaCount" .autoscaling.enabled -}}
{{- $percent := "^[0-9]+%$" -}}
{{- $min := $pdb.minAvailable -}}
{{- $max := $pdb.maxUnavailable -}}
{{- /* minAvailable 0 means "use maxUnavailable"; Helm 3's json.Number "0" is truthy, so compare text. */ -}}
{{- if eq (toString $min) "0" -}}{{- $min = "" -}}{{- end -}}
{{- $blocked := "" -}}
{{- if and (typeIs "string" $min) $min (not (regexMatch $percent $min)) -}}
{{- printf "stages.api.pdb.minAvailable %q: an integer or a percentage like \"50%%\"" $min -}}
{{- else if and (not $min) (typeIs "string" $max) (not (regexMatch $percent $max)) -}}
{{- printf "stages.api.pdb.maxUnavailable %q: an integer or a percentage like \"50%%\"" $max -}}
{{- else -}}
{{- if and $min (typeIs "string" $min) -}}
{{- /* Kubernetes rounds a minAvailable percentage up: ceil(p * n / 100) >= n blocks. */ -}}
{{- if gt (mul (int (trimSuffix "%" $min)) $replicas) (mul 100 (sub $replicas 1)) -}}
{{- $blocked = printf "minAvailable %s" $min -}}
{{- end -}}
{{- else if $min -}}
{{- if ge (int $min) $replicas -}}
{{- $blocked = printf "minAvailable %v" $min -}}
{{- end -}}
{{- else if eq (trimSuffix "%" (toString $max)) "0" -}}
{{- $blocked = printf "maxUnavailable %v" $max -}}
{{- end -}}
{{- with $blocked -}}
{{- printf "stages.api.pdb.%s with %s %d allows no disruption and would block every node drain: lower it or add replicas" . $where $replicas -}}
{{- end -}}
{{- end -}}
{{- end -}}
