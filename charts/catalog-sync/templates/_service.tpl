{{/*
What makes this chart the catalog-sync's: answers to the hooks of the
shop-lib library chart (its templates/_hooks.tpl). No autoscaling values, so
no HPA: the work is bounded by Directus, not by this process's CPU (see
replicaCount in values.yaml). After SIGTERM the relay finishes its batch
while the admin server drains (the default drainSeconds).
*/}}

{{- define "shop.envPrefix" -}}SYNC{{- end -}}
{{- define "shop.configKind" -}}CatalogSyncConfig{{- end -}}

{{/* Secret fields: values key -> environment name after SYNC_ (each read from <NAME>_FILE). */}}
{{- define "shop.secretFields" -}}
{{- dict "databaseURL" "DATABASE_URL" "directusToken" "DIRECTUS_TOKEN" "directusAdminToken" "DIRECTUS_ADMIN_TOKEN" | toJson -}}
{{- end -}}
