{{/* The chart's name, or nameOverride. */}}
{{- define "switchyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every name: fullnameOverride, else <release>-<chart> (just <release> when it
already holds the chart's name). Kept to 45 characters so suffixes such as "-data-plane" and
"-leader-election" stay within Kubernetes' 63.
*/}}
{{- define "switchyard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "switchyard.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 45 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "switchyard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "switchyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: call with (dict "root" $ "component" "gateway"). */}}
{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchyard.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "switchyard.componentLabels" -}}
{{ include "switchyard.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "switchyard.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "switchyard.controllerServiceAccount" -}}
{{- if .Values.controller.serviceAccount.create -}}
{{- default (printf "%s-controller" (include "switchyard.fullname" .)) .Values.controller.serviceAccount.name -}}
{{- else -}}
{{- required "controller.serviceAccount.name is required when controller.serviceAccount.create is false" .Values.controller.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "switchyard.dataPlaneServiceAccount" -}}
{{- if .Values.dataPlane.serviceAccount.create -}}
{{- default (printf "%s-data-plane" (include "switchyard.fullname" .)) .Values.dataPlane.serviceAccount.name -}}
{{- else -}}
{{- required "dataPlane.serviceAccount.name is required when dataPlane.serviceAccount.create is false" .Values.dataPlane.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* A Service's full DNS name: call with (dict "root" $ "name" "...-controller"). */}}
{{- define "switchyard.serviceHost" -}}
{{- printf "%s.%s.svc.%s" .name .root.Release.Namespace .root.Values.clusterDomain -}}
{{- end -}}

{{/* Where Envoy and a sidecar executor meet: an emptyDir both mount. */}}
{{- define "switchyard.socketDir" -}}
/var/run/switchyard
{{- end -}}

{{/*
The affinity of a component's pods: the value given, else a preference for one replica per node,
so a node's loss takes one replica. Call with (dict "root" $ "component" "gateway" "affinity" ...).
*/}}
{{- define "switchyard.affinity" -}}
{{- if .affinity -}}
{{- toYaml .affinity -}}
{{- else -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "switchyard.selectorLabels" (dict "root" .root "component" .component) | nindent 12 }}
{{- end -}}
{{- end -}}

{{/* The Secret holding the status endpoint's bearer token: the user's, or the chart's own. */}}
{{- define "switchyard.statusTokenSecret" -}}
{{- default (printf "%s-status-token" (include "switchyard.fullname" .)) .Values.controller.statusToken.existingSecret -}}
{{- end -}}

{{- define "switchyard.statusTokenDir" -}}
/var/run/secrets/switchyard/status-token
{{- end -}}

{{/* Where the xDS TLS Secrets are mounted: the control plane's, and the gateway pods'. */}}
{{- define "switchyard.xdsServerTlsDir" -}}
/var/run/secrets/switchyard/xds-server
{{- end -}}

{{- define "switchyard.xdsClientTlsDir" -}}
/var/run/secrets/switchyard/xds-client
{{- end -}}

{{/*
The executor's flags that make it an xDS client of the control plane, which delivers the plans too
large for a route header (docs/decisions/0056-plans-by-reference.md): the gateway's group, and
under xDS mutual TLS the gateway pods' client certificate, which names that group.
*/}}
{{- define "switchyard.executorControlPlaneArgs" -}}
- --xds-address={{ include "switchyard.serviceHost" (dict "root" . "name" (printf "%s-controller" (include "switchyard.fullname" .))) }}
- --xds-port={{ .Values.controller.xdsPort }}
- --node-cluster={{ .Values.gateway.group }}
{{- if .Values.xdsTls.enabled }}
{{- $tls := include "switchyard.xdsClientTlsDir" . }}
- --xds-tls-ca={{ $tls }}/ca.crt
- --xds-tls-cert={{ $tls }}/tls.crt
- --xds-tls-key={{ $tls }}/tls.key
{{- end }}
{{- end -}}
