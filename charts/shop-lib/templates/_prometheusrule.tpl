{{- define "shop-lib.prometheusrule" -}}
{{- if .Values.prometheusRule.enabled }}
{{- $byName := dict }}
{{- range $path, $_ := .Files.Glob "files/*.rules.yml" }}
{{- range ($.Files.Get $path | fromYaml).groups }}
{{- $_ := set $byName .name . }}
{{- end }}
{{- end }}
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ include "shop-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "shop-lib.labels" . | nindent 4 }}
    {{- with .Values.prometheusRule.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  # Rule groups from files/*.rules.yml, which `make dashboards` cuts from
  # dashboards/alerts/shop.rules.yml.
  groups:
    {{- range .Values.prometheusRule.groups }}
    {{- $group := index $byName . | required (printf "prometheusRule.groups: no group %q in files/*.rules.yml" .) }}
    - {{- toYaml $group | nindent 6 }}
    {{- end }}
{{- end }}
{{- end -}}
