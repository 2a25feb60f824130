"""Configuration files of the test control plane: KWOK's stages, the audit policy, the egress selector.

KWOK stages (our own, after the shape of KWOK's ``kustomize/stage`` examples):

- ``node-initialize``: a Node the harness created (with its declared
  capacity, ``nvidia.com/gpu`` included) becomes Ready; KWOK then keeps its
  Lease renewed, so the node lifecycle controller never marks it NotReady.
- ``pod-create`` (after ``create_ms``): a scheduled pod gets an IP, init
  containers completed, containers ``ContainerCreating``.
- ``pod-running`` (after ``running_ms``): phase Running, containers started,
  not ready yet (a readiness probe has not passed).
- ``pod-ready`` (after ``ready_ms``, with jitter): Ready and ContainersReady.
- ``pod-complete``: a Job's pod Succeeds a moment after it is Ready.
- ``pod-delete``: a deleted pod without finalizers goes away (the kubelet's part).
- ``pvc-provision`` / ``pv-release``: the external provisioner of any
  StorageClass (the PV controller marks the claims it waits for with
  ``volume.kubernetes.io/storage-provisioner``, Immediate ones at once,
  WaitForFirstConsumer ones once the scheduler picked a node): a hostPath PV
  pre-bound to the claim; the PV controller then binds both. A released PV
  that this provisioner made is deleted (reclaim policy Delete).
"""

from __future__ import annotations

PROVISIONER_ANNOTATION = "pv.kubernetes.io/provisioned-by"
PROVISIONED_BY = "kfctl-realcluster/volume"


