{{/*
FlinkDeployment shared by bootstrap (batch, stateless) and update (streaming, savepoint).
Valid for the operator 1.9 and 1.15 CRDs: flinkVersion v1_15, flinkConfiguration flat keys with
string values only, JobManager/TaskManager memory always set, name <= 45 characters.
Call with (dict "ctx" $ "component" "update" "stage" $stage "conf" $flinkConf "job" $jobExtras
"restartNonce" 0 "podAnnotations" $extraPodAnnotations).
*/}}

{{/* Flink settings both stages share: slots, scratch dir, S3 endpoint for the s3 plugin. */}}
{{- define "ranker.flinkBaseConfiguration" -}}
{{- $ctx := .ctx -}}
{{- $conf := dict "taskmanager.numberOfTaskSlots" (toString .stage.taskManager.slots) "io.tmp.dirs" "/tmp" -}}
{{- with $ctx.Values.s3.endpoint -}}
{{- $_ := set $conf "s3.endpoint" . -}}
{{- end -}}
{{- if $ctx.Values.s3.pathStyleAccess -}}
{{- $_ := set $conf "s3.path.style.access" "true" -}}
{{- end -}}
{{- toYaml $conf -}}
{{- end -}}

{{/*
A flinkConfiguration value as Flink parses it. Helm reads every YAML number as float64, and
toString writes 67108864 as "6.7108864e+07", which Flink rejects for integers and memory sizes:
whole numbers are written as integers.
*/}}
{{- define "ranker.flinkValue" -}}
{{- if and (kindIs "float64" .) (eq . (float64 (int64 .))) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{- define "ranker.flinkDeployment" -}}
{{- $ctx := .ctx -}}
{{- $stage := .stage -}}
{{- $conf := merge (dict) $stage.flinkConfiguration $ctx.Values.flink.flinkConfiguration .conf -}}
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: {{ include "ranker.flinkName" (list $ctx .component) }}
  labels:
    {{- include "ranker.labels" . | nindent 4 }}
  {{- with include "ranker.annotations" (dict "ctx" $ctx "annotations" dict) }}
  {{- . | nindent 2 }}
  {{- end }}
spec:
  image: {{ include "ranker.imageRef" . | quote }}
  imagePullPolicy: {{ include "ranker.imagePullPolicy" . }}
  flinkVersion: {{ $ctx.Values.flink.flinkVersion }}
  serviceAccount: {{ include "ranker.flinkServiceAccountName" $ctx }}
  {{- if gt (int .restartNonce) 0 }}
  restartNonce: {{ int .restartNonce }}
  {{- end }}
  flinkConfiguration:
    {{- range $key, $value := $conf }}
    {{ $key | quote }}: {{ include "ranker.flinkValue" $value | quote }}
    {{- end }}
  jobManager:
    replicas: {{ $stage.jobManager.replicas | default 1 }}
    resource:
      cpu: {{ $stage.jobManager.cpu }}
      memory: {{ $stage.jobManager.memory | quote }}
    {{- if gt (int ($stage.jobManager.replicas | default 1)) 1 }}
    # Standby JobManagers on other nodes: one node failure must not take every JobManager.
    # Flink's native Kubernetes mode labels them app=<FlinkDeployment name>, component=jobmanager.
    podTemplate:
      apiVersion: v1
      kind: Pod
      spec:
        affinity:
          podAntiAffinity:
            preferredDuringSchedulingIgnoredDuringExecution:
              - weight: 100
                podAffinityTerm:
                  topologyKey: kubernetes.io/hostname
                  labelSelector:
                    matchLabels:
                      app: {{ include "ranker.flinkName" (list $ctx .component) }}
                      component: jobmanager
    {{- end }}
  taskManager:
    resource:
      cpu: {{ $stage.taskManager.cpu }}
      memory: {{ $stage.taskManager.memory | quote }}
  podTemplate:
    apiVersion: v1
    kind: Pod
    metadata:
      labels:
        {{- include "ranker.podLabels" . | nindent 8 }}
      {{- with merge (dict) (.podAnnotations | default dict) ($stage.podAnnotations | default dict) }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      securityContext:
        {{- include "ranker.podSecurityContext" $ctx | nindent 8 }}
      {{- with fromYamlArray (include "ranker.imagePullSecrets" $ctx) }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with include "ranker.placement" $stage }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- with $stage.priorityClassName }}
      priorityClassName: {{ . | quote }}
      {{- end }}
      {{- with include "ranker.topologySpread" . }}
      {{- . | nindent 6 }}
      {{- end }}
      containers:
        # The operator merges this into the JobManager and TaskManager containers by name.
        - name: flink-main-container
          env:
            {{- with $ctx.Values.flink.s3Plugin }}
            # Flink 1.15 images link opt/<jar> into plugins/ at start-up (docker-entrypoint.sh):
            # plugins/ is then a writable copy of the image's (init container below).
            - name: ENABLE_BUILT_IN_PLUGINS
              value: {{ . | quote }}
            {{- end }}
            {{- include "ranker.s3Env" (dict "ctx" $ctx "flink" true) | nindent 12 }}
            {{- with $stage.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- with $stage.extraEnvVarsSecret }}
          envFrom:
            - secretRef:
                name: {{ tpl . $ctx | quote }}
          {{- end }}
          securityContext:
            {{- include "ranker.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            {{- include "ranker.volumeMounts" $ctx | nindent 12 }}
            - name: flink-log
              mountPath: /opt/flink/log
            {{- if $ctx.Values.flink.s3Plugin }}
            - name: flink-plugins
              mountPath: /opt/flink/plugins
            {{- end }}
            {{- with $stage.extraVolumeMounts }}
            {{- tpl (toYaml .) $ctx | nindent 12 }}
            {{- end }}
        {{- with $stage.sidecars }}
        {{- tpl (toYaml .) $ctx | nindent 8 }}
        {{- end }}
      {{- /* The image's plugins/ holds the S3 filesystem (metarank build.sbt: plugins/s3-fs-hadoop)
      and Flink's metric reporters (plugins/metrics-*): it stays visible, read-only. Only when
      flink.s3Plugin asks the entrypoint to link more from opt/ does plugins/ become an emptyDir,
      filled first with a copy of the image's plugins so the reporters stay reachable. */}}
      {{- if or $ctx.Values.flink.s3Plugin $stage.initContainers }}
      initContainers:
      {{- end }}
      {{- if $ctx.Values.flink.s3Plugin }}
        - name: copy-plugins
          image: {{ include "ranker.imageRef" . | quote }}
          imagePullPolicy: {{ include "ranker.imagePullPolicy" . }}
          command: [cp, -a, /opt/flink/plugins/., /plugins/]
          securityContext:
            {{- include "ranker.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            - name: flink-plugins
              mountPath: /plugins
      {{- end }}
      {{- with $stage.initContainers }}
        {{- tpl (toYaml .) $ctx | nindent 8 }}
      {{- end }}
      volumes:
        {{- include "ranker.volumes" $ctx | nindent 8 }}
        - name: flink-log
          emptyDir:
            sizeLimit: {{ $ctx.Values.scratch.sizeLimit }}
        {{- if $ctx.Values.flink.s3Plugin }}
        - name: flink-plugins
          emptyDir:
            sizeLimit: 256Mi
        {{- end }}
        {{- with $stage.extraVolumes }}
        {{- tpl (toYaml .) $ctx | nindent 8 }}
        {{- end }}
  job:
    jarURI: {{ printf "local://%s" $ctx.Values.jarPath | quote }}
    entryClass: {{ $stage.entryClass }}
    args:
      {{- toYaml ($stage.args | default (list (include "ranker.configPath" $ctx))) | nindent 6 }}
    parallelism: {{ .parallelism }}
    state: running
    {{- with .job }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
