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

{{- $bootstrap := $v.stages.bootstrap -}}
{{- if and $bootstrap.enabled (eq $bootstrap.mode "flink") (gt (int $bootstrap.jobManager.replicas) 1) -}}
{{- $conf := merge (dict) $bootstrap.flinkConfiguration $v.flink.flinkConfiguration -}}
{{- if not (or (hasKey $conf "high-availability") (hasKey $conf "high-availability.type")) -}}
{{- $problems = append $problems "stages.bootstrap.jobManager.replicas > 1: standby JobManagers need high availability, which the batch bootstrap does not use; set it to 1" -}}
{{- end -}}
{{- end -}}

{{- $problems = concat $problems (fromYamlArray (include "ranker.engineProblems" .)) -}}
{{- $problems = concat $problems (fromYamlArray (include "ranker.tuneProblems" .)) -}}

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
