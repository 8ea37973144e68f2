{{/* What makes this chart the catalog-sync's (the shared templates ask for these). */}}

{{- define "shop.envPrefix" -}}SYNC{{- end -}}
{{- define "shop.configKind" -}}CatalogSyncConfig{{- end -}}

{{/* Secret fields: values key -> environment name after SYNC_ (each read from <NAME>_FILE). */}}
{{- define "shop.secretFields" -}}
{{- dict "databaseURL" "DATABASE_URL" "directusToken" "DIRECTUS_TOKEN" "directusAdminToken" "DIRECTUS_ADMIN_TOKEN" | toJson -}}
{{- end -}}

{{/* After SIGTERM the relay finishes its batch, then the admin server drains: drainDelay + shutdownTimeout. */}}
{{- define "shop.drainSeconds" -}}
{{- addf (include "shop.durationSeconds" .Values.config.http.drainDelay | float64) (include "shop.durationSeconds" .Values.config.http.shutdownTimeout | float64) -}}
{{- end -}}

{{/*
No autoscaling: the work is bounded by Directus, not by this process's CPU
(see replicaCount in values.yaml).
*/}}
{{- define "shop.hpaEnabled" -}}
{{- end -}}
{{- define "shop.autoscaled" -}}
{{- end -}}

{{- define "shop.extraEnv" -}}
{{- end -}}
{{- define "shop.extraVolumes" -}}
{{- end -}}
{{- define "shop.extraVolumeMounts" -}}
{{- end -}}
