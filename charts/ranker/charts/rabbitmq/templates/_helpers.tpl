{{/* The parent reads the AMQP URL from this Secret: "<release>-rabbitmq", key url. */}}
{{- define "rabbitmq.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Same label scheme as the parent: every object of the release is app.kubernetes.io/name=ranker. */}}
{{- define "rabbitmq.selectorLabels" -}}
app.kubernetes.io/name: ranker
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: rabbitmq
{{- end -}}

{{- define "rabbitmq.labels" -}}
{{ include "rabbitmq.selectorLabels" . }}
app.kubernetes.io/part-of: ranker
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- $labels := merge (dict) (.Values.commonLabels | default dict) ((.Values.global | default dict).commonLabels | default dict) -}}
{{- with $labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "rabbitmq.imagePullSecrets" -}}
{{- $secrets := concat (.Values.imagePullSecrets | default list) ((.Values.global | default dict).imagePullSecrets | default list) | uniq -}}
{{- with $secrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "rabbitmq.image" -}}
{{- $i := .Values.image -}}
{{- $registry := dig "imageRegistry" "" (.Values.global | default dict) | default $i.registry -}}
{{- if $i.digest -}}
{{- printf "%s/%s@%s" $registry $i.repository $i.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $registry $i.repository (toString $i.tag) -}}
{{- end -}}
{{- end -}}

{{- define "rabbitmq.secretName" -}}
{{- .Values.auth.existingSecret | default (include "rabbitmq.fullname" .) -}}
{{- end -}}

{{/* The Erlang cookie's Secret (key erlang-cookie): never the AMQP credentials' Secret the tune pods read. */}}
{{- define "rabbitmq.erlangSecretName" -}}
{{- .Values.auth.existingErlangSecret | default (printf "%s-erlang" (include "rabbitmq.fullname" . | trunc 56 | trimSuffix "-")) -}}
{{- end -}}
