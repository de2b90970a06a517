{{/*
migrator.waitInitContainer: one container spec (a map) for an application pod's
`initContainers`. It runs
  migrator wait --service <service> --read-from-env --timeout <timeout> --log-format <f>
which exits 0 once the service's database is at the newest migration version that the
migrator image ships, and 1 on timeout; so a new application pod starts only once its
schema is at the version it expects (the pod retries the init container on failure).

Usage, in an application chart that has this chart as a dependency:

  # Chart.yaml
  dependencies:
    - name: migrator
      version: 0.1.0
      repository: file://../migrator      # or your chart repository

  # templates/deployment.yaml
  spec:
    template:
      spec:
        initContainers:
          - {{- include "migrator.waitInitContainer" (dict "context" $ "service" "auth" "timeout" 600) | nindent 12 }}

(`- {{-` then `nindent` of the dash's column + 2: the map becomes that list item.)

Expects a dict:
  context     required  the including chart's root context, `$`
  service     required  the service's values key and `--service` name, e.g. "auth"
  timeout     optional  seconds to wait before giving up (exit 1); default 300
  secretName  optional  Secret holding the DSN; default: the one the migrator dependency
                        uses for that service (`<service>.migration.database.existingSecret`,
                        else `<release>-<service-kebab>-db`)
  secretKey   optional  key of the DSN in that Secret; default: as the dependency (`dsn`)
  image       optional  full image reference; default: the migrator dependency's image
                        (`image.repository`, `image.tag` or its appVersion, `image.digest`)
  chart       optional  name or alias of the migrator dependency; default "migrator"
  resources   optional  container resources; default: small requests, 256Mi limit
Without a migrator dependency in `context` (e.g. the template is used from a sibling
chart of an umbrella chart), `image` is required and the Secret defaults to
`<release>-<service-kebab>-db`.
The container runs as uid 10001 with a read-only root filesystem, no privilege
escalation, all capabilities dropped and seccomp RuntimeDefault, whatever the pod's own
securityContext says.
*/}}
{{- define "migrator.waitInitContainer" -}}
{{- $ctx := required "migrator.waitInitContainer: \"context\" ($) is required" (get . "context") }}
{{- $service := required "migrator.waitInitContainer: \"service\" is required" (get . "service") }}
{{- $sub := get (default dict (get $ctx "Subcharts")) (get . "chart" | default "migrator") }}
{{- $timeout := get . "timeout" | default 300 }}
{{- $image := get . "image" }}
{{- $pullPolicy := "IfNotPresent" }}
{{- $logFormat := "json" }}
{{- $secretName := get . "secretName" }}
{{- $secretKey := get . "secretKey" }}
{{- if $sub }}
{{- $image = $image | default (include "migrator.image" $sub) }}
{{- $pullPolicy = $sub.Values.image.pullPolicy }}
{{- $logFormat = $sub.Values.logFormat }}
{{- $secretName = $secretName | default (include "migrator.dsnSecretName" (dict "context" $sub "service" $service)) }}
{{- $secretKey = $secretKey | default (include "migrator.dsnSecretKey" (dict "context" $sub "service" $service)) }}
{{- else }}
{{- $image = required (printf "migrator.waitInitContainer: no %q dependency in this chart: pass \"image\"" (get . "chart" | default "migrator")) $image }}
{{- $secretName = $secretName | default (printf "%s-%s-db" $ctx.Release.Name (include "migrator.serviceKebab" $service) | trunc 63 | trimSuffix "-") }}
{{- end }}
{{- $secretKey = $secretKey | default "dsn" }}
{{- $resources := get . "resources" | default (dict "requests" (dict "cpu" "10m" "memory" "64Mi") "limits" (dict "memory" "256Mi")) -}}
name: {{ printf "wait-for-%s-schema" (include "migrator.serviceKebab" $service) | trunc 63 | trimSuffix "-" }}
image: {{ $image | quote }}
imagePullPolicy: {{ $pullPolicy }}
args:
  - wait
  - --service
  - {{ $service | quote }}
  - --read-from-env
  - --timeout
  - {{ $timeout | int | toString | quote }}
  - --log-format
  - {{ $logFormat | quote }}
env:
  - name: DSN
    valueFrom:
      secretKeyRef:
        name: {{ $secretName }}
        key: {{ $secretKey | quote }}
  - name: PYTHONDONTWRITEBYTECODE
    value: "1"
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop:
      - ALL
  seccompProfile:
    type: RuntimeDefault
resources:
  {{- toYaml $resources | nindent 2 }}
terminationMessagePolicy: FallbackToLogsOnError
{{- end }}
