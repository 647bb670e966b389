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
