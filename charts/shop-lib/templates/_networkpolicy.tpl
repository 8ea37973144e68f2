{{- define "shop-lib.networkpolicy" -}}
{{- if .Values.networkPolicy.enabled }}
{{- $np := .Values.networkPolicy }}
# Default deny in both directions for the release's pods (server, and hook
# jobs of the same release), then exactly the traffic the service needs.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "shop-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "shop-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "shop-lib.selectorLabels" . | nindent 6 }}
  policyTypes: ["Ingress", "Egress"]
  ingress:
    - ports:
        - port: http
          protocol: TCP
      {{- if not $np.allowExternal }}
      from:
        - podSelector:
            matchLabels:
              {{- include "shop-lib.clientLabel" . | nindent 14 }}
        {{- with $np.ingressFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $np.metricsFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
  egress:
    {{- include "shop-lib.egressRules" (include "shop.egress" . | fromJson) }}
{{- end }}
{{- end -}}
