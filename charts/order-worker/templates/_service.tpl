{{/* What makes this chart the order-worker's: answers to the hooks of the shop-lib library chart (its templates/_hooks.tpl). */}}

{{- define "shop.envPrefix" -}}WORKER{{- end -}}
{{- define "shop.configKind" -}}OrderWorkerConfig{{- end -}}

{{/* Secret fields: values key -> environment name after WORKER_ (each read from <NAME>_FILE). */}}
{{- define "shop.secretFields" -}}
{{- dict "databaseURL" "DATABASE_URL" "redisURL" "REDIS_URL" "smtpPassword" "NOTIFIER_SMTP_PASSWORD" | toJson -}}
{{- end -}}

{{/*
After SIGTERM the admin server turns unready for drainDelay and drains
within shutdownTimeout while, at the same time, the consumer stops reading
(a blocked read ends within consumer.block) and lets in-flight orders finish
within consumer.drainTimeout. Whatever is unfinished then stays pending and
is claimed by another replica — but only after claimIdle, so a SIGKILL in
the middle costs latency, never an order.
*/}}
{{- define "shop.drainSeconds" -}}
{{- $c := .Values.config -}}
{{- $server := addf (include "shop-lib.durationSeconds" $c.http.drainDelay | float64) (include "shop-lib.durationSeconds" $c.http.shutdownTimeout | float64) -}}
{{- $consumer := addf (include "shop-lib.durationSeconds" $c.http.drainDelay | float64) (include "shop-lib.durationSeconds" $c.consumer.block | float64) (include "shop-lib.durationSeconds" $c.consumer.drainTimeout | float64) -}}
{{- maxf $server $consumer -}}
{{- end -}}

{{- define "shop.hpaEnabled" -}}
{{- if eq .Values.autoscaling.mode "hpa" }}true{{ end -}}
{{- end -}}

{{/* KEDA (through the HPA it manages) or the chart's HPA owns the replica count. */}}
{{- define "shop.autoscaled" -}}
{{- if ne .Values.autoscaling.mode "none" }}true{{ end -}}
{{- end -}}
