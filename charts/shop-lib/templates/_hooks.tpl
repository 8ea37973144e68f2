{{/*
Hooks: what makes a chart a particular service's. The library's templates ask
for these; a service chart answers them in its templates/_service.tpl by
defining the same name. Helm parses a chart's own templates after those of
its dependencies, so the chart's definition replaces the default here (but
an empty definition never replaces a non-empty one: Go templates keep it).
*/}}

{{/* Prefix of the service's environment variables (API: API_CONFIG, API_DATABASE_URL_FILE...). Required. */}}
{{- define "shop.envPrefix" -}}
{{- fail (printf "chart %s: define \"shop.envPrefix\" in templates/_service.tpl" .Chart.Name) -}}
{{- end -}}

{{/* kind of the service's configuration document (APIConfig...). Required. */}}
{{- define "shop.configKind" -}}
{{- fail (printf "chart %s: define \"shop.configKind\" in templates/_service.tpl" .Chart.Name) -}}
{{- end -}}

{{/*
Secret fields, as JSON: values key (secrets.keys.<key>) -> environment name
after <PREFIX>_ (each read from <NAME>_FILE). Default: none.
*/}}
{{- define "shop.secretFields" -}}
{{- dict | toJson -}}
{{- end -}}

{{/* Seconds the service takes to drain after SIGTERM. Default: drainDelay, then in-flight requests get shutdownTimeout. */}}
{{- define "shop.drainSeconds" -}}
{{- addf (include "shop-lib.durationSeconds" .Values.config.http.drainDelay | float64) (include "shop-lib.durationSeconds" .Values.config.http.shutdownTimeout | float64) -}}
{{- end -}}

{{/* Non-empty when the chart makes a CPU HorizontalPodAutoscaler. Default: autoscaling.enabled (no autoscaling values: none). */}}
{{- define "shop.hpaEnabled" -}}
{{- if and (hasKey .Values "autoscaling") .Values.autoscaling.enabled }}true{{ end -}}
{{- end -}}

{{/* Non-empty when something other than the Deployment owns the replica count. Default: the HPA. */}}
{{- define "shop.autoscaled" -}}
{{- include "shop.hpaEnabled" . -}}
{{- end -}}

{{/*
The NetworkPolicy's egress rules, as JSON: name -> {enabled, ports, to}.
Default: networkPolicy.egress as given. A chart answers when a rule follows
from its config (the api opens its payment provider's rule with the provider).
*/}}
{{- define "shop.egress" -}}
{{- .Values.networkPolicy.egress | toJson -}}
{{- end -}}

{{/* Extra container environment, volumes and mounts (YAML lists). Default: none. */}}
{{- define "shop.extraEnv" -}}
{{- end -}}
{{- define "shop.extraVolumes" -}}
{{- end -}}
{{- define "shop.extraVolumeMounts" -}}
{{- end -}}
