{{/*
Names and PromQL pieces the PodMonitor, the PrometheusRule and the Grafana dashboard share.

Metric names, and where they come from (a name that no component exports would make an alert that
never fires; tests/test_chart_monitoring.py checks the expressions with promtool):
  - flink_jobmanager_job_uptime, flink_jobmanager_job_numRestarts,
    flink_jobmanager_job_numberOfCompletedCheckpoints, flink_jobmanager_job_numberOfFailedCheckpoints,
    flink_jobmanager_job_lastCheckpointDuration, flink_jobmanager_job_lastCheckpointSize:
    Flink 1.15's job metrics on the JobManager (flink-runtime 1.15.2: UpTimeGauge.METRIC_NAME
    "uptime": ms since the job switched to RUNNING, 0 in any other non-terminal state, -1 once
    terminal; MetricNames.NUM_RESTARTS; CheckpointStatsTracker's *_METRIC constants), exported by
    Flink's Prometheus reporter (metrics.enabled) as flink_<logical scope>_<name>, the
    JobManager job scope being "jobmanager_job".
  - flink_taskmanager_job_task_numRecordsInPerSecond, flink_{jobmanager,taskmanager}_Status_JVM_Memory_Heap_Used:
    Flink 1.15's task IO metric (MetricNames.IO_NUM_RECORDS_IN_RATE) and JVM status metrics, same reporter.
  - flink_k8soperator_namespace_Lifecycle_State_FAILED_Count{resourcens, resourcetype}: the Flink
    Kubernetes Operator's (>= 1.7) namespace-scope lifecycle gauge as its Prometheus reporter
    names it (operator docs, "Metrics and Logging": "Namespace scope (Prometheus)"), scraped from
    the operator's pod, not by this chart.
  - <savepointAge.metric> (default ranker_flinkstatesnapshot_result_timestamp_seconds): the
    FlinkStateSnapshot status.resultTimestamp (RFC 3339, which kube-state-metrics' custom
    resource state converts to seconds) under the kube-state-metrics config the README gives.
  - redis_up, redis_memory_used_bytes, redis_memory_max_bytes, redis_connected_clients:
    oliver006/redis_exporter (the bundled Redis's redis.metrics).
The PodMonitor's targets carry `namespace` and job="<namespace>/<PodMonitor name>"
(prometheus-operator v0.85.0 pkg/prometheus/promcfg.go), the default selector.
*/}}

{{- define "ranker.podMonitorName" -}}
{{- include "ranker.nameWithSuffix" (list . "flink" 63) -}}
{{- end -}}

{{/* PromQL label matchers of the update job's Flink metrics (without braces). */}}
{{- define "ranker.metricsSelector" -}}
{{- with .Values.metrics.selector -}}
{{- trim . | trimSuffix "," -}}
{{- else -}}
{{- printf "namespace=%q, job=%q" .Release.Namespace (printf "%s/%s" .Release.Namespace (include "ranker.podMonitorName" .)) -}}
{{- end -}}
{{- end -}}

{{/* A duration "<n><s|m|h|d>" (the schema allows nothing else) in seconds. */}}
{{- define "ranker.durationSeconds" -}}
{{- $n := int (regexReplaceAll "[smhd]$" . "") -}}
{{- $unit := dict "s" 1 "m" 60 "h" 3600 "d" 86400 -}}
{{- mul $n (index $unit (regexFind "[smhd]$" .)) -}}
{{- end -}}

{{/* Problems of the metrics values (a YAML list of strings), for ranker.validateValues. */}}
{{- define "ranker.metricsProblems" -}}
{{- $m := .Values.metrics -}}
{{- $problems := list -}}
{{- if and $m.prometheusRule.enabled (not $m.enabled) -}}
{{- $problems = append $problems "metrics.prometheusRule.enabled needs metrics.enabled: the alerts read the update job's Flink metrics, which only the Prometheus reporter exports" -}}
{{- end -}}
{{- if and $m.grafanaDashboard.enabled (not $m.enabled) -}}
{{- $problems = append $problems "metrics.grafanaDashboard.enabled needs metrics.enabled: the dashboard shows the update job's Flink metrics, which only the Prometheus reporter exports" -}}
{{- end -}}
{{- if and (or $m.prometheusRule.enabled $m.grafanaDashboard.enabled) (not $m.podMonitor.enabled) (not (trim $m.selector)) -}}
{{- $problems = append $problems "metrics.prometheusRule / metrics.grafanaDashboard without metrics.podMonitor.enabled need metrics.selector: the PromQL label matchers of the update job's metrics as your Prometheus scrapes them (e.g. namespace=\"ranking\", pod=~\"ranker-update-.*\")" -}}
{{- end -}}
{{- /* The subchart's defaults are merged in only while it is enabled. */ -}}
{{- $redis := .Values.redis -}}
{{- $rm := $redis.metrics | default dict -}}
{{- $redisMetrics := $rm.enabled -}}
{{- if and (not $redis.enabled) $redisMetrics -}}
{{- $problems = append $problems "redis.metrics.enabled needs redis.enabled: the exporter runs beside the bundled Redis (for an external Redis, run an exporter of your own)" -}}
{{- end -}}
{{- if and ($rm.podMonitor | default dict).enabled (not $redisMetrics) -}}
{{- $problems = append $problems "redis.metrics.podMonitor.enabled needs redis.metrics.enabled: the PodMonitor would scrape a port no exporter listens on" -}}
{{- end -}}
{{- toYaml $problems -}}
{{- end -}}
