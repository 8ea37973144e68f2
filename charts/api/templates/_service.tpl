{{/* What makes this chart the api's: answers to the hooks of the shop-lib library chart (its templates/_hooks.tpl). */}}

{{- define "shop.envPrefix" -}}API{{- end -}}
{{- define "shop.configKind" -}}APIConfig{{- end -}}

{{/* Secret fields: values key -> environment name after API_ (each read from <NAME>_FILE). */}}
{{- define "shop.secretFields" -}}
{{- dict "databaseURL" "DATABASE_URL" "redisURL" "REDIS_URL" "bootstrapAdminPassword" "AUTH_BOOTSTRAP_ADMIN_PASSWORD"
      "stripeSecretKey" "PAYMENTS_STRIPE_SECRET_KEY" "stripeWebhookSecret" "PAYMENTS_STRIPE_WEBHOOK_SECRET" | toJson -}}
{{- end -}}

{{/* Egress: the stripe rule opens with the stripe provider, whatever its enabled says. */}}
{{- define "shop.egress" -}}
{{- $egress := deepCopy .Values.networkPolicy.egress -}}
{{- if eq .Values.config.payments.provider "stripe" -}}
{{- $_ := set $egress.stripe "enabled" true -}}
{{- end -}}
{{- $egress | toJson -}}
{{- end -}}

{{/*
The stripe provider refuses to start without its secret key and webhook
secret, and they can only come from the Secret (config has no place for
them): refuse the values rather than roll out pods that crash.
*/}}
{{- define "api.checkPayments" -}}
{{- if eq .Values.config.payments.provider "stripe" -}}
{{- if not (and .Values.secrets.keys.stripeSecretKey .Values.secrets.keys.stripeWebhookSecret (include "shop-lib.secretName" .)) -}}
{{- fail "config.payments.provider stripe needs its secrets from the Secret: set secrets.keys.stripeSecretKey and secrets.keys.stripeWebhookSecret (keys in secrets.existingSecret, or secrets.create with secrets.values.*)" -}}
{{- end -}}
{{- end -}}
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
