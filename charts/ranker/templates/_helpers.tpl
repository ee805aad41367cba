{{/*
Names, labels, images and the pieces every stage shares. Stage templates pass a dict:
  ctx: the root context, component: the stage name, stage: .Values.stages.<stage>
*/}}

{{/* Release-derived prefix of every object name; at most 63 characters. */}}
{{- define "ranker.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
"<fullname>-<suffix>" in at most `max` characters. When the prefix must be cut, a short hash of
the whole prefix keeps names of different releases apart.
Call with (list $ "suffix" 63).
*/}}
{{- define "ranker.nameWithSuffix" -}}
{{- $ctx := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $max := int (index . 2) -}}
{{- $prefix := include "ranker.fullname" $ctx -}}
{{- if le (add (len $prefix) (len $suffix) 1) $max -}}
{{- printf "%s-%s" $prefix $suffix -}}
{{- else -}}
{{- $keep := int (sub $max (add (len $suffix) 8)) -}}
{{- printf "%s-%s-%s" ($prefix | trunc $keep | trimSuffix "-") (sha256sum $prefix | trunc 6) $suffix -}}
{{- end -}}
{{- end -}}

{{/*
FlinkDeployment name: the operator accepts [a-z]([-a-z0-9]{0,43}[a-z0-9])? (at most 45
characters, leading letter). Release names may start with a digit, so such names get an "r".
Call with (list $ "update").
*/}}
{{- define "ranker.flinkName" -}}
{{- $ctx := index . 0 -}}
{{- $name := include "ranker.nameWithSuffix" (list $ctx (index . 1) 45) -}}
{{- if regexMatch "^[a-z]" $name -}}
{{- $name -}}
{{- else -}}
{{- include "ranker.nameWithSuffix" (list $ctx (index . 1) 44) | printf "r%s" -}}
{{- end -}}
{{- end -}}

