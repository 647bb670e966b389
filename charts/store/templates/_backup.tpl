{{/* The backup, maintenance and restore pods' shared parts (see backup-cronjobs.yaml and restore-job.yaml). */}}
{{- define "store.backupPasswordSecret" -}}
{{- .Values.backup.passwordSecret | default (printf "%s-backup-password" (include "store.fullname" .)) -}}
{{- end -}}
{{- define "store.backupCredentialsSecret" -}}
{{- .Values.backup.credentialsSecret | default (printf "%s-backup-credentials" (include "store.fullname" .)) -}}
{{- end -}}
{{/* Environment of every container that runs restic: the repository, the password as a file, the credentials (every
     key of the credentials Secret, e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or RESTIC_REST_USERNAME /
     RESTIC_REST_PASSWORD) as variables — never on a command line. */}}
{{- define "store.resticEnv" -}}
- name: STORE_NAME
  value: {{ .Values.backup.storeName | default .Release.Name | quote }}
- name: RESTIC_REPOSITORY_BASE
  value: {{ required "backup.repository is required when backups are enabled" .Values.backup.repository | quote }}
- name: RESTIC_PASSWORD_FILE
  value: /secrets/restic/restic-password
- name: RESTIC_CACHE_DIR
  value: /tmp/restic-cache
- name: LOCK_WAIT_SECONDS
  value: {{ .Values.backup.lockWaitSeconds | quote }}
- name: HOME
  value: /tmp
{{- end -}}
{{- define "store.resticEnvFrom" -}}
envFrom:
  - secretRef:
      name: {{ include "store.backupCredentialsSecret" . }}
      optional: true
{{- end -}}
{{/* Argument: (list root besideWordPress). Backups run beside WordPress (a ReadWriteOnce volume is mounted on its
     node); a restore runs while WordPress is stopped, wherever the volume can be attached. */}}
{{- define "store.backupPodSpec" -}}
{{- $besideWordPress := index . 1 -}}
{{- with index . 0 -}}
restartPolicy: Never
serviceAccountName: {{ include "store.fullname" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with include "store.imagePullSecrets" . }}{{ . | nindent 0 }}{{ end }}
securityContext:
  {{- include "store.podSecurityContext" 33 | nindent 2 }}
{{- if and $besideWordPress (ne .Values.wordpress.persistence.accessMode "ReadWriteMany") }}
# The WordPress volume is ReadWriteOnce: run on the node that has it mounted.
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "store.selectorLabels" (list . "wordpress") | nindent 12 }}
{{- end }}
volumes:
  - name: html
    persistentVolumeClaim:
      claimName: {{ include "store.fullname" . }}-wordpress
  - name: scripts
    configMap:
      name: {{ include "store.fullname" . }}-scripts
      defaultMode: 0555
  - name: restic-password
    secret:
      secretName: {{ include "store.backupPasswordSecret" . }}
      defaultMode: 0400
      items:
        - key: restic-password
          path: restic-password
  - name: scratch
    emptyDir:
      sizeLimit: {{ .Values.backup.scratchSizeLimit }}
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.backup.cacheSizeLimit }}
{{- end -}}
{{- end -}}
{{- define "store.resticMounts" -}}
- name: scripts
  mountPath: /scripts
  readOnly: true
- name: restic-password
  mountPath: /secrets/restic
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}
{{- define "store.restoreEnv" -}}
- name: RESTORE_ID
  value: {{ .Values.restore.id | quote }}
- name: RESTORE_SNAPSHOT
  value: {{ required "restore.snapshot is required with restore.id" .Values.restore.snapshot | quote }}
- name: SOURCE_STORE
  value: {{ .Values.restore.sourceStore | default .Values.backup.storeName | default .Release.Name | quote }}
- name: RESTORE_DIR
  value: /var/www/html/.storefleet/restore
{{- end -}}

{{/* The environment of a clone's restore (the bootstrap's init containers): the source store's backup, restored once. */}}
{{- define "store.cloneRestoreEnv" -}}
- name: RESTORE_ID
  value: "clone"
- name: RESTORE_SNAPSHOT
  value: {{ .Values.bootstrap.restoreFrom.snapshot | quote }}
- name: SOURCE_STORE
  value: {{ required "bootstrap.restoreFrom.sourceStore is required with bootstrap.restoreFrom.snapshot" .Values.bootstrap.restoreFrom.sourceStore | quote }}
- name: RESTORE_DIR
  value: /var/www/html/.storefleet/restore
- name: WAIT_FOR_WORDPRESS
  value: "true"
{{- end -}}
{{/* One step of a restore, as a container. Argument: (list root step envTemplate): step is fetch (restic: download
     and check into staging), database (mysql: replace the database) or files (restic: swap wp-content); envTemplate
     names the restore's environment (store.restoreEnv in place, store.cloneRestoreEnv for a clone's bootstrap). */}}
{{- define "store.restoreStep" -}}
{{- $step := index . 1 -}}
{{- $env := index . 2 -}}
{{- with index . 0 -}}
- name: {{ $step }}
  {{- if eq $step "database" }}
  image: {{ include "store.image" .Values.images.mysql }}
  imagePullPolicy: {{ .Values.images.mysql.pullPolicy }}
  {{- else }}
  image: {{ include "store.image" .Values.images.restic }}
  imagePullPolicy: {{ .Values.images.restic.pullPolicy }}
  {{- end }}
  command: ["sh", "/scripts/restore-{{ $step }}.sh"]
  {{- if eq $step "fetch" }}
  {{- include "store.resticEnvFrom" . | nindent 2 }}
  {{- end }}
  env:
    {{- if eq $step "fetch" }}
    {{- include "store.resticEnv" . | nindent 4 }}
    {{- end }}
    {{- if eq $step "database" }}
    {{- include "store.upgradeDatabaseEnv" . | nindent 4 }}
    {{- end }}
    {{- include $env . | nindent 4 }}
    {{- if eq $step "database" }}
    - name: WAIT_TIMEOUT_SECONDS
      value: {{ .Values.bootstrap.waitTimeoutSeconds | quote }}
    - name: HOME
      value: /tmp
    {{- end }}
    {{- if eq $step "files" }}
    - name: WP_CONTENT_DIR
      value: /var/www/html/wp-content
    - name: WAIT_TIMEOUT_SECONDS
      value: {{ .Values.bootstrap.waitTimeoutSeconds | quote }}
    {{- end }}
  resources:
    {{- toYaml .Values.backup.resources | nindent 4 }}
  securityContext:
    {{- include "store.containerSecurityContext" true | nindent 4 }}
  volumeMounts:
    {{- if eq $step "fetch" }}
    {{- include "store.resticMounts" . | nindent 4 }}
    {{- else }}
    - name: scripts
      mountPath: /scripts
      readOnly: true
    - name: tmp
      mountPath: /tmp
    {{- end }}
    - name: html
      mountPath: /var/www/html
{{- end -}}
{{- end -}}
