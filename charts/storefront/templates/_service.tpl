{{/* What makes this chart the storefront's (the shared templates ask for these). */}}

{{- define "shop.envPrefix" -}}STOREFRONT{{- end -}}
{{- define "shop.configKind" -}}StorefrontConfig{{- end -}}

{{/* The storefront has no secrets (it never talks to PostgreSQL or Redis). */}}
{{- define "shop.secretFields" -}}
{{- dict | toJson -}}
{{- end -}}

{{/* After SIGTERM: drainDelay, then in-flight requests get shutdownTimeout. */}}
{{- define "shop.drainSeconds" -}}
{{- addf (include "shop.durationSeconds" .Values.config.http.drainDelay | float64) (include "shop.durationSeconds" .Values.config.http.shutdownTimeout | float64) -}}
{{- end -}}

{{- define "shop.hpaEnabled" -}}
{{- if .Values.autoscaling.enabled }}true{{ end -}}
{{- end -}}
{{- define "shop.autoscaled" -}}
{{- include "shop.hpaEnabled" . -}}
{{- end -}}

{{- define "shop.extraEnv" -}}
{{- end -}}
{{- define "shop.extraVolumes" -}}
{{- end -}}
{{- define "shop.extraVolumeMounts" -}}
{{- end -}}
