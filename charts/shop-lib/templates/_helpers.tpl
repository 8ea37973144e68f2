{{/*
Helpers of the shop's service charts: names, labels, image, pod security,
secrets, the configuration document. Named shop-lib.*; the shop.* names a
chart answers itself are in _hooks.tpl.
*/}}

{{/* Chart name, or nameOverride. */}}
{{- define "shop-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified name: fullnameOverride, or the release name when it already
contains the chart name, or <release>-<chart>.
*/}}
{{- define "shop-lib.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "shop-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "shop-lib.labels" -}}
helm.sh/chart: {{ include "shop-lib.chart" . }}
{{ include "shop-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: goshop
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels that select this release's pods (Deployment, Service, PDB, NetworkPolicy). */}}
{{- define "shop-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shop-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels of the serving pods: the selector plus the component, so that hook
and test pods of the release (other components) never become endpoints.
*/}}
{{- define "shop-lib.serverSelectorLabels" -}}
{{ include "shop-lib.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Pods with this label may reach the service when networkPolicy.allowExternal is false. */}}
{{- define "shop-lib.clientLabel" -}}
{{ include "shop-lib.fullname" . }}-client: "true"
{{- end -}}

{{- define "shop-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "shop-lib.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, or repository@digest when a digest is pinned. */}}
{{- define "shop-lib.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "shop-lib.configMapName" -}}
{{- printf "%s-config" (include "shop-lib.fullname" .) -}}
{{- end -}}

{{/* The port number of config.http.addr (":8080" -> 8080). */}}
{{- define "shop-lib.httpPort" -}}
{{- regexReplaceAll "^.*:" .Values.config.http.addr "" -}}
{{- end -}}

{{/* The configuration document the service reads (operator-style: apiVersion, kind, spec). */}}
{{- define "shop-lib.configDocument" -}}
apiVersion: shop.goshop.dev/v1alpha1
kind: {{ include "shop.configKind" . }}
spec:
  {{- toYaml .Values.config | nindent 2 }}
{{- end -}}

{{/*
Secrets. The service reads each secret field from a file named by
<PREFIX>_<FIELD>_FILE; the Secret (existingSecret or the chart-made one) is
mounted at /etc/shop/secrets and only the fields whose key is set in
secrets.keys are wired. The hook shop.secretFields maps each field to its
environment name.
*/}}
{{- define "shop-lib.secretName" -}}
{{- if include "shop.secretFields" . | fromJson -}}
{{- if and .Values.secrets.existingSecret .Values.secrets.create -}}
{{- fail "secrets: set either existingSecret or create, not both" -}}
{{- end -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else if .Values.secrets.create -}}
{{- include "shop-lib.fullname" . -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The <PREFIX>_..._FILE variables of the wired secret fields (a YAML list of EnvVar). */}}
{{- define "shop-lib.secretFileEnv" -}}
{{- $fields := include "shop.secretFields" . | fromJson -}}
{{- if and $fields (include "shop-lib.secretName" .) -}}
{{- $prefix := include "shop.envPrefix" . -}}
{{- range $field := keys $fields | sortAlpha }}
{{- $key := index $.Values.secrets.keys $field }}
{{- if $key }}
- name: {{ printf "%s_%s_FILE" $prefix (index $fields $field) }}
  value: {{ printf "/etc/shop/secrets/%s" $key | quote }}
{{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
Seconds a Go duration string stands for ("1m30s" -> 90, "500ms" -> 0.5),
for the termination grace period check.
*/}}
{{- define "shop-lib.durationSeconds" -}}
{{- $total := 0.0 -}}
{{- range $part := regexFindAll "[0-9.]+(ns|us|µs|ms|s|m|h)" (toString .) -1 -}}
{{- $n := regexFind "^[0-9.]+" $part | float64 -}}
{{- $unit := regexReplaceAll "^[0-9.]+" $part "" -}}
{{- $factor := get (dict "ns" 0.000000001 "us" 0.000001 "µs" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0) $unit -}}
{{- $total = addf $total (mulf $n $factor) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds must cover the preStop sleep plus the time
the service itself takes to drain (the hook shop.drainSeconds), or
the kubelet SIGKILLs it mid-drain.
*/}}
{{- define "shop-lib.terminationGracePeriodSeconds" -}}
{{- $need := addf (.Values.lifecycle.preStopSleepSeconds | float64) (include "shop.drainSeconds" . | float64) -}}
{{- $grace := .Values.terminationGracePeriodSeconds | float64 -}}
{{- if le $grace $need -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be greater than lifecycle.preStopSleepSeconds plus the service's drain time (%v s in total): raise it or shorten the drain settings in config" .Values.terminationGracePeriodSeconds $need) -}}
{{- end -}}
{{- .Values.terminationGracePeriodSeconds -}}
{{- end -}}

{{/* The restricted pod security context (Pod Security Standard "restricted"). */}}
{{- define "shop-lib.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "shop-lib.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* GOMAXPROCS and GOMEMLIMIT follow the container's limits. */}}
{{- define "shop-lib.goRuntimeEnv" -}}
- name: GOMAXPROCS
  valueFrom:
    resourceFieldRef:
      resource: limits.cpu
      divisor: "1"
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      resource: limits.memory
      divisor: "1"
{{- end -}}

{{/*
The NetworkPolicy egress rules from networkPolicy.egress (name -> {enabled,
ports, to}), sorted by name, enabled ones only; indented for spec.egress.
*/}}
{{- define "shop-lib.egressRules" -}}
{{- range $name := keys . | sortAlpha }}
{{- $rule := index $ $name }}
{{- if $rule.enabled }}
    # {{ $name }}
    - ports:
        {{- toYaml $rule.ports | nindent 8 }}
      {{- with $rule.to }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* imagePullSecrets and priorityClassName of a pod template spec, when set. */}}
{{- define "shop-lib.podPriority" -}}
{{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* nodeSelector, affinity and tolerations of a pod template spec, when set. */}}
{{- define "shop-lib.podPlacement" -}}
{{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- end -}}
