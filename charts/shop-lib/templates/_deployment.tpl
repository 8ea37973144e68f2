{{- /*
The serving Deployment. Its checksum/secret annotation hashes the calling
chart's templates/secret.yaml (the line including shop-lib.secret), which
every chart with secret fields has.
*/ -}}
{{- define "shop-lib.deployment" -}}
{{- $prefix := include "shop.envPrefix" . }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "shop-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "shop-lib.labels" . | nindent 4 }}
    app.kubernetes.io/component: server
spec:
  {{- if not (include "shop.autoscaled" .) }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
  strategy:
    {{- toYaml .Values.updateStrategy | nindent 4 }}
  selector:
    matchLabels:
      {{- include "shop-lib.serverSelectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "shop-lib.labels" . | nindent 8 }}
        app.kubernetes.io/component: server
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # Roll the pods when their configuration changes, except for the
        # fault injection flags: the services reload those from the mounted
        # ConfigMap, so a helm upgrade that only flips a flag restarts nothing.
        checksum/config: {{ omit .Values.config "faults" | toYaml | sha256sum }}
        {{- if and (include "shop.secretFields" . | fromJson) .Values.secrets.create }}
        checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "shop-lib.serviceAccountName" . }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- include "shop-lib.podPriority" . }}
      securityContext:
        {{- include "shop-lib.podSecurityContext" . | nindent 8 }}
      terminationGracePeriodSeconds: {{ include "shop-lib.terminationGracePeriodSeconds" . }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ include "shop-lib.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          args: ["serve"]
          env:
            - name: {{ $prefix }}_CONFIG
              value: /etc/shop/config/config.yaml
            {{- include "shop-lib.goRuntimeEnv" . | nindent 12 }}
            {{- with include "shop-lib.secretFileEnv" . | trim }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with include "shop.extraEnv" . | trim }}
            {{- . | nindent 12 }}
            {{- end }}
          ports:
            - name: http
              containerPort: {{ include "shop-lib.httpPort" . }}
              protocol: TCP
          {{- with .Values.startupProbe }}
          {{- if .enabled }}
          startupProbe:
            httpGet: {path: /livez, port: http}
            {{- toYaml (omit . "enabled") | nindent 12 }}
          {{- end }}
          {{- end }}
          {{- with .Values.livenessProbe }}
          {{- if .enabled }}
          livenessProbe:
            httpGet: {path: /livez, port: http}
            {{- toYaml (omit . "enabled") | nindent 12 }}
          {{- end }}
          {{- end }}
          {{- with .Values.readinessProbe }}
          {{- if .enabled }}
          readinessProbe:
            httpGet: {path: /readyz, port: http}
            {{- toYaml (omit . "enabled") | nindent 12 }}
          {{- end }}
          {{- end }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ .Values.lifecycle.preStopSleepSeconds }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- include "shop-lib.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/shop/config
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- if include "shop-lib.secretName" . }}
            - name: secrets
              mountPath: /etc/shop/secrets
              readOnly: true
            {{- end }}
            {{- with include "shop.extraVolumeMounts" . | trim }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ include "shop-lib.configMapName" . }}
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- with include "shop-lib.secretName" . }}
        - name: secrets
          secret:
            secretName: {{ . }}
            defaultMode: 0440
        {{- end }}
        {{- with include "shop.extraVolumes" . | trim }}
        {{- . | nindent 8 }}
        {{- end }}
      {{- if .Values.topologySpread.enabled }}
      topologySpreadConstraints:
        {{- range .Values.topologySpread.topologyKeys }}
        - maxSkew: {{ $.Values.topologySpread.maxSkew }}
          topologyKey: {{ . }}
          whenUnsatisfiable: {{ $.Values.topologySpread.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "shop-lib.serverSelectorLabels" $ | nindent 14 }}
          matchLabelKeys: ["pod-template-hash"]
        {{- end }}
      {{- end }}
      {{- include "shop-lib.podPlacement" . }}
{{- end -}}