{{- define "ranker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels; ranker-values finds objects by exactly these. Call with (dict "ctx" $ "component" "api"). */}}
{{- define "ranker.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ranker.labels" -}}
{{ include "ranker.selectorLabels" . }}
app.kubernetes.io/part-of: ranker
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "ranker.chart" .ctx }}
{{- with merge (dict) (.ctx.Values.commonLabels | default dict) (dig "commonLabels" dict (.ctx.Values.global | default dict)) }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
metadata.annotations of an object: commonAnnotations, under the object's own annotations (which
win), or nothing. Call with (dict "ctx" $ "annotations" $own); emits `annotations:` and the map.
*/}}
{{- define "ranker.annotations" -}}
{{- with merge (dict) (.annotations | default dict) (.ctx.Values.commonAnnotations | default dict) -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets of every pod: the chart's own plus global.imagePullSecrets (which the bundled Redis reads too). */}}
{{- define "ranker.imagePullSecrets" -}}
{{- concat (.Values.imagePullSecrets | default list) (dig "imagePullSecrets" list (.Values.global | default dict)) | uniq | toYaml -}}
{{- end -}}

{{/*
Image reference: the stage's own image keys win over the top-level `image` (or "base"); a digest
wins over the tag. A stage that names its own repository or tag does not inherit the top-level
digest, which belongs to another image (a stage pinned to an older tag keeps that tag).
Call with (dict "ctx" $ "stage" .Values.stages.api).
*/}}
{{- define "ranker.imageRef" -}}
{{- $base := .base | default .ctx.Values.image -}}
{{- $own := .stage.image | default dict -}}
{{- $registry := dig "imageRegistry" "" (.ctx.Values.global | default dict) | default $own.registry | default $base.registry -}}
{{- $repository := $own.repository | default $base.repository -}}
{{- $tag := $own.tag | default $base.tag -}}
{{- $digest := $own.digest -}}
{{- if not (or $digest $own.repository $own.tag) -}}
{{- $digest = $base.digest -}}
{{- end -}}
{{- $path := ternary $repository (printf "%s/%s" $registry $repository) (empty $registry) -}}
{{- if $digest -}}
{{- printf "%s@%s" $path $digest -}}
{{- else -}}
{{- printf "%s:%s" $path (toString $tag) -}}
{{- end -}}
{{- end -}}

{{- define "ranker.imagePullPolicy" -}}
{{- (.stage.image | default dict).pullPolicy | default (.base | default .ctx.Values.image).pullPolicy -}}
{{- end -}}

{{- define "ranker.configMapName" -}}
{{- include "ranker.nameWithSuffix" (list . "config" 63) -}}
{{- end -}}

{{- define "ranker.s3SecretName" -}}
{{- if eq .Values.s3.auth.mode "existingSecret" -}}
{{- .Values.s3.auth.existingSecret -}}
{{- else -}}
{{- include "ranker.nameWithSuffix" (list . "s3" 63) -}}
{{- end -}}
{{- end -}}

{{- define "ranker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "ranker.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "ranker.flinkServiceAccountName" -}}
{{- if .Values.flink.serviceAccount.create -}}
{{- .Values.flink.serviceAccount.name | default (include "ranker.nameWithSuffix" (list . "flink" 63)) -}}
{{- else -}}
{{- .Values.flink.serviceAccount.name | default "flink" -}}
{{- end -}}
{{- end -}}

{{/* Service name of the bundled Redis subchart (its own fullname helper gives the same). */}}
{{- define "ranker.bundledRedisHost" -}}
{{- printf "%s-redis" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ranker.apiServiceName" -}}
{{- include "ranker.nameWithSuffix" (list . "api" 63) -}}
{{- end -}}

{{/*
The ranking config the pods read. Verbatim, except that the chart owns two in-cluster
addresses: with the bundled Redis, inference.state points at its Service; with
stages.api.feedbackSourceFromService and a `rest` inference source, the update job polls the api
Service. Changing it re-parses the YAML (fromYaml/toYaml), which sorts keys; the meaning is
unchanged (gen quotes the keys Go's YAML 1.1 would retype; ranker.configProblems refuses a config
the chart cannot re-parse or whose model names the re-parse changes, and then this returns the
config unchanged instead of failing half-way).
*/}}
{{- define "ranker.renderedConfig" -}}
{{- $raw := .Values.ranking.config -}}
{{- $redis := and .Values.redis.enabled (eq .Values.ranking.state.type "redis") -}}
{{- $rest := and .Values.stages.api.feedbackSourceFromService (eq (toString (dig "inference" "type" "" .Values.ranking.sources)) "rest") -}}
{{- if and (or $redis $rest) (not (include "ranker.reparseProblem" .)) -}}
{{- $cfg := fromYaml $raw -}}
{{- if $redis -}}
{{- $_ := set $cfg.inference.state "host" (include "ranker.bundledRedisHost" .) -}}
{{- $_ := set $cfg.inference.state "port" (int .Values.redis.service.port) -}}
{{- end -}}
{{- if $rest -}}
{{- $_ := set $cfg.inference.source "host" (include "ranker.apiServiceName" .) -}}
{{- $_ := set $cfg.inference.source "port" (int .Values.stages.api.service.port) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- else -}}
{{- $raw -}}
{{- end -}}
{{- end -}}

{{/*
Why the chart cannot re-parse ranking.config (ranker.renderedConfig), or "": Go's YAML refuses it
(a `null` key), inference.state/inference.source are not mappings, or a model of ranking.models
is no longer a key after the re-parse (Go's YAML 1.1 reads `yes:` as `true:`, `010:` as `8:`,
while Metarank and the train Job keep the text). Checked only when the chart re-parses.
*/}}
{{- define "ranker.reparseProblem" -}}
{{- $redis := and .Values.redis.enabled (eq .Values.ranking.state.type "redis") -}}
{{- $rest := and .Values.stages.api.feedbackSourceFromService (eq (toString (dig "inference" "type" "" .Values.ranking.sources)) "rest") -}}
{{- if or $redis $rest -}}
{{- $why := "with the bundled Redis (redis.enabled) or stages.api.feedbackSourceFromService the chart re-parses ranking.config" -}}
{{- $cfg := fromYaml .Values.ranking.config -}}
{{- $inference := dig "inference" dict $cfg -}}
{{- if hasKey $cfg "Error" -}}
{{- printf "ranking.config: %s, and Go's YAML cannot read it (%s): re-run ranker-values gen, which quotes keys like null" $why (regexReplaceAll "(?s), value: .*$" (get $cfg "Error") "" | trunc 200) -}}
{{- else if not (and (kindIs "map" $inference) (kindIs "map" (dig "state" "" $inference)) (kindIs "map" (dig "source" "" $inference))) -}}
{{- printf "ranking.config: %s, but its inference.state or inference.source is not a mapping: re-run ranker-values gen" $why -}}
{{- else -}}
{{- $models := dig "models" dict $cfg -}}
{{- $lost := list -}}
{{- range $model := .Values.ranking.models -}}
{{- if not (and (kindIs "map" $models) (hasKey $models (toString $model.name))) -}}
{{- $lost = append $lost (toString $model.name) -}}
{{- end -}}
{{- end -}}
{{- with $lost -}}
{{- $names := list -}}
{{- if kindIs "map" $models -}}{{- $names = keys $models | sortAlpha -}}{{- end -}}
{{- printf "ranking.config: %s, and Go's YAML 1.1 renames the model key(s) %s (its models are then: %s), so the train Job and the engine would disagree on the name: quote them in the config (e.g. '%s':) or re-run ranker-values gen, which does" $why (join ", " .) (join ", " $names) (first .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ranker.configChecksum" -}}
{{- include "ranker.renderedConfig" . | sha256sum -}}
{{- end -}}

{{/* Where the pods mount the ConfigMap, and the config file the engine reads. */}}
{{- define "ranker.configPath" -}}/config/config.yml{{- end -}}

{{/*
Environment the S3 clients read. Metarank's own client (S3FS.create: api model load, train,
upload; and the bundled S3A in a local bootstrap) accepts ONLY static keys from
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and a custom endpoint only from AWS_S3_ENDPOINT_URL
(docs/engine-0.4.1.md). Flink pods (bootstrap, update) use the S3A plugin, which can also use
IRSA: s3.auth.flinkMode serviceAccount leaves the keys out of them.
Call with (dict "ctx" $ "flink" true|false).
*/}}
{{- define "ranker.s3Env" -}}
{{- $v := .ctx.Values -}}
{{- $mode := $v.s3.auth.mode -}}
{{- if .flink -}}
{{- $mode = $v.s3.auth.flinkMode | default $mode -}}
{{- end -}}
- name: AWS_REGION
  value: {{ $v.s3.region | quote }}
- name: AWS_DEFAULT_REGION
  value: {{ $v.s3.region | quote }}
{{- with $v.s3.endpoint }}
- name: AWS_S3_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- if ne $mode "serviceAccount" }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "ranker.s3SecretName" .ctx }}
      key: {{ $v.s3.auth.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "ranker.s3SecretName" .ctx }}
      key: {{ $v.s3.auth.secretAccessKeyKey }}
{{- end }}
{{- end -}}

{{/* Pod-level and container-level hardening, shared by every pod the chart runs. */}}
{{- define "ranker.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end -}}

{{- define "ranker.containerSecurityContext" -}}
{{ toYaml .Values.containerSecurityContext }}
{{- end -}}

{{/* Volumes every Metarank pod mounts: the config, writable scratch dirs, the shared volume. */}}
{{- define "ranker.volumes" -}}
- name: config
  configMap:
    name: {{ include "ranker.configMapName" . }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.scratch.sizeLimit }}
{{- if .Values.sharedVolume.enabled }}
- name: shared
  persistentVolumeClaim:
    claimName: {{ .Values.sharedVolume.existingClaim }}
{{- end }}
{{- end -}}

{{- define "ranker.volumeMounts" -}}
- name: config
  mountPath: /config
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.sharedVolume.enabled }}
- name: shared
  mountPath: {{ .Values.sharedVolume.mountPath }}
{{- end }}
{{- end -}}

{{/* Placement keys of a stage. */}}
{{- define "ranker.placement" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Pod spec of a Metarank process run straight from the jar (api, train, upload, local bootstrap):
`java <jvm options> -cp /app/metarank.jar <entry class> <args>`. Naming the entry class (not the
image's sub-command table) is what makes every stage run the class it says it runs.
Call with (dict "ctx" $ "component" "train" "stage" $stage "args" (list ...) "restartPolicy" "Never").
*/}}
{{- define "ranker.metarankPodSpec" -}}
{{- $ctx := .ctx -}}
{{- $stage := .stage -}}
{{- $args := $stage.args | default .args -}}
{{- $hadoop := and .s3a (include "ranker.hadoopConfEnabled" $ctx) -}}
{{- $classpath := $ctx.Values.jarPath -}}
{{- if $hadoop -}}
{{- $classpath = printf "%s:%s" $ctx.Values.jarPath (include "ranker.hadoopConfDir" $ctx) -}}
{{- end -}}
serviceAccountName: {{ include "ranker.serviceAccountName" $ctx }}
automountServiceAccountToken: false
{{- with $stage.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
securityContext:
  {{- include "ranker.podSecurityContext" $ctx | nindent 2 }}
{{- with fromYamlArray (include "ranker.imagePullSecrets" $ctx) }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- include "ranker.placement" $stage }}
{{- if or .createDirs $stage.initContainers }}
initContainers:
{{- end }}
{{- with .createDirs }}
{{- /* LocalFS.write (0.4.1) opens the file without creating its directory: on a fresh shared
volume train would fail with FileNotFoundException (run: tests/test_engine_lifecycle.py). */}}
  - name: create-dirs
    image: {{ include "ranker.imageRef" $ | quote }}
    imagePullPolicy: {{ include "ranker.imagePullPolicy" $ }}
    command: [mkdir, -p]
    args:
      {{- toYaml . | nindent 6 }}
    resources:
      requests: {cpu: 10m, memory: 16Mi}
      limits: {cpu: 100m, memory: 32Mi}
    securityContext:
      {{- include "ranker.containerSecurityContext" $ctx | nindent 6 }}
    volumeMounts:
      {{- include "ranker.volumeMounts" $ctx | nindent 6 }}
{{- end }}
{{- with $stage.initContainers }}
  {{- tpl (toYaml .) $ctx | nindent 2 }}
{{- end }}
containers:
  - name: {{ .component }}
    image: {{ include "ranker.imageRef" . | quote }}
    imagePullPolicy: {{ include "ranker.imagePullPolicy" . }}
    {{- if $stage.command }}
    command:
      {{- toYaml $stage.command | nindent 6 }}
    args:
      {{- toYaml $args | nindent 6 }}
    {{- else }}
    command: [java]
    args:
      {{- toYaml (concat $stage.jvmOptions (list "-cp" $classpath $stage.entryClass) $args) | nindent 6 }}
    {{- end }}
    env:
      {{- include "ranker.s3Env" (dict "ctx" $ctx "flink" false) | nindent 6 }}
      {{- with $stage.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- with $stage.extraEnvVarsSecret }}
    envFrom:
      - secretRef:
          name: {{ tpl . $ctx | quote }}
    {{- end }}
    {{- with .ports }}
    ports:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .probes }}
    {{- . | nindent 4 }}
    {{- end }}
    resources:
      {{- toYaml $stage.resources | nindent 6 }}
    securityContext:
      {{- include "ranker.containerSecurityContext" $ctx | nindent 6 }}
    volumeMounts:
      {{- include "ranker.volumeMounts" $ctx | nindent 6 }}
      {{- if $hadoop }}
      - name: hadoop-conf
        mountPath: {{ include "ranker.hadoopConfDir" $ctx }}
        readOnly: true
      {{- end }}
      {{- with $stage.extraVolumeMounts }}
      {{- tpl (toYaml .) $ctx | nindent 6 }}
      {{- end }}
{{- with $stage.sidecars }}
  {{- tpl (toYaml .) $ctx | nindent 2 }}
{{- end }}
volumes:
  {{- include "ranker.volumes" $ctx | nindent 2 }}
  {{- if $hadoop }}
  - name: hadoop-conf
    configMap:
      name: {{ include "ranker.hadoopConfigMapName" $ctx }}
  {{- end }}
  {{- with $stage.extraVolumes }}
  {{- tpl (toYaml .) $ctx | nindent 2 }}
  {{- end }}
{{- include "ranker.topologySpread" . }}
{{- end -}}

{{/*
topologySpreadConstraints of a stage's pods: a constraint without labelSelector spreads this
release's pods of the component (all selector labels, the instance included): a hand-written
selector easily counts other releases' pods. Call with (dict "ctx" $ "component" "api" "stage" $stage).
*/}}
{{- define "ranker.topologySpread" -}}
{{- $ctx := . -}}
{{- with .stage.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range . }}
  {{- $c := deepCopy . }}
  {{- if not (hasKey $c "labelSelector") }}
  {{- $_ := set $c "labelSelector" (dict "matchLabels" (fromYaml (include "ranker.selectorLabels" $ctx))) }}
  {{- end }}
  - {{- toYaml $c | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Pod template labels: the stage's podLabels under the selector labels (which always win). Call with the stage dict. */}}
{{- define "ranker.podLabels" -}}
{{- toYaml (merge (fromYaml (include "ranker.selectorLabels" .)) (.stage.podLabels | default dict)) -}}
{{- end -}}

{{/*
The S3A inside the engine jar (upload's embedded MiniCluster, a local bootstrap) is never handed
a Flink configuration (0.4.1 builds its MiniCluster config from the env, but no FileSystem is
initialised with it), so a custom endpoint reaches it only as Hadoop configuration: core-site.xml
on the JVM classpath. Without it upload hangs retrying the AWS endpoint (run:
tests/test_engine_lifecycle.py, prod with moto).
*/}}
{{/*
A path as Flink's state keys need it: Flink refuses a checkpoint or savepoint directory without a
scheme ("The scheme (hdfs://, file://, etc) is null", run: the dev lifecycle's update job), so
a local path on the shared volume gets file://.
*/}}
{{- define "ranker.flinkUri" -}}
{{- if hasPrefix "/" . -}}file://{{ . }}{{- else -}}{{ . }}{{- end -}}
{{- end -}}

{{- define "ranker.hadoopConfEnabled" -}}
{{- if .Values.s3.endpoint -}}true{{- end -}}
{{- end -}}

{{- define "ranker.hadoopConfDir" -}}/etc/ranker/hadoop{{- end -}}

{{- define "ranker.hadoopConfigMapName" -}}
{{- include "ranker.nameWithSuffix" (list . "hadoop" 63) -}}
{{- end -}}

{{/*
A Job whose name carries a short hash of its pod template: Job templates are immutable, so an
unchanged re-apply keeps the same Job (no re-run) and a changed one becomes a new Job instead of
a failed upgrade. Call with the metarankPodSpec dict plus "suffix"; "configChecksum" false leaves
the config out of the pod template (the finished bootstrap must not re-run on a config change).
*/}}
{{- define "ranker.job" -}}
{{- $ctx := .ctx -}}
{{- $annotations := merge (dict) (.stage.podAnnotations | default dict) -}}
{{- if ne (toString .configChecksum) "false" -}}
{{- $annotations = merge (dict "checksum/config" (include "ranker.configChecksum" $ctx)) $annotations -}}
{{- end -}}
{{- $podMeta := dict "labels" (fromYaml (include "ranker.podLabels" .)) "annotations" $annotations -}}
{{- $pod := include "ranker.metarankPodSpec" . -}}
{{- $hash := printf "%s\n%s\n%d" (toYaml $podMeta) $pod (int .stage.backoffLimit) | sha256sum | trunc 8 -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "ranker.nameWithSuffix" (list $ctx (printf "%s-%s" .suffix $hash) 63) }}
  labels:
    {{- include "ranker.labels" . | nindent 4 }}
  {{- include "ranker.annotations" (dict "ctx" $ctx "annotations" (dict "ranker/spec-hash" $hash)) | nindent 2 }}
spec:
  backoffLimit: {{ .stage.backoffLimit }}
  {{- /* mutable on a Job, so not in the hash: changing it does not re-run a finished stage */}}
  {{- with .stage.activeDeadlineSeconds }}
  activeDeadlineSeconds: {{ int . }}
  {{- end }}
  template:
    metadata:
      {{- toYaml $podMeta | nindent 6 }}
    spec:
      {{- $pod | nindent 6 }}
{{- end -}}
