"""Storage: the default StorageClass, dynamic provisioning and claim binding.

Kubeflow's MySQL and MinIO claims are a classic install failure: no
StorageClass, no volume, pods stuck. Here a claim binds (a PersistentVolume
``pvc-<uid>`` is provisioned, ``spec.volumeName`` set, both ``Bound``) after
the profile's bind delay when its StorageClass exists, named or the cluster
default (annotation ``storageclass.kubernetes.io/is-default-class``).
Otherwise it stays ``Pending`` with the event a real cluster shows
(``FailedBinding`` without any class, ``ProvisioningFailed`` for a missing
named class). ``volumeBindingMode: WaitForFirstConsumer`` waits until the
scheduler picks a node for a pod using the claim. As since Kubernetes 1.28,
a claim without a class gets the default class when one appears later; the
DefaultStorageClass admission plugin sets it at creation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfctl.sim.admission import CREATE, AdmissionRequest
from kfctl.sim.behaviour.events import NORMAL, WARNING
from kfctl.sim.behaviour.profiles import ClusterShape
from kfctl.sim.behaviour.scheduler import SELECTED_NODE
from kfctl.sim.status import APIError
from kfctl.sim.store import DELETED, Event

if TYPE_CHECKING:
    from kfctl.sim.behaviour import Behaviours

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PROVISIONER = "rancher.io/local-path"
COMPONENT = "persistentvolume-controller"


class StorageController:
    """Binds claims to provisioned volumes; removes volumes of deleted claims."""

    def __init__(self, behaviours: Behaviours, shape: ClusterShape) -> None:
        self.b = behaviours
        self.shape = shape
        rt = behaviours.runtime
        self._pending: set[tuple[str, str]] = set()
        self._provisioning: set[str] = set()  # claim uids with a provisioning timer
        self._announced: dict[str, str] = {}  # claim uid -> last reason recorded
        rt.reconciler("pvc", self.reconcile)
        rt.watch("", "persistentvolumeclaims", self._on_claim)
        rt.watch("storage.k8s.io", "storageclasses", self._on_class)
        rt.watch("", "pods", self._on_pod)
        behaviours.runtime.cluster.admission.mutating.append(self.default_class_admission)

    def install_default_class(self) -> None:
        """The cluster's StorageClasses: the default one (unless switched off) and any extra ones, or the
        shape file's list (a persisted cluster keeps what it has; no second default is added)."""
        items, _ = self.b.runtime.store.list("storage.k8s.io", "storageclasses")
        names = {sc["metadata"]["name"] for sc in items}
        has_default = any(_is_default(sc) for sc in items)
        for spec in self.shape.storage_class_specs():
            if spec.name in names or (spec.default and has_default):
                continue
            meta: dict[str, Any] = {"name": spec.name}
            if spec.default:
                meta["annotations"] = {DEFAULT_CLASS: "true"}
            obj: dict[str, Any] = {
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
                "provisioner": spec.provisioner, "reclaimPolicy": spec.reclaim_policy,
                "volumeBindingMode": spec.volume_binding_mode}
            if spec.parameters:
                obj["parameters"] = dict(spec.parameters)
            if spec.allow_volume_expansion is not None:
                obj["allowVolumeExpansion"] = spec.allow_volume_expansion
            self.b.runtime.create("storage.k8s.io/v1", "StorageClass", "", obj)

    def close(self) -> None:
        chain = self.b.runtime.cluster.admission.mutating
        if self.default_class_admission in chain:
            chain.remove(self.default_class_admission)

    # -- admission: DefaultStorageClass ------------------------------------------
    def default_class_admission(self, request: AdmissionRequest) -> dict[str, Any] | None:
        """DefaultStorageClass and StorageObjectInUseProtection (the pvc-protection finalizer) on create."""
        if request.operation != CREATE or request.rtype.kind != "PersistentVolumeClaim" or request.rtype.group or \
                request.obj is None:
            return None
        obj = dict(request.obj)
        meta = dict(obj.get("metadata") or {})
        meta["finalizers"] = [*(meta.get("finalizers") or []), *(
            [] if PVC_PROTECTION in (meta.get("finalizers") or []) else [PVC_PROTECTION])]
        obj["metadata"] = meta
        spec = request.obj.get("spec") or {}
        if "storageClassName" in spec and spec["storageClassName"] is not None:
            return obj
        default = self._default_class()
        if default is not None:
            obj["spec"] = {**spec, "storageClassName": default["metadata"]["name"]}
        return obj

    def _default_class(self) -> dict[str, Any] | None:
        items, _ = self.b.runtime.store.list("storage.k8s.io", "storageclasses")
        defaults = [sc for sc in items if _is_default(sc)]
        defaults.sort(key=lambda sc: (sc["metadata"].get("creationTimestamp", ""), sc["metadata"]["name"]))
        return defaults[-1] if defaults else None

    # -- triggers ---------------------------------------------------------------
    def _on_claim(self, event: Event) -> None:
        key = (event.namespace, event.name)
        if event.type == DELETED:
            self._pending.discard(key)
            uid = event.obj["metadata"]["uid"]
            self._provisioning.discard(uid)
            self._announced.pop(uid, None)
            self._release(event.obj)
            return
        self.b.runtime.mark("pvc", *key)

    def _on_pod(self, event: Event) -> None:
        if event.type != DELETED:
            return
        for volume in (event.obj.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                self.b.runtime.mark("pvc", event.namespace, claim)

    def _protect(self, pvc: dict[str, Any]) -> None:
        """A deleted claim goes once no pod uses it (kubernetes.io/pvc-protection)."""
        meta = pvc["metadata"]
        if PVC_PROTECTION not in (meta.get("finalizers") or []):
            return
        for key in self.b.pods.in_namespace(meta["namespace"]):
            pod = self.b.runtime.get("", "pods", *key)
            if pod is None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            if any((v.get("persistentVolumeClaim") or {}).get("claimName") == meta["name"]
                   for v in (pod.get("spec") or {}).get("volumes") or []):
                return

        def release(live: dict[str, Any]) -> dict[str, Any]:
            live["metadata"]["finalizers"] = [f for f in live["metadata"].get("finalizers") or []
                                              if f != PVC_PROTECTION]
            return live
        self.b.runtime.update("v1", "PersistentVolumeClaim", meta["namespace"], meta["name"], release)

    def _on_class(self, event: Event) -> None:
        for key in list(self._pending):
            self.b.runtime.mark("pvc", *key)

    def pod_scheduled(self, pod: dict[str, Any], node: str) -> None:
        """The scheduler bound ``pod``: claims waiting for a first consumer learn their node."""
        ns = pod["metadata"]["namespace"]
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            pvc = self.b.runtime.get("", "persistentvolumeclaims", ns, claim)
            if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound" or \
                    (pvc["metadata"].get("annotations") or {}).get(SELECTED_NODE):
                continue
            sc = self._class_of(pvc)
            if sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
                def select(live: dict[str, Any]) -> dict[str, Any]:
                    live["metadata"].setdefault("annotations", {})[SELECTED_NODE] = node
                    return live
                self.b.runtime.update("v1", "PersistentVolumeClaim", ns, claim, select)

    # -- reconcile ----------------------------------------------------------------
    def _class_of(self, pvc: dict[str, Any]) -> dict[str, Any] | None:
        name = (pvc.get("spec") or {}).get("storageClassName")
        if name is None:
            return None
        return self.b.runtime.get("storage.k8s.io", "storageclasses", "", name)

    def _announce(self, pvc: dict[str, Any], type_: str, reason: str, message: str) -> None:
        uid = pvc["metadata"]["uid"]
        if self._announced.get(uid) == reason + message:
            return
        self._announced[uid] = reason + message
        self.b.events.record(pvc, type_, reason, message, COMPONENT)

    def reconcile(self, namespace: str, name: str) -> None:
        rt = self.b.runtime
        key = (namespace, name)
        pvc = rt.get("", "persistentvolumeclaims", namespace, name)
        if pvc is not None and pvc["metadata"].get("deletionTimestamp"):
            self._protect(pvc)
        if pvc is None or pvc["metadata"].get("deletionTimestamp") or \
                (pvc.get("status") or {}).get("phase") == "Bound":
            self._pending.discard(key)
            return
        self._pending.add(key)
        self._ensure_pending_status(pvc)
        spec = pvc.get("spec") or {}
        class_name = spec.get("storageClassName")
        if class_name is None:
            default = self._default_class()
            if default is not None:  # retroactive default class assignment (Kubernetes 1.28+)
                def assign(live: dict[str, Any]) -> dict[str, Any]:
                    live["spec"]["storageClassName"] = default["metadata"]["name"]
                    return live
                rt.update("v1", "PersistentVolumeClaim", namespace, name, assign)
                return
            self._announce(pvc, NORMAL, "FailedBinding",
                           "no persistent volumes available for this claim and no storage class is set")
            return
        if class_name == "":
            self._announce(pvc, NORMAL, "FailedBinding",
                           "no persistent volumes available for this claim and no storage class is set")
            return
        sc = self._class_of(pvc)
        if sc is None:
            self._announce(pvc, WARNING, "ProvisioningFailed",
                           f'storageclass.storage.k8s.io "{class_name}" not found')
            return
        annotations = pvc["metadata"].get("annotations") or {}
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not annotations.get(SELECTED_NODE):
            self._announce(pvc, NORMAL, "WaitForFirstConsumer",
                           "waiting for first consumer to be created before binding")
            return
        uid = pvc["metadata"]["uid"]
        if uid in self._provisioning:
            return
        self._provisioning.add(uid)
        provisioner = sc.get("provisioner", PROVISIONER)
        self._announce(pvc, NORMAL, "ExternalProvisioning",
                       f'Waiting for a volume to be created either by the external provisioner "{provisioner}" or '
                       "manually by the system administrator. If volume creation is delayed, please verify that the "
                       "provisioner is running and correctly registered.")
        rt.after(self.b.profile.pvc_bind_delay(), self._provision, namespace, name, uid)

    def _ensure_pending_status(self, pvc: dict[str, Any]) -> None:
        if (pvc.get("status") or {}).get("phase") != "Pending":
            self.b.runtime.write_status("v1", "PersistentVolumeClaim", pvc["metadata"]["namespace"],
                                        pvc["metadata"]["name"], {"phase": "Pending"})

    def _provision(self, namespace: str, name: str, uid: str) -> None:
        rt = self.b.runtime
        self._provisioning.discard(uid)
        pvc = rt.get("", "persistentvolumeclaims", namespace, name)
        if pvc is None or pvc["metadata"]["uid"] != uid or pvc["metadata"].get("deletionTimestamp"):
            return
        sc = self._class_of(pvc)
        if sc is None:
            rt.mark("pvc", namespace, name)
            return
        spec = pvc.get("spec") or {}
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        modes = spec.get("accessModes") or ["ReadWriteOnce"]
        pv_name = f"pvc-{uid}"
        provisioner = sc.get("provisioner", PROVISIONER)
        pv = {"apiVersion": "v1", "kind": "PersistentVolume",
              "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
              "spec": {"capacity": {"storage": size}, "accessModes": modes,
                       "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                       "storageClassName": sc["metadata"]["name"], "volumeMode": spec.get("volumeMode", "Filesystem"),
                       "hostPath": {"path": f"/var/local-path-provisioner/{pv_name}_{namespace}_{name}",
                                    "type": "DirectoryOrCreate"},
                       "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": namespace,
                                    "name": name, "uid": uid}}}
        selected = (pvc["metadata"].get("annotations") or {}).get(SELECTED_NODE)
        if selected:
            pv["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [selected]}]}]}}
        try:
            rt.create("v1", "PersistentVolume", "", pv)
        except APIError as exc:
            if exc.code != 409:
                raise
        rt.write_status("v1", "PersistentVolume", "", pv_name, {"phase": "Bound"})

        def bind(live: dict[str, Any]) -> dict[str, Any]:
            live["spec"]["volumeName"] = pv_name
            annotations = live["metadata"].setdefault("annotations", {})
            annotations.update({"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                                "volume.beta.kubernetes.io/storage-provisioner": provisioner,
                                "volume.kubernetes.io/storage-provisioner": provisioner})
            return live
        rt.update("v1", "PersistentVolumeClaim", namespace, name, bind)
        rt.write_status("v1", "PersistentVolumeClaim", namespace, name,
                        {"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}})
        self._announce(pvc, NORMAL, "ProvisioningSucceeded",
                       f"Successfully provisioned volume {pv_name}")

    def _release(self, pvc: dict[str, Any]) -> None:
        volume = (pvc.get("spec") or {}).get("volumeName")
        if not volume:
            return
        pv = self.b.runtime.get("", "persistentvolumes", "", volume)
        if pv is not None and (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy", "Delete") == "Delete":
            self.b.runtime.delete("v1", "PersistentVolume", "", volume)
        elif pv is not None:
            self.b.runtime.write_status("v1", "PersistentVolume", "", volume, {"phase": "Released"})


def _is_default(sc: dict[str, Any]) -> bool:
    annotations = sc["metadata"].get("annotations") or {}
    return annotations.get(DEFAULT_CLASS) == "true" or \
        annotations.get("storageclass.beta.kubernetes.io/is-default-class") == "true"
