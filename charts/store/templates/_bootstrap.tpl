{{/* The bootstrap Job's pod template. The Job's name carries the bootstrap generation and a hash of
     this template: a new generation re-runs only the bootstrap, and a changed template (chart
     upgrade) becomes a new Job instead of an immutable-field error. */}}
{{- define "store.bootstrapPodTemplate" -}}
metadata:
  labels:
    {{- include "store.componentLabels" (list . "bootstrap") | nindent 4 }}
    storefleet.io/bootstrap-generation: {{ .Values.bootstrap.generation | quote }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "store.fullname" . }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with include "store.imagePullSecrets" . }}{{ . | nindent 2 }}{{ end }}
  securityContext:
    {{- include "store.podSecurityContext" 33 | nindent 4 }}
  {{- if ne .Values.wordpress.persistence.accessMode "ReadWriteMany" }}
  # The WordPress volume is ReadWriteOnce: run on the node that has it mounted.
  affinity:
    podAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "store.selectorLabels" (list . "wordpress") | nindent 14 }}
  {{- end }}
  {{- if .Values.bootstrap.restoreFrom.snapshot }}
  # A clone: the source's backup is restored first, each step idempotent (a retried pod finishes what one started).
  initContainers:
    {{- include "store.restoreStep" (list . "fetch" "store.cloneRestoreEnv") | nindent 4 }}
    {{- include "store.restoreStep" (list . "database" "store.cloneRestoreEnv") | nindent 4 }}
    {{- include "store.restoreStep" (list . "files" "store.cloneRestoreEnv") | nindent 4 }}
  {{- end }}
  containers:
    - name: bootstrap
      image: {{ include "store.image" .Values.images.wpCli }}
      imagePullPolicy: {{ .Values.images.wpCli.pullPolicy }}
      command: ["/bin/bash", "/scripts/bootstrap.sh"]
      env:
        {{- include "store.wordpressDatabaseEnv" . | nindent 8 }}
        - name: HOME
          value: /tmp
        - name: SITE_URL
          value: {{ include "store.siteUrl" . | quote }}
        - name: SITE_TITLE
          value: {{ .Values.wordpress.siteTitle | default .Values.storeName | default .Release.Name | quote }}
        - name: WP_ADMIN_USER
          value: {{ .Values.wordpress.admin.user | quote }}
        - name: WP_ADMIN_EMAIL
          value: {{ .Values.wordpress.admin.email | quote }}
        - name: WP_ADMIN_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ include "store.credentialsSecret" . }}
              key: wordpress-admin-password
        - name: WOOCOMMERCE_VERSION
          value: {{ .Values.bootstrap.woocommerceVersion | quote }}
        - name: STOREFRONT_VERSION
          value: {{ .Values.bootstrap.storefrontVersion | quote }}
        - name: STORE_CURRENCY
          value: {{ .Values.bootstrap.currency | quote }}
        - name: STORE_BASE_LOCATION
          value: {{ .Values.bootstrap.baseLocation | quote }}
        - name: SAMPLE_PRODUCTS
          value: {{ .Values.bootstrap.sampleProducts | quote }}
        - name: WAIT_TIMEOUT_SECONDS
          value: {{ .Values.bootstrap.waitTimeoutSeconds | quote }}
        - name: BOOTSTRAP_GENERATION
          value: {{ .Values.bootstrap.generation | quote }}
        {{- with .Values.bootstrap.personaliseFrom }}
        - name: PERSONALISE_FROM
          value: {{ . | quote }}
        {{- end }}
        {{- with .Values.bootstrap.restoreFrom.snapshot }}
        - name: CLONE_SNAPSHOT
          value: {{ . | quote }}
        {{- end }}
        {{- include "store.smokeTestEnv" . | nindent 8 }}
      resources:
        {{- toYaml .Values.bootstrap.resources | nindent 8 }}
      securityContext:
        {{- include "store.containerSecurityContext" true | nindent 8 }}
      volumeMounts:
        - name: html
          mountPath: /var/www/html
        - name: scripts
          mountPath: /scripts
          readOnly: true
        - name: tmp
          mountPath: /tmp
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
        sizeLimit: {{ ternary .Values.backup.cacheSizeLimit "512Mi" (ne .Values.bootstrap.restoreFrom.snapshot "") }}
    {{- if .Values.bootstrap.restoreFrom.snapshot }}
    - name: restic-password
      secret:
        secretName: {{ include "store.backupPasswordSecret" . }}
        defaultMode: 0400
        items:
          - key: restic-password
            path: restic-password
    {{- end }}
{{- end -}}

{{- define "store.smokeTestEnv" -}}
- name: WORDPRESS_SERVICE
  value: {{ include "store.wordpressHost" . }}
- name: STORE_HOST
  value: {{ include "store.host" . | quote }}
- name: STORE_SCHEME
  value: {{ ternary "https" "http" .Values.ingress.tls.enabled | quote }}
{{- end -}}
