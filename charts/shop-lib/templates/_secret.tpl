{{- define "shop-lib.secret" -}}
{{- if .Values.secrets.create }}
{{- $fields := include "shop.secretFields" . | fromJson }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "shop-lib.secretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "shop-lib.labels" . | nindent 4 }}
type: Opaque
data:
  {{- range $field := keys $fields | sortAlpha }}
  {{- $key := index $.Values.secrets.keys $field }}
  {{- if $key }}
  {{ $key }}: {{ index $.Values.secrets.values $field | required (printf "secrets.values.%s is required with secrets.create (or unset secrets.keys.%s)" $field $field) | b64enc | quote }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end -}}
