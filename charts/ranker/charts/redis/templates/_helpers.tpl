{{/* The parent points inference.state at this name: "<release>-redis". */}}
{{- define "redis.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Same label scheme as the parent: every object of the release is app.kubernetes.io/name=ranker
(the parent's Chart.Name; it has no nameOverride), so the parent's selectors and ranker-values
find Redis like every other stage. Parent values reach this subchart only through `global`. */}}
{{- define "redis.selectorLabels" -}}
app.kubernetes.io/name: ranker
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{- define "redis.labels" -}}
{{ include "redis.selectorLabels" . }}
app.kubernetes.io/part-of: ranker
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with dig "commonLabels" dict (.Values.global | default dict) }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The StatefulSet's governing Service: headless, as StatefulSets require for stable pod DNS. */}}
{{- define "redis.headlessName" -}}
{{- printf "%s-headless" (include "redis.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "redis.image" -}}
{{- $i := .Values.image -}}
{{- $registry := dig "imageRegistry" "" (.Values.global | default dict) | default $i.registry -}}
{{- if $i.digest -}}
{{- printf "%s/%s@%s" $registry $i.repository $i.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $registry $i.repository (toString $i.tag) -}}
{{- end -}}
{{- end -}}

{{- define "redis.secretName" -}}
{{- .Values.auth.existingSecret | default (include "redis.fullname" .) -}}
{{- end -}}

{{- define "redis.exporterImage" -}}
{{- $i := .Values.metrics.image -}}
{{- $registry := dig "imageRegistry" "" (.Values.global | default dict) | default $i.registry -}}
{{- if $i.digest -}}
{{- printf "%s/%s@%s" $registry $i.repository $i.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $registry $i.repository (toString $i.tag) -}}
{{- end -}}
{{- end -}}
