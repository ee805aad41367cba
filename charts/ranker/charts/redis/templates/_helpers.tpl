{{/* The parent points inference.state at this name: "<release>-redis". */}}
{{- define "redis.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Same label scheme as the parent: every object of the release is app.kubernetes.io/name=ranker. */}}
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
{{- end -}}

{{- define "redis.image" -}}
{{- $i := .Values.image -}}
{{- if $i.digest -}}
{{- printf "%s/%s@%s" $i.registry $i.repository $i.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $i.registry $i.repository (toString $i.tag) -}}
{{- end -}}
{{- end -}}

{{- define "redis.secretName" -}}
{{- .Values.auth.existingSecret | default (include "redis.fullname" .) -}}
{{- end -}}
