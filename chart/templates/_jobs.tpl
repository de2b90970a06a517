{{/*
A number of seconds as a CLI argument: `60`, `2.5` (never `6e+01`).
Expects a number.
*/}}
{{- define "migrator.seconds" -}}
{{- if eq (float64 .) (float64 (int64 .)) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- end }}

{{/*
One service's migration Job: a pre-install/pre-upgrade hook that runs
`migrator up --service <service> --read-from-env --lock-timeout <n> --ddl-lock-timeout <n>
--connect-timeout <n> --ddl-lock-retries <n> --progress-interval <n> --log-format <f>
[extraArgs...]`.
Its hook weight is its position in `services` (plus `hookWeightBase`), so Helm runs the
services one at a time, in that order, and stops at the first failure.
backoffLimit 0 by default: a failed migration is not retried blindly; the failed pod and
its logs stay until the next install/upgrade (`before-hook-creation`).
Expects a dict: { context: $, service: "auth", index: 0 }
*/}}
{{- define "migrator.migrationJob" -}}
{{- $ctx := .context }}
{{- $svc := .service }}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- $m := get $v "migration" | default dict }}
{{- $repair := dig "repairTracking" false $m }}
{{- $args := list "up" "--service" $svc "--read-from-env" "--lock-timeout" (toString (int $ctx.Values.lockTimeout)) }}
{{- $args = concat $args (list "--ddl-lock-timeout" (include "migrator.seconds" (dig "ddlLockTimeout" $ctx.Values.ddlLockTimeout $m))) }}
{{- $args = concat $args (list "--connect-timeout" (include "migrator.seconds" (dig "connectTimeout" $ctx.Values.connectTimeout $m))) }}
{{- $args = concat $args (list "--ddl-lock-retries" (toString (int (dig "ddlLockRetries" $ctx.Values.ddlLockRetries $m)))) }}
{{- $args = concat $args (list "--progress-interval" (include "migrator.seconds" (dig "progressInterval" $ctx.Values.progressInterval $m))) }}
{{- $args = concat $args (list "--log-format" $ctx.Values.logFormat) }}
{{- if $ctx.Values.logLevel }}
{{- $args = concat $args (list "--log-level" $ctx.Values.logLevel) }}
{{- end }}
{{- $args = concat $args (dig "extraArgs" list $m) }}
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
  backoffLimit: {{ dig "backoffLimit" 0 $m | int }}
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
`migrator backfill run [NAME] --service <service> --read-from-env --connect-timeout <n>
--log-format <f>` in the background once the release is applied; it never blocks the
rollout. It is retried (`backoffLimit`, default 3): a backfill continues from its last
checkpoint.
A Job's pod template is immutable, so the Job's name ends in a hash of its pod template
(`<release>-<service>-backfill-<hash>`, see migrator.backfillJobName): an upgrade that
changes the image, the arguments or anything else in the pod template renders a new
Job, and Helm deletes the old one instead of patching it. The old runner gets SIGTERM,
stops after its current batch and releases its lease; the new one continues from the
checkpoint (it waits for a live lease, up to `lockTimeout`).
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.backfillJob" -}}
{{- $ctx := .context }}
{{- $svc := .service }}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- $b := get $v "backfill" | default dict }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "migrator.backfillJobName" . }}
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
    {{- include "migrator.backfillPodTemplate" . | nindent 4 }}
{{- end }}

{{/*
The pod template of a service's backfill Job (immutable once the Job exists).
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.backfillPodTemplate" -}}
{{- $ctx := .context }}
{{- $svc := .service }}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- $b := get $v "backfill" | default dict }}
{{- $args := list "backfill" "run" }}
{{- with dig "name" "" $b }}
{{- $args = append $args . }}
{{- end }}
{{- $args = concat $args (list "--service" $svc "--read-from-env" "--lock-timeout" (toString (int $ctx.Values.lockTimeout)) "--connect-timeout" (include "migrator.seconds" $ctx.Values.connectTimeout) "--log-format" $ctx.Values.logFormat) }}
{{- if $ctx.Values.logLevel }}
{{- $args = concat $args (list "--log-level" $ctx.Values.logLevel) }}
{{- end }}
metadata:
  {{- include "migrator.podMetadata" (dict "context" $ctx "service" $svc "component" "backfill" "podAnnotations" (dig "podAnnotations" dict $b)) | nindent 2 }}
spec:
  {{- include "migrator.podSpec" (dict "context" $ctx "service" $svc "container" "backfill" "args" $args "env" list "extraEnv" (dig "extraEnv" list $b) "resources" (dig "resources" dict $b)) | nindent 2 }}
{{- end }}

{{/*
Name of a service's backfill Job: `<release>-<service-kebab>-backfill-<hash>`, the hash
being the first 8 hex digits of the sha256 of its rendered pod template.
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.backfillJobName" -}}
{{- $hash := include "migrator.backfillPodTemplate" . | sha256sum | trunc 8 }}
{{- include "migrator.serviceResourceName" (dict "context" .context "service" .service "suffix" (printf "backfill-%s" $hash)) }}
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
