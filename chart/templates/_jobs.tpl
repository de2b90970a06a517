{{/*
One service's migration Job: a pre-install/pre-upgrade hook that runs
`migrator up --service <service> --read-from-env --lock-timeout <n> --log-format <f>`.
Its hook weight is its position in `services` (plus `hookWeightBase`), so Helm runs the
services one at a time, in that order, and stops at the first failure.
backoffLimit 0: a failed migration is not retried blindly; the failed pod and its logs
stay until the next install/upgrade (`before-hook-creation`).
Expects a dict: { context: $, service: "auth", index: 0 }
*/}}
{{- define "migrator.migrationJob" -}}
{{- $ctx := .context }}
{{- $svc := .service }}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- $m := get $v "migration" | default dict }}
{{- $repair := dig "repairTracking" false $m }}
{{- $args := list "up" "--service" $svc "--read-from-env" "--lock-timeout" (toString (int $ctx.Values.lockTimeout)) "--log-format" $ctx.Values.logFormat }}
{{- if $ctx.Values.logLevel }}
{{- $args = concat $args (list "--log-level" $ctx.Values.logLevel) }}
{{- end }}
{{- $env := list }}
{{- if $repair }}
{{- $env = append $env (dict "name" "MIGRATE_REPAIR_TRACKING" "value" "1") }}
{{- end }}
{{- $annotations := deepCopy (dig "annotations" dict $m) }}
{{- $_ := set $annotations "helm.sh/hook" "pre-install,pre-upgrade" }}
{{- $_ = set $annotations "helm.sh/hook-weight" (include "migrator.migrationHookWeight" (dict "context" $ctx "index" .index)) }}
{{- $_ = set $annotations "helm.sh/hook-delete-policy" $ctx.Values.hookDeletePolicy }}
{{- if $repair }}
{{- $_ = set $annotations "migrator.platform/repair-tracking" "true" }}
{{- end }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "migrator.serviceResourceName" (dict "context" $ctx "service" $svc "suffix" "migration") }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "migrator.serviceLabels" (dict "context" $ctx "service" $svc "component" "migration") | nindent 4 }}
  annotations:
    {{- toYaml $annotations | nindent 4 }}
spec:
  backoffLimit: 0
  activeDeadlineSeconds: {{ dig "activeDeadlineSeconds" $ctx.Values.activeDeadlineSeconds $m | int }}
  {{- if hasKey $ctx.Values "ttlSecondsAfterFinished" }}
  ttlSecondsAfterFinished: {{ $ctx.Values.ttlSecondsAfterFinished | int }}
  {{- end }}
  template:
    metadata:
      {{- include "migrator.podMetadata" (dict "context" $ctx "service" $svc "component" "migration" "podAnnotations" (dig "podAnnotations" dict $m)) | nindent 6 }}
    spec:
      {{- include "migrator.podSpec" (dict "context" $ctx "service" $svc "container" "migrate" "args" $args "env" $env "extraEnv" (dig "extraEnv" list $m) "resources" (dig "resources" dict $m)) | nindent 6 }}
{{- end }}

{{/*
One service's backfill Job: a plain Job (not a hook) that runs
`migrator backfill run [NAME] --service <service> --read-from-env --log-format <f>` in
the background once the release is applied; it never blocks the rollout. It is retried
(`backoffLimit`, default 3): a backfill continues from its last checkpoint.
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.backfillJob" -}}
{{- $ctx := .context }}
{{- $svc := .service }}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- $b := get $v "backfill" | default dict }}
{{- $args := list "backfill" "run" }}
{{- with dig "name" "" $b }}
{{- $args = append $args . }}
{{- end }}
{{- $args = concat $args (list "--service" $svc "--read-from-env" "--log-format" $ctx.Values.logFormat) }}
{{- if $ctx.Values.logLevel }}
{{- $args = concat $args (list "--log-level" $ctx.Values.logLevel) }}
{{- end }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "migrator.serviceResourceName" (dict "context" $ctx "service" $svc "suffix" "backfill") }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "migrator.serviceLabels" (dict "context" $ctx "service" $svc "component" "backfill") | nindent 4 }}
  {{- with dig "annotations" dict $b }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  backoffLimit: {{ dig "backoffLimit" 3 $b | int }}
  {{- if hasKey $b "activeDeadlineSeconds" }}
  activeDeadlineSeconds: {{ $b.activeDeadlineSeconds | int }}
  {{- end }}
  {{- if hasKey $b "ttlSecondsAfterFinished" }}
  ttlSecondsAfterFinished: {{ $b.ttlSecondsAfterFinished | int }}
  {{- end }}
  template:
    metadata:
      {{- include "migrator.podMetadata" (dict "context" $ctx "service" $svc "component" "backfill" "podAnnotations" (dig "podAnnotations" dict $b)) | nindent 6 }}
    spec:
      {{- include "migrator.podSpec" (dict "context" $ctx "service" $svc "container" "backfill" "args" $args "env" list "extraEnv" (dig "extraEnv" list $b) "resources" (dig "resources" dict $b)) | nindent 6 }}
{{- end }}

{{/*
One service's `helm test` Pod: `migrator status --check --service <service> --read-from-env`
fails (exit 1 behind, 3 dirty, 4 desync) unless the database is up to date and clean.
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.testPod" -}}
{{- $ctx := .context }}
{{- $svc := .service }}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- $m := get $v "migration" | default dict }}
{{- $args := list "status" "--check" "--service" $svc "--read-from-env" }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "migrator.serviceResourceName" (dict "context" $ctx "service" $svc "suffix" "migration-test") }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "migrator.serviceLabels" (dict "context" $ctx "service" $svc "component" "migration-test") | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: {{ $ctx.Values.tests.hookDeletePolicy }}
spec:
  {{- include "migrator.podSpec" (dict "context" $ctx "service" $svc "container" "status" "args" $args "env" list "extraEnv" (dig "extraEnv" list $m) "resources" (dig "resources" dict $m)) | nindent 2 }}
{{- end }}
