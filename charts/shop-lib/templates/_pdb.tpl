{{- define "shop-lib.pdb" -}}
{{- if .Values.pdb.create }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "shop-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "shop-lib.labels" . | nindent 4 }}
spec:
  {{- if not (eq (toString .Values.pdb.minAvailable) "") }}
  minAvailable: {{ .Values.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .Values.pdb.maxUnavailable }}
  {{- end }}
  # Pods that are not ready yet may be evicted even when the budget is spent
  # (a crash-looping rollout must not block node drains).
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "shop-lib.serverSelectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
