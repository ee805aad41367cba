{{/*
What Metarank 0.4.1 itself cannot do with these values (docs/engine-0.4.1.md). Renders a YAML
list of problems; ranker.validateValues adds them to its own and fails once.
*/}}
{{- define "ranker.engineProblems" -}}
{{- $v := .Values -}}
{{- $s := $v.stages -}}
{{- $problems := list -}}
{{- $isS3 := "^s3://" -}}

{{- /* S3FS.create: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "... not defined for s3:// scheme".
Upload's and a local bootstrap's embedded Flink use the bundled S3A with the same env keys. */ -}}
{{- if eq $v.s3.auth.mode "serviceAccount" -}}
{{- $needs := list -}}
{{- $workdir := regexMatch $isS3 (toString $v.ranking.workdir) -}}
{{- $source := regexMatch $isS3 (toString (dig "path" "" ($v.ranking.sources.bootstrap | default dict))) -}}
{{- $modelS3 := false -}}
{{- range $v.ranking.models -}}
{{- if regexMatch $isS3 (toString .path) -}}{{- $modelS3 = true -}}{{- end -}}
{{- end -}}
{{- if and $s.api.enabled $modelS3 -}}{{- $needs = append $needs "api (loads the model from s3://)" -}}{{- end -}}
{{- if and $s.train.enabled (or $workdir $modelS3) -}}{{- $needs = append $needs "train (reads the dataset, writes the model)" -}}{{- end -}}
{{- if and $s.upload.enabled $workdir -}}{{- $needs = append $needs "upload (reads features/)" -}}{{- end -}}
{{- if and $s.bootstrap.enabled (eq $s.bootstrap.mode "local") (or $workdir $source) -}}{{- $needs = append $needs "local bootstrap" -}}{{- end -}}
{{- with $needs -}}
{{- $problems = append $problems (printf "s3.auth.mode is serviceAccount, but Metarank 0.4.1's own S3 client accepts only static keys (S3FS.create fails with \"AWS_ACCESS_KEY_ID not defined for s3:// scheme\") in: %s. Use s3.auth.mode existingSecret (or secret); to keep IRSA for the Flink jobs set s3.auth.flinkMode: serviceAccount" (join ", " .)) -}}
{{- end -}}
{{- end -}}

{{- /* StateStoreConfig.MemConfig: host is always "localhost"; only `standalone` embeds a Redis. */ -}}
{{- if and (eq (toString $v.ranking.state.type) "memory") (or $s.api.enabled $s.update.enabled) -}}
{{- $problems = append $problems "ranking.state.type is memory: Metarank 0.4.1 then connects to a Redis on localhost:6379 that only its standalone mode starts; the api answers /health but every /rank fails. Use redis state (inference.state.type: redis) with redis.enabled or an external Redis" -}}
{{- end -}}

{{- /* Bootstrap.scala: SavepointWriter.newSavepoint(backend, 32): max parallelism 32. */ -}}
{{- if $s.update.enabled -}}
{{- $parallelism := int ($v.ranking.parallelism.update | default $s.update.parallelism) -}}
{{- if gt $parallelism 32 -}}
{{- $problems = append $problems (printf "update parallelism %d: the bootstrap savepoint has max parallelism 32 (Metarank 0.4.1 Bootstrap.scala), so the update job cannot restore it above 32" $parallelism) -}}
{{- end -}}
{{- end -}}

{{- toYaml $problems -}}
{{- end -}}
