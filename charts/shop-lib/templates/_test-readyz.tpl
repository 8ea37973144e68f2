{{- define "shop-lib.testReadyz" -}}
# `helm test`: the service answers /readyz through its Service. The images
# are distroless (no shell, no HTTP client), so a pinned busybox asks,
# under the same restricted security context.
apiVersion: v1
kind: Pod
metadata:
  name: {{ printf "%s-test-readyz" (include "shop-lib.fullname" .) | trunc 63 | trimSuffix "-" }}
  namespace: {{ .Release.Namespace }}
  labels:
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: test
    {{- include "shop-lib.clientLabel" . | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
    runAsGroup: 65534
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: readyz
      image: {{ printf "%s:%s" .Values.tests.image.repository .Values.tests.image.tag }}
      imagePullPolicy: {{ .Values.tests.image.pullPolicy }}
      command: ["wget", "-q", "-O", "-", "-T", "5", {{ printf "http://%s:%v/readyz" (include "shop-lib.fullname" .) .Values.service.port | quote }}]
      resources:
        requests: {cpu: 10m, memory: 16Mi}
        limits: {cpu: 100m, memory: 32Mi}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        privileged: false
        capabilities:
          drop: ["ALL"]
{{- end -}}
