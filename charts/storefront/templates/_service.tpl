{{/*
What makes this chart the storefront's: answers to the hooks of the shop-lib
library chart (its templates/_hooks.tpl). It has no secrets (it never talks
to PostgreSQL or Redis), the default drain and the default CPU HPA.
*/}}

{{- define "shop.envPrefix" -}}STOREFRONT{{- end -}}
{{- define "shop.configKind" -}}StorefrontConfig{{- end -}}
