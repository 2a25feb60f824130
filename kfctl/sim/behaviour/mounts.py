"""What keeps a bound pod from starting: volumes that cannot mount, env that cannot be built.

The kubelet asks these two questions before it starts any container. Each
answer is the message a real kubelet reports ('' when nothing is missing) and
the object the pod waits for, so the kubelet can look again when that object
appears or changes.
"""

from __future__ import annotations

from typing import Any, Callable

Getter = Callable[[str, str, str, str], "dict[str, Any] | None"]


def mount_problem(pod: dict[str, Any], get: Getter) -> tuple[str, tuple[str, str, str] | None]:
    """A missing non-optional Secret/ConfigMap volume or a missing/unbound claim -> FailedMount text."""
    ns = pod["metadata"]["namespace"]
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        vname = volume.get("name", "")
        sources = [volume] + list((volume.get("projected") or {}).get("sources") or [])
        for source in sources:
            secret = source.get("secret")
            if secret is not None:
                sname = secret.get("secretName") or secret.get("name")
                if sname and not secret.get("optional") and get("", "secrets", ns, sname) is None:
                    return (f'MountVolume.SetUp failed for volume "{vname}" : secret "{sname}" not found',
                            (ns, "secrets", sname))
            cm = source.get("configMap")
            if cm is not None and cm.get("name") and not cm.get("optional") and \
                    get("", "configmaps", ns, cm["name"]) is None:
                return (f'MountVolume.SetUp failed for volume "{vname}" : configmap "{cm["name"]}" not found',
                        (ns, "configmaps", cm["name"]))
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            pvc = get("", "persistentvolumeclaims", ns, claim)
            if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
                why = "PVC is not bound" if pvc is not None else f'persistentvolumeclaim "{claim}" not found'
                return (f"Unable to attach or mount volumes: unmounted volumes=[{vname}], unattached volumes=[], "
                        f"failed to process volumes=[{vname}]: error processing PVC {ns}/{claim}: {why}",
                        (ns, "persistentvolumeclaims", claim))
    return "", None


def config_problem(pod: dict[str, Any], get: Getter) -> tuple[str, tuple[str, str, str] | None]:
    """A missing Secret/ConfigMap (or key) read through env/envFrom -> CreateContainerConfigError text."""
    ns = pod["metadata"]["namespace"]
    spec = pod.get("spec") or {}
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        refs: list[tuple[str, dict[str, Any], str]] = []
        for env in c.get("env") or []:
            source = env.get("valueFrom") or {}
            if source.get("secretKeyRef"):
                refs.append(("secrets", source["secretKeyRef"], "Secret"))
            if source.get("configMapKeyRef"):
                refs.append(("configmaps", source["configMapKeyRef"], "ConfigMap"))
        for env in c.get("envFrom") or []:
            if env.get("secretRef"):
                refs.append(("secrets", {**env["secretRef"], "key": None}, "Secret"))
            if env.get("configMapRef"):
                refs.append(("configmaps", {**env["configMapRef"], "key": None}, "ConfigMap"))
        for plural, ref, kind in refs:
            name = ref.get("name")
            if not name or ref.get("optional"):
                continue
            obj = get("", plural, ns, name)
            if obj is None:
                return f'{kind.lower()} "{name}" not found', (ns, plural, name)
            wanted = ref.get("key")
            if wanted and wanted not in (obj.get("data") or {}) and wanted not in (obj.get("stringData") or {}):
                return f"couldn't find key {wanted} in {kind} {ns}/{name}", (ns, plural, name)
    return "", None
