{{/* The upgrade and restore Jobs' shared parts (see upgrade-jobs.yaml). */}}
{{- define "store.upgradeEnv" -}}
- name: UPGRADE_GENERATION
  value: {{ .Values.upgrade.generation | quote }}
- name: SNAPSHOT
  value: {{ .Values.upgrade.snapshot | quote }}
- name: WAIT_TIMEOUT_SECONDS
  value: {{ .Values.bootstrap.waitTimeoutSeconds | quote }}
- name: HOME
  value: /tmp
{{- end }}
{{/* Only the dump and restore containers get the database's root password: never the containers that run plugins' PHP. */}}
{{- define "store.upgradeDatabaseEnv" -}}
- name: DB_HOST
  value: {{ include "store.mysqlHost" . }}
- name: DB_NAME
  value: {{ .Values.database.name | quote }}
- name: DB_USER
  value: root
- name: MYSQL_PWD
  valueFrom:
    secretKeyRef:
      name: {{ include "store.credentialsSecret" . }}
      key: mysql-root-password
{{- end }}
{{- define "store.upgradePodSpec" -}}
restartPolicy: Never
serviceAccountName: {{ include "store.fullname" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with include "store.imagePullSecrets" . }}{{ . | nindent 0 }}{{ end }}
securityContext:
  {{- include "store.podSecurityContext" 33 | nindent 2 }}
{{- if ne .Values.wordpress.persistence.accessMode "ReadWriteMany" }}
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
  - name: tmp
    emptyDir:
      sizeLimit: 512Mi
{{- end }}
{{- define "store.upgradeMounts" -}}
- name: html
  mountPath: /var/www/html
- name: scripts
  mountPath: /scripts
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end }}
