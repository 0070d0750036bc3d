{{- define "drill.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "drill.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "drill.serviceAccountName" -}}
{{- default (include "drill.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* An action input as the CLI's environment variable (actions/lib/cli/args.ts envName). */}}
{{- define "drill.envName" -}}
{{- printf "CNPG_RESTORE_DRILL_%s" (. | upper | replace "-" "_") -}}
{{- end -}}
