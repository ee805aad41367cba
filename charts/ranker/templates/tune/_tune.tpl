{{/*
The tune stage (ranker-values tune, issue 12) runs in the train step in place of the train Job of
each model in stages.tune.models: a tasker Job per model publishes the trials to RabbitMQ, the
worker Deployment (replicas = trials in parallel) runs them. It renders only while the train
Jobs would (train step up to api), so the lifecycle stays one `helm upgrade` per step.
*/}}
{{- define "ranker.tuneActive" -}}
{{- if and .Values.stages.tune.enabled .Values.stages.train.enabled .Values.stages.tune.models -}}true{{- end -}}
{{- end -}}

{{/* The Secret (name, key) holding the broker URL: mounted as a file, never in the environment or a ConfigMap. */}}
{{- define "ranker.tuneBrokerSecret" -}}
{{- if .Values.rabbitmq.enabled -}}
{{- toJson (dict "name" (.Values.rabbitmq.auth.existingSecret | default (printf "%s-rabbitmq" .Release.Name | trunc 63 | trimSuffix "-")) "key" "url") -}}
{{- else if .Values.externalRabbitmq.existingSecret -}}
{{- toJson (dict "name" .Values.externalRabbitmq.existingSecret "key" .Values.externalRabbitmq.urlKey) -}}
{{- end -}}
{{- end -}}

{{/* What is wrong with the tune values (a YAML list; ranker.validateValues lists it with the rest). */}}
{{- define "ranker.tuneProblems" -}}
{{- $problems := list -}}
{{- if include "ranker.tuneActive" . -}}
{{- $known := list -}}
{{- range $m := .Values.ranking.models }}{{ if $m.train }}{{ $known = append $known $m.name }}{{ end }}{{ end -}}
{{- range $name := .Values.stages.tune.models -}}
{{- if not (has $name $known) -}}
{{- $problems = append $problems (printf "stages.tune.models: %q is not a trained (lambdamart) model of the ranking config; trained models: %s" $name (join ", " $known)) -}}
{{- end -}}
{{- end -}}
{{- if not (include "ranker.tuneBrokerSecret" .) -}}
{{- $problems = append $problems "stages.tune.enabled needs a broker: set rabbitmq.enabled (the bundled RabbitMQ) or externalRabbitmq.existingSecret (a Secret holding the AMQP URL)" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.rabbitmq.enabled (not .Values.rabbitmq.auth.existingSecret) (not .Values.rabbitmq.auth.password) -}}
{{- $problems = append $problems "rabbitmq.auth.password or rabbitmq.auth.existingSecret is required when rabbitmq.enabled (the tune stage's broker)" -}}
{{- end -}}
{{- toYaml $problems -}}
{{- end -}}

{{- define "ranker.tuneEnv" -}}
- name: RANKER_TUNE_BROKER_FILE
  value: /run/secrets/ranker-tune/url
- name: RANKER_S3_PATH_STYLE
  value: {{ .Values.s3.pathStyleAccess | toString | quote }}
{{- end -}}

{{/*
The tune pod spec: ranker.metarankPodSpec (service account, hardening, S3 env, config, scratch)
plus the broker Secret mounted read-only at /run/secrets/ranker-tune/url.
Call with the metarankPodSpec dict.
*/}}
{{- define "ranker.tunePodSpec" -}}
{{- $ctx := .ctx -}}
{{- $secret := fromJson (include "ranker.tuneBrokerSecret" $ctx) -}}
{{- $pod := fromYaml (include "ranker.metarankPodSpec" .) -}}
{{- $container := index $pod.containers 0 -}}
{{- $_ := set $container "volumeMounts" (append $container.volumeMounts (dict "name" "broker" "mountPath" "/run/secrets/ranker-tune" "readOnly" true)) -}}
{{- $_ := set $pod "volumes" (append $pod.volumes (dict "name" "broker" "secret" (dict "secretName" $secret.name "defaultMode" 288 "items" (list (dict "key" $secret.key "path" "url"))))) -}}
{{- toYaml $pod -}}
{{- end -}}

{{/* The stage dict ranker.metarankPodSpec expects, for the tasker or the workers. */}}
{{- define "ranker.tuneStage" -}}
{{- $ctx := .ctx -}}
{{- $tune := $ctx.Values.stages.tune -}}
{{- $env := concat (fromYamlArray (include "ranker.tuneEnv" $ctx)) ($tune.extraEnv | default list) -}}
{{- $part := ternary $tune.tasker $tune.worker (eq .part "tasker") -}}
{{- toJson (dict "command" (list "ranker-values") "args" list "image" $tune.image "resources" $part.resources "backoffLimit" (default 0 $part.backoffLimit) "extraEnv" $env "podAnnotations" $tune.podAnnotations "nodeSelector" $tune.nodeSelector "tolerations" $tune.tolerations "affinity" $tune.affinity "podLabels" $tune.podLabels "extraVolumes" $tune.extraVolumes "extraVolumeMounts" $tune.extraVolumeMounts "initContainers" $tune.initContainers "sidecars" $tune.sidecars "extraEnvVarsSecret" $tune.extraEnvVarsSecret "priorityClassName" $tune.priorityClassName "topologySpreadConstraints" $tune.topologySpreadConstraints) -}}
{{- end -}}
