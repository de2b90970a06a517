{{/*
Pod spec shared by every pod this chart runs (migration Jobs, backfill Jobs, test Pods):
non-root uid 10001, read-only root filesystem with an emptyDir at /tmp, no privilege
escalation, all capabilities dropped, seccomp RuntimeDefault, restartPolicy Never, the
DSN from the service's Secret in env `DSN` (the CLI reads it with --read-from-env).
The image's entrypoint `migrator` stays: only `args` are set.
Expects a dict: {
  context: $,
  service: "auth",               the service's values key
  container: "migrate",          the container's name
  args: (list "up" ...),         the CLI arguments
  env: (list),                   EnvVars added after DSN (e.g. the repair flag)
  extraEnv: (list),              the service's own extraEnv (after the top-level one)
  resources: (dict),             empty: the top-level `resources`
}
*/}}
{{- define "migrator.podSpec" -}}
{{- $ctx := .context }}
{{- $sa := include "migrator.serviceAccountName" $ctx }}
{{- $secret := dict "context" $ctx "service" .service -}}
restartPolicy: Never
{{- if $sa }}
serviceAccountName: {{ $sa }}
{{- end }}
automountServiceAccountToken: {{ $ctx.Values.serviceAccount.automountServiceAccountToken }}
{{- with $ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml $ctx.Values.podSecurityContext | nindent 2 }}
{{- with $ctx.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $ctx.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ .container }}
    image: {{ include "migrator.image" $ctx | quote }}
    imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    env:
      - name: DSN
        valueFrom:
          secretKeyRef:
            name: {{ include "migrator.dsnSecretName" $secret }}
            key: {{ include "migrator.dsnSecretKey" $secret | quote }}
      - name: PYTHONDONTWRITEBYTECODE
        value: "1"
      {{- with .env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      {{- with $ctx.Values.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      {{- with .extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    securityContext:
      {{- toYaml $ctx.Values.securityContext | nindent 6 }}
    {{- with (.resources | default $ctx.Values.resources) }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    terminationMessagePolicy: FallbackToLogsOnError
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- with $ctx.Values.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  {{- with $ctx.Values.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
Pod template metadata (labels and annotations) of a service's pod.
Expects a dict: { context: $, service: "auth", component: "migration", podAnnotations: (dict) }
*/}}
{{- define "migrator.podMetadata" -}}
labels:
  {{- include "migrator.serviceLabels" . | nindent 2 }}
  {{- with .context.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $annotations := merge (deepCopy (.podAnnotations | default dict)) (deepCopy (.context.Values.podAnnotations | default dict)) }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
