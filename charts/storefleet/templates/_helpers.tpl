{{- define "storefleet.fullname" -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}

{{- define "storefleet.labels" -}}
app.kubernetes.io/name: storefleet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: storefleet
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "storefleet.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: storefleet
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "storefleet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "storefleet.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "storefleet.adminSecret" -}}{{ .Values.access.existingSecret | default (printf "%s-admin" (include "storefleet.fullname" .)) }}{{- end -}}

{{- define "storefleet.redisSecret" -}}
{{- if .Values.redis.enabled -}}{{ .Values.redis.existingSecret | default (printf "%s-redis" (include "storefleet.fullname" .)) }}{{- else -}}{{ .Values.externalRedis.existingSecret }}{{- end -}}
{{- end -}}

{{- define "storefleet.redisEndpoint" -}}
{{- if .Values.redis.enabled -}}{{ printf "%s-redis:6379" (include "storefleet.fullname" .) }}
{{- else if .Values.externalRedis.sentinel.serviceName -}}{{ required "externalRedis.sentinel.endpoints is required with a sentinel serviceName" (join "," .Values.externalRedis.sentinel.endpoints) }},serviceName={{ .Values.externalRedis.sentinel.serviceName }}
{{- else -}}{{ required "externalRedis.endpoint (or externalRedis.sentinel) is required when redis.enabled is false" .Values.externalRedis.endpoint }}{{- end -}}
{{- end -}}

{{- define "storefleet.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{- define "storefleet.dataProtectionSecret" -}}
{{- .Values.dataProtection.existingSecret | default (printf "%s-dataprotection" (include "storefleet.fullname" .)) -}}
{{- end -}}
