{{/* What makes this chart the api's: answers to the hooks of the shop-lib library chart (its templates/_hooks.tpl). */}}

{{- define "shop.envPrefix" -}}API{{- end -}}
{{- define "shop.configKind" -}}APIConfig{{- end -}}

{{/* Secret fields: values key -> environment name after API_ (each read from <NAME>_FILE). */}}
{{- define "shop.secretFields" -}}
{{- dict "databaseURL" "DATABASE_URL" "redisURL" "REDIS_URL" "bootstrapAdminPassword" "AUTH_BOOTSTRAP_ADMIN_PASSWORD" | toJson -}}
{{- end -}}

{{- define "shop.jwtSecretName" -}}
{{- .Values.jwt.existingSecret | default (printf "%s-jwt" (include "shop-lib.fullname" .)) -}}
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
