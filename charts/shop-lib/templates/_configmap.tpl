{{- define "shop-lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "shop-lib.configMapName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "shop-lib.labels" . | nindent 4 }}
data:
  config.yaml: |
    {{- include "shop-lib.configDocument" . | nindent 4 }}
{{- end -}}
