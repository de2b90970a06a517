{{/*
Expand the name of the chart.
*/}}
{{- define "migrator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "migrator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "migrator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "migrator.labels" -}}
helm.sh/chart: {{ include "migrator.chart" . }}
{{ include "migrator.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ default .Release.Name .Values.partOf | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "migrator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "migrator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The label that names the service an object belongs to. Its value is the service's
values key, which is also its `--service` name (e.g. `apiOntology`).
*/}}
{{- define "migrator.serviceLabelKey" -}}
migrator.platform/service
{{- end }}

{{/*
Labels of one service's object: the common labels, the component and the service.
Expects a dict: { context: $, service: "auth", component: "migration" }
*/}}
{{- define "migrator.serviceLabels" -}}
{{ include "migrator.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{ include "migrator.serviceLabelKey" . }}: {{ .service }}
{{- end }}

{{/*
A service's values key in kebab case, as it appears in object names
(`apiOntology` -> `api-ontology`).
Expects the service's values key (a string).
*/}}
{{- define "migrator.serviceKebab" -}}
{{- kebabcase . }}
{{- end }}

{{/*
Name of a per-service object: `<release>-<service-kebab>-<suffix>`, at most 63
characters. Only the release part is shortened, so the names of two services or two
kinds of object never collide. `fullnameOverride` replaces the release name.
Expects a dict: { context: $, service: "apiOntology", suffix: "migration" }
*/}}
{{- define "migrator.serviceResourceName" -}}
{{- $tail := printf "-%s-%s" (include "migrator.serviceKebab" .service) .suffix }}
{{- $prefix := default .context.Release.Name .context.Values.fullnameOverride }}
{{- printf "%s%s" ($prefix | trunc (int (sub 63 (len $tail))) | trimSuffix "-") $tail }}
{{- end }}

{{/*
The values block of one service (`.Values.<service>`); fails when `services` names a
key that has no block.
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.serviceValues" -}}
{{- $v := index .context.Values .service }}
{{- if not (kindIs "map" $v) }}
{{- fail (printf "services lists %q, but the values have no %s block (expected %s.migration)" .service .service .service) }}
{{- end }}
{{- toYaml $v }}
{{- end }}

{{/*
Name of the Secret that holds a service's DSN: `database.existingSecret`, else
`<release>-<service-kebab>-db`.
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.dsnSecretName" -}}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- $existing := dig "migration" "database" "existingSecret" "" $v }}
{{- if $existing }}
{{- $existing }}
{{- else }}
{{- include "migrator.serviceResourceName" (dict "context" .context "service" .service "suffix" "db") }}
{{- end }}
{{- end }}

{{/*
Key of the DSN in that Secret.
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.dsnSecretKey" -}}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- dig "migration" "database" "secretKey" "dsn" $v | default "dsn" }}
{{- end }}

{{/*
The image reference: `repository@digest` when a digest is set, else
`repository:tag` (tag default: the chart's appVersion).
*/}}
{{- define "migrator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{/*
Name of the ServiceAccount the pods use (empty: the namespace's default account).
*/}}
{{- define "migrator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "migrator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Hook weight of the migration Job of the service at position `index` in `services`.
Expects a dict: { context: $, index: 0 }
*/}}
{{- define "migrator.migrationHookWeight" -}}
{{- add (int .context.Values.hookWeightBase) (int .index) }}
{{- end }}

{{/*
Hook weight of what the chart creates for the Jobs (Secrets, ServiceAccount): lower
than every migration Job, so it exists before the first Job starts.
*/}}
{{- define "migrator.dependencyHookWeight" -}}
{{- sub (int .Values.hookWeightBase) 10 }}
{{- end }}

{{/*
Is a service's migration Job enabled? Renders "true" or "".
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.migrationEnabled" -}}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- if dig "migration" "enabled" true $v }}true{{ end }}
{{- end }}

{{/*
Is a service's backfill Job enabled? Renders "true" or "".
Expects a dict: { context: $, service: "auth" }
*/}}
{{- define "migrator.backfillEnabled" -}}
{{- $v := include "migrator.serviceValues" . | fromYaml }}
{{- if dig "backfill" "enabled" false $v }}true{{ end }}
{{- end }}

{{/*
Checks that JSON schema cannot express. Renders nothing; fails with a message.
*/}}
{{- define "migrator.validate" -}}
{{- $known := list "services" "nameOverride" "fullnameOverride" "partOf" "image" "imagePullSecrets" "serviceAccount" "lockTimeout" "ddlLockTimeout" "connectTimeout" "ddlLockRetries" "progressInterval" "logFormat" "logLevel" "activeDeadlineSeconds" "ttlSecondsAfterFinished" "hookDeletePolicy" "hookWeightBase" "resources" "extraEnv" "extraVolumes" "extraVolumeMounts" "podAnnotations" "podLabels" "podSecurityContext" "securityContext" "nodeSelector" "tolerations" "affinity" "priorityClassName" "tests" "global" "enabled" }}
{{- /* the service blocks of values.yaml stay valid when `services` lists only some */}}
{{- $shipped := list "auth" "agentic" "analytics" "cortex" "apiOntology" }}
{{- range $key, $_ := .Values }}
{{- if not (or (has $key $known) (has $key $shipped) (has $key $.Values.services)) }}
{{- fail (printf "unknown values key %q: it is neither a chart setting nor a service listed in services (a typo, or a service missing from services?)" $key) }}
{{- end }}
{{- end }}
{{- range $svc := .Values.services }}
{{- $v := include "migrator.serviceValues" (dict "context" $ "service" $svc) | fromYaml }}
{{- if and (dig "migration" "database" "dsn" "" $v) (dig "migration" "database" "existingSecret" "" $v) }}
{{- fail (printf "%s.migration.database: set either existingSecret (a Secret you provide) or dsn (the chart creates the Secret), not both" $svc) }}
{{- end }}
{{- $deadline := dig "migration" "activeDeadlineSeconds" $.Values.activeDeadlineSeconds $v }}
{{- if le (int $deadline) (int $.Values.lockTimeout) }}
{{- fail (printf "%s: activeDeadlineSeconds (%d) must be larger than lockTimeout (%d), or a Job waiting for the lock is killed before it gives up" $svc (int $deadline) (int $.Values.lockTimeout)) }}
{{- end }}
{{- end }}
{{- end }}
