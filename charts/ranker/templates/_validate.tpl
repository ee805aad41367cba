{{/*
Checks the schema cannot express. Collects every problem, then fails once listing them all.
Config-level rules (local paths, memory state vs replicas) belong to `ranker-values gen`.
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
{{- if and $api.autoscaling.enabled (gt (int $api.autoscaling.minReplicas) (int $api.autoscaling.maxReplicas)) -}}
{{- $problems = append $problems "stages.api.autoscaling.minReplicas is larger than maxReplicas" -}}
{{- end -}}
{{- if and $api.enabled $api.pdb.enabled (not $api.autoscaling.enabled) $api.pdb.minAvailable (ge (int $api.pdb.minAvailable) (int $api.replicaCount)) -}}
{{- $problems = append $problems "stages.api.pdb.minAvailable >= stages.api.replicaCount would block every node drain: lower it or add replicas" -}}
{{- end -}}
{{- if and $api.ingress.enabled (not $api.ingress.hosts) -}}
{{- $problems = append $problems "stages.api.ingress.enabled needs at least one entry in stages.api.ingress.hosts" -}}
{{- end -}}

{{- if and (index $v "flink-kubernetes-operator" "enabled") (not (hasKey .Subcharts "flink-kubernetes-operator")) -}}
{{- $problems = append $problems "flink-kubernetes-operator.enabled but the operator chart is not in charts/ranker/charts: run `helm dependency update charts/ranker` first" -}}
{{- end -}}

{{- if $problems -}}
{{- fail (printf "\n\nranker: %d problem(s) in the values:\n  - %s\n" (len $problems) (join "\n  - " $problems)) -}}
{{- end -}}
{{- end -}}
