{{/* The loadgen has no configuration document, no secrets and no server: the shared helpers that need them are unused here. */}}

{{/* The `loadgen run` command line (a YAML list). */}}
{{- define "shop.loadgenArgs" -}}
- run
- {{ printf "--api=%s" .Values.target.apiURL | quote }}
- {{ printf "--directus=%s" .Values.target.directusURL | quote }}
- {{ printf "--rate=%s" .Values.run.rate | quote }}
- {{ printf "--duration=%s" .Values.run.duration | quote }}
- {{ printf "--mix=%s" .Values.run.mix | quote }}
- {{ printf "--follow=%s" .Values.run.follow | quote }}
- {{ printf "--poll-interval=%s" .Values.run.pollInterval | quote }}
- {{ printf "--hot-fraction=%v" .Values.run.hotFraction | quote }}
- {{ printf "--max-lines=%v" .Values.run.maxLines | quote }}
- {{ printf "--max-workers=%v" .Values.run.maxWorkers | quote }}
- {{ printf "--customers=%v" .Values.run.customers | quote }}
{{- with .Values.usersSecret.name }}
- {{ printf "--users-file=/etc/loadgen/users/%s" $.Values.usersSecret.key | quote }}
{{- end }}
- --quiet
{{- range .Values.run.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}
