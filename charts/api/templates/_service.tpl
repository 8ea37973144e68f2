{{/* What makes this chart the api's (the shared templates ask for these). */}}

{{- define "shop.envPrefix" -}}API{{- end -}}
{{- define "shop.configKind" -}}APIConfig{{- end -}}

{{/* Secret fields: values key -> environment name after API_ (each read from <NAME>_FILE). */}}
{{- define "shop.secretFields" -}}
{{- dict "databaseURL" "DATABASE_URL" "redisURL" "REDIS_URL" "bootstrapAdminPassword" "AUTH_BOOTSTRAP_ADMIN_PASSWORD" | toJson -}}
{{- end -}}

{{/* After SIGTERM: drainDelay, then in-flight requests get shutdownTimeout. */}}
{{- define "shop.drainSeconds" -}}
{{- addf (include "shop.durationSeconds" .Values.config.http.drainDelay | float64) (include "shop.durationSeconds" .Values.config.http.shutdownTimeout | float64) -}}
{{- end -}}

{{- define "shop.hpaEnabled" -}}
{{- if .Values.autoscaling.enabled }}true{{ end -}}
{{- end -}}

{{- define "shop.jwtSecretName" -}}
{{- .Values.jwt.existingSecret | default (printf "%s-jwt" (include "shop.fullname" .)) -}}
{{- end -}}

{{/* Volumes and mounts only the api has: the JWT signing keys. */}}
{{- define "shop.extraVolumes" -}}
{{- if or .Values.jwt.existingSecret .Values.jwt.create }}
- name: jwt
  secret:
    secretName: {{ include "shop.jwtSecretName" . }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "shop.extraVolumeMounts" -}}
{{- if or .Values.jwt.existingSecret .Values.jwt.create }}
- name: jwt
  mountPath: {{ .Values.config.auth.keysDir }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* Something other than the Deployment owns the replica count. */}}
{{- define "shop.autoscaled" -}}
{{- include "shop.hpaEnabled" . -}}
{{- end -}}

{{/* Environment only the api has (none). */}}
{{- define "shop.extraEnv" -}}
{{- end -}}
