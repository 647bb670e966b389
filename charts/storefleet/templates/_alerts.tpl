{{/*
The alert rules (PrometheusRule spec). Each alert links to its runbook section in docs/operations.md; the chart tests
extract these groups and run `promtool check rules` and `promtool test rules` on them.
*/}}
{{- define "storefleet.alertGroups" -}}
{{- $runbook := "https://github.com/storefleet/storefleet/blob/main/docs/operations.md" -}}
groups:
  - name: storefleet
    rules:
      - alert: StorefleetStoresFailing
        expr: sum(storefleet_stores{phase="failed"}) > 0
        for: 10m
        labels:
          severity: warning
        annotations:
          summary: Stores are failed and wait for a person.
          description: Some stores are in phase failed; each says why (GET /api/v1/stores?phase=failed) and a retry resumes it.
          runbook_url: {{ $runbook }}#storefleetstoresfailing
      - alert: StorefleetStoresDegraded
        expr: sum(storefleet_stores{phase="degraded"}) > 0
        for: 30m
        labels:
          severity: warning
        annotations:
          summary: Live stores have been degraded for half an hour.
          description: Stores are serving but unhealthy (crash loops, OOMKilled, lost volumes); their condition names the cause.
          runbook_url: {{ $runbook }}#storefleetstoresdegraded
      - alert: StorefleetProvisioningSlow
        expr: histogram_quantile(0.95, sum by (le) (rate(storefleet_store_ready_duration_seconds_bucket[1h]))) > {{ .Values.monitoring.alerts.provisioningP95Seconds }}
        for: 15m
        labels:
          severity: warning
        annotations:
          summary: New stores take too long to go live.
          description: The 95th percentile of create to Ready over the last hour is above {{ .Values.monitoring.alerts.provisioningP95Seconds }} s.
          runbook_url: {{ $runbook }}#storefleetprovisioningslow
      - alert: StorefleetEngineStalled
        expr: max(storefleet_queue_oldest_due_age_seconds) > {{ .Values.monitoring.alerts.queueStalledSeconds }}
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: The engine is not keeping up with its queue.
          description: A store due for work has waited more than {{ .Values.monitoring.alerts.queueStalledSeconds }} s; the engine is stalled or saturated.
          runbook_url: {{ $runbook }}#storefleetenginestalled
      - alert: StorefleetLeaseChurn
        expr: sum(rate(storefleet_lease_losses_total[15m])) > 0.01
        for: 15m
        labels:
          severity: warning
        annotations:
          summary: Replicas keep losing store leases.
          description: Leases are lost more than about once every 100 s; Redis is slow or replicas are starved of CPU.
          runbook_url: {{ $runbook }}#storefleetleasechurn
      - alert: StorefleetRedisUnreachable
        expr: min(storefleet_redis_up) == 0
        for: 2m
        labels:
          severity: critical
        annotations:
          summary: A control-plane replica cannot reach Redis.
          description: The API answers 503 and the engine waits while Redis is unreachable.
          runbook_url: {{ $runbook }}#storefleetredisunreachable
      - alert: StorefleetClusterUnreachable
        expr: min(storefleet_cluster_up) == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: The engine cannot reach the Kubernetes API.
          description: Stores wait with a condition saying so; nothing is provisioned, repaired or deleted meanwhile.
          runbook_url: {{ $runbook }}#storefleetclusterunreachable
      # Certificates: cert-manager's own metrics (its controller exports them; Prometheus must scrape cert-manager).
      - alert: StorefleetCertificateNotReady
        expr: max by (namespace, name) (certmanager_certificate_ready_status{condition="False",namespace=~`{{ .Values.monitoring.alerts.certificateNamespaces }}`}) == 1
        for: 30m
        labels:
          severity: warning
        annotations:
          summary: A store's TLS certificate has not been issued for half an hour.
          description: Certificate {{ "{{ $labels.namespace }}/{{ $labels.name }}" }} is not Ready; the store is served without valid TLS.
          runbook_url: {{ $runbook }}#storefleetcertificatenotready
      - alert: StorefleetCertificateExpiringSoon
        # A certificate never issued reports an expiry of 0: that is StorefleetCertificateNotReady's case, not this one.
        expr: min by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds{namespace=~`{{ .Values.monitoring.alerts.certificateNamespaces }}`} > 0) - time() < {{ .Values.monitoring.alerts.certificateExpiryDays }} * 86400
        for: 1h
        labels:
          severity: warning
        annotations:
          summary: A store's TLS certificate expires soon and has not been renewed.
          description: Certificate {{ "{{ $labels.namespace }}/{{ $labels.name }}" }} expires in less than {{ .Values.monitoring.alerts.certificateExpiryDays }} days; cert-manager renews 30 days ahead, so renewal is failing.
          runbook_url: {{ $runbook }}#storefleetcertificateexpiringsoon
{{- end -}}