def kwok_config(*, create_ms: int, running_ms: int, ready_ms: int, jitter_ms: int) -> str:
    return f"""\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 4
  nodePlayStageParallelism: 4
  podPlayStageParallelism: 8
  podsOnNodeSyncParallelism: 4
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef: {{apiGroup: v1, kind: Node}}
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      {{{{ range NodeConditions }}}}
      - lastHeartbeatTime: {{{{ $now | Quote }}}}
        lastTransitionTime: {{{{ $now | Quote }}}}
        message: {{{{ .message | Quote }}}}
        reason: {{{{ .reason | Quote }}}}
        status: {{{{ .status | Quote }}}}
        type: {{{{ .type | Quote }}}}
      {{{{ end }}}}
      addresses:
      - address: {{{{ NodeIP | Quote }}}}
        type: InternalIP
      - address: {{{{ .metadata.name | Quote }}}}
        type: Hostname
      allocatable:
      {{{{ YAML .status.allocatable 1 }}}}
      capacity:
      {{{{ YAML .status.capacity 1 }}}}
      nodeInfo:
        architecture: amd64
        kubeletVersion: v1.37.2
        kubeProxyVersion: v1.37.2
        containerRuntimeVersion: kwok
        kernelVersion: kwok
        operatingSystem: linux
        osImage: kwok
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-create
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - {{key: '.metadata.deletionTimestamp', operator: DoesNotExist}}
    - {{key: '.status.podIP', operator: DoesNotExist}}
  delay: {{durationMilliseconds: {create_ms}}}
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      - {{type: PodScheduled, status: "True", lastTransitionTime: {{{{ $now | Quote }}}}}}
      - {{type: Initialized, status: "True", lastTransitionTime: {{{{ $now | Quote }}}}}}
      - {{type: ContainersReady, status: "False", reason: ContainersNotReady, lastTransitionTime: {{{{ $now | Quote }}}}}}
      - {{type: Ready, status: "False", reason: ContainersNotReady, lastTransitionTime: {{{{ $now | Quote }}}}}}
      {{{{ range .spec.readinessGates }}}}
      - {{type: {{{{ .conditionType | Quote }}}}, status: "True", lastTransitionTime: {{{{ $now | Quote }}}}}}
      {{{{ end }}}}
      {{{{ if .spec.initContainers }}}}
      initContainerStatuses:
      {{{{ range .spec.initContainers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: true
        restartCount: 0
        started: false
        state:
          terminated: {{exitCode: 0, reason: Completed, startedAt: {{{{ $now | Quote }}}}, finishedAt: {{{{ $now | Quote }}}}}}
      {{{{ end }}}}
      {{{{ end }}}}
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: false
        state:
          waiting: {{reason: ContainerCreating}}
      {{{{ end }}}}
      hostIP: {{{{ NodeIPWith .spec.nodeName | Quote }}}}
      podIP: {{{{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}}}
      phase: Pending
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-running
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - {{key: '.metadata.deletionTimestamp', operator: DoesNotExist}}
    - {{key: '.status.phase', operator: In, values: [Pending]}}
    - {{key: '.status.podIP', operator: Exists}}
  delay: {{durationMilliseconds: {running_ms}}}
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: true
        state:
          running: {{startedAt: {{{{ $now | Quote }}}}}}
      {{{{ end }}}}
      phase: Running
      startTime: {{{{ $now | Quote }}}}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - {{key: '.metadata.deletionTimestamp', operator: DoesNotExist}}
    - {{key: '.status.phase', operator: In, values: [Running]}}
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  delay: {{durationMilliseconds: {ready_ms}, jitterDurationMilliseconds: {ready_ms + jitter_ms}}}
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      - {{type: ContainersReady, status: "True", lastTransitionTime: {{{{ $now | Quote }}}}}}
      - {{type: Ready, status: "True", lastTransitionTime: {{{{ $now | Quote }}}}}}
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: true
        restartCount: 0
        started: true
        state:
          running: {{startedAt: {{{{ $now | Quote }}}}}}
      {{{{ end }}}}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-complete
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - {{key: '.metadata.deletionTimestamp', operator: DoesNotExist}}
    - {{key: '.status.phase', operator: In, values: [Running]}}
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: In
      values: ['True']
    - {{key: '.metadata.ownerReferences.[].kind', operator: In, values: [Job]}}
  delay: {{durationMilliseconds: {ready_ms}}}
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      - {{type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{{{ $now | Quote }}}}}}
      - {{type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{{{ $now | Quote }}}}}}
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated: {{exitCode: 0, reason: Completed, startedAt: {{{{ $now | Quote }}}}, finishedAt: {{{{ $now | Quote }}}}}}
      {{{{ end }}}}
      phase: Succeeded
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - {{key: '.metadata.deletionTimestamp', operator: Exists}}
    - {{key: '.metadata.finalizers', operator: DoesNotExist}}
  delay: {{durationMilliseconds: {create_ms}}}
  next:
    delete: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pvc-provision
spec:
  resourceRef: {{apiGroup: v1, kind: PersistentVolumeClaim}}
  selector:
    matchExpressions:
    - cel: {{expression: "!has(self.metadata.deletionTimestamp)"}}
    - cel: {{expression: "!has(self.spec.volumeName) || self.spec.volumeName == ''"}}
    - cel: {{expression: "has(self.metadata.annotations) && 'volume.kubernetes.io/storage-provisioner' in self.metadata.annotations"}}
  delay: {{durationMilliseconds: {create_ms}}}
  steps:
  - apply:
      template: |
        apiVersion: v1
        kind: PersistentVolume
        metadata:
          name: pvc-{{{{ .metadata.uid }}}}
          annotations:
            {PROVISIONER_ANNOTATION}: {PROVISIONED_BY}
        spec:
          accessModes:
          {{{{ YAML .spec.accessModes 2 }}}}
          capacity:
          {{{{ YAML .spec.resources.requests 2 }}}}
          persistentVolumeReclaimPolicy: Delete
          storageClassName: {{{{ .spec.storageClassName | Quote }}}}
          volumeMode: {{{{ default "Filesystem" .spec.volumeMode | Quote }}}}
          claimRef:
            apiVersion: v1
            kind: PersistentVolumeClaim
            name: {{{{ .metadata.name | Quote }}}}
            namespace: {{{{ .metadata.namespace | Quote }}}}
            uid: {{{{ .metadata.uid | Quote }}}}
          hostPath:
            path: /tmp/kfctl-realcluster-volumes/pvc-{{{{ .metadata.uid }}}}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pv-release
spec:
  resourceRef: {{apiGroup: v1, kind: PersistentVolume}}
  selector:
    matchExpressions:
    - cel: {{expression: "!has(self.metadata.deletionTimestamp)"}}
    - cel: {{expression: "has(self.metadata.annotations) && self.metadata.annotations['{PROVISIONER_ANNOTATION}'] == '{PROVISIONED_BY}'"}}
    - cel: {{expression: "has(self.status.phase) && self.status.phase == 'Released'"}}
  steps:
  - delete: true
"""


AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
# the control plane's own traffic and the harness's players are not what a test measures
- level: None
  users: [system:kube-controller-manager, system:kube-scheduler, system:apiserver, kwok, kfctl-realcluster]
- level: None
  userGroups: ["system:serviceaccounts:kube-system", "system:nodes"]
- level: None
  nonResourceURLs: ["/healthz*", "/livez*", "/readyz*"]
# a PATCH's body tells a server-side apply (a whole object: apiVersion and kind) from other patches
- level: Request
  verbs: [patch]
- level: Metadata
"""


def egress_config(socket_path: str) -> str:
    """Everything the API server dials inside the cluster (webhooks, aggregated APIs) goes to the harness's proxy."""
    return f"""\
apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: {socket_path}
"""
