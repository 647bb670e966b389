{{/* Names: the release is the store (at most 40 characters, so every derived name stays a 63-character DNS label). */}}
{{- define "store.fullname" -}}
{{- .Release.Name -}}
{{- end -}}

{{- define "store.labels" -}}
app.kubernetes.io/name: store
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: storefleet
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
storefleet.io/store: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one component: include "store.selectorLabels" (list . "mysql") */}}
{{- define "store.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: store
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "store.componentLabels" -}}
{{ include "store.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* The plan block picked by .Values.plan; fails with the accepted names otherwise. */}}
{{- define "store.plan" -}}
{{- $plan := index .Values.plans .Values.plan -}}
{{- if not $plan -}}
{{- fail (printf "plan %q is not defined under plans (defined: %s)" .Values.plan (keys .Values.plans | sortAlpha | join ", ")) -}}
{{- end -}}
{{- toYaml $plan -}}
{{- end -}}

{{- define "store.credentialsSecret" -}}
{{- .Values.credentials.existingSecret | default (printf "%s-credentials" (include "store.fullname" .)) -}}
{{- end -}}

{{- define "store.host" -}}
{{- .Values.ingress.host | default (printf "%s.%s" (.Values.storeName | default .Release.Name) .Values.ingress.baseDomain) -}}
{{- end -}}

{{- define "store.siteUrl" -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) (include "store.host" .) -}}
{{- end -}}

{{- define "store.mysqlHost" -}}
{{- printf "%s-mysql" (include "store.fullname" .) -}}
{{- end -}}

{{- define "store.wordpressHost" -}}
{{- printf "%s-wordpress" (include "store.fullname" .) -}}
{{- end -}}

{{- define "store.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}

{{/* Pod Security "restricted": the pod-level part. Argument: the uid/gid to run as. */}}
{{- define "store.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod Security "restricted": the container-level part. Argument: read-only root filesystem. */}}
{{- define "store.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: {{ . }}
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Environment of every container that talks to the database as WordPress does. */}}
{{- define "store.wordpressDatabaseEnv" -}}
- name: WORDPRESS_DB_HOST
  value: {{ include "store.mysqlHost" . }}:3306
- name: WORDPRESS_DB_NAME
  value: {{ .Values.database.name | quote }}
- name: WORDPRESS_DB_USER
  value: {{ .Values.database.user | quote }}
- name: WORDPRESS_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "store.credentialsSecret" . }}
      key: mysql-password
{{- end -}}

{{/* WordPress's extra wp-config settings (read by the official image's wp-config-docker.php). */}}
{{- define "store.wordpressConfigExtra" -}}
{{- $plan := include "store.plan" . | fromYaml -}}
- name: WORDPRESS_CONFIG_EXTRA
  value: |
    define('FS_METHOD', 'direct');
    define('WP_MEMORY_LIMIT', '{{ $plan.wordpress.phpMemoryLimitMi }}M');
    define('WP_MAX_MEMORY_LIMIT', '{{ $plan.wordpress.phpMemoryLimitMi }}M');
    {{- if .Values.wordpress.cron.enabled }}
    define('DISABLE_WP_CRON', true);
    {{- end }}
{{- end -}}

{{/* True when the store's certificate is requested from cert-manager per store (HTTP-01 solver in this namespace). */}}
{{- define "store.acmeSolver" -}}
{{- if and .Values.ingress.enabled .Values.ingress.tls.enabled .Values.ingress.tls.clusterIssuer (not .Values.ingress.tls.wildcard) -}}true{{- end -}}
{{- end -}}

{{- define "store.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* Guards that turn invalid combinations into a clear install error. */}}
{{- define "store.validate" -}}
{{- if and (gt (int .Values.wordpress.replicas) 1) (ne .Values.wordpress.persistence.accessMode "ReadWriteMany") -}}
{{- fail "wordpress.replicas > 1 needs wordpress.persistence.accessMode ReadWriteMany (pods on several nodes share the WordPress files)" -}}
{{- end -}}
{{- range $key, $_ := .Values.ingress.annotations -}}
{{- if contains "snippet" (lower $key) -}}
{{- fail (printf "ingress annotation %q is refused: snippet annotations run arbitrary configuration in the shared ingress controller" $key) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.ingress.tls.wildcard .Values.ingress.tls.clusterIssuer -}}
{{- fail "ingress.tls.wildcard and ingress.tls.clusterIssuer exclude each other: a wildcard certificate is the ingress controller's default, no per-store certificate is requested" -}}
{{- end -}}
{{- if gt (len .Release.Name) 40 -}}
{{- fail (printf "release name %q is longer than 40 characters; derived names must stay 63-character DNS labels" .Release.Name) -}}
{{- end -}}
{{- end -}}

{{/*
The size of the WordPress files volume: the plan's, or the claim's current request when that is larger. A plan
change never shrinks a volume (the API refuses it), and growth is requested by the control plane once the upgraded
release is healthy — so a rollback to the previous revision never tries to shrink a grown claim.
*/}}
{{- define "store.filesVolumeSize" -}}
{{- $plan := include "store.plan" . | fromYaml -}}
{{- $existing := lookup "v1" "PersistentVolumeClaim" .Release.Namespace (printf "%s-wordpress" (include "store.fullname" .)) -}}
{{- $current := dig "spec" "resources" "requests" "storage" "" ($existing | default dict) -}}
{{- $current | default $plan.wordpress.storage -}}
{{- end -}}

{{/*
The MySQL volumeClaimTemplate's size: fixed when the StatefulSet is created (a StatefulSet's claim templates are
immutable); later growth is applied to the claim itself. Read back from the live StatefulSet on upgrades.
*/}}
{{- define "store.databaseClaimTemplateSize" -}}
{{- $plan := include "store.plan" . | fromYaml -}}
{{- $existing := lookup "apps/v1" "StatefulSet" .Release.Namespace (printf "%s-mysql" (include "store.fullname" .)) -}}
{{- $templates := dig "spec" "volumeClaimTemplates" list ($existing | default dict) -}}
{{- $size := "" -}}
{{- range $templates -}}
{{- if eq (dig "metadata" "name" "" .) "data" -}}
{{- $size = dig "spec" "resources" "requests" "storage" "" . -}}
{{- end -}}
{{- end -}}
{{- $size | default $plan.mysql.storage -}}
{{- end -}}
