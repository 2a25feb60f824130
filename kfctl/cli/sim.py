"""``kfctl sim``: run the simulated Kubernetes API server.

Users rehearse an install or upgrade offline (``kfctl sim serve --kubeconfig
sim.yaml`` in one terminal, ``kfctl --kubeconfig sim.yaml apply`` in another) and
test their overlays in CI. The sim is imported inside the command so ``kfctl``
itself never pays for it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
from typing import Any

import click

from kfctl.errors import InputError


@click.group("sim")
def sim() -> None:
    """A simulated Kubernetes cluster for offline rehearsal and CI."""


def _faults(settings: tuple[str, ...], seed: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--fault {item!r}: expected NAME=VALUE, e.g. --fault error_503=0.1",
                             hint="names: error_500 error_503 error_429 retry_after conflict_409 drop latency "
                                  "jitter watch_cut")
        out[key.strip().replace("-", "_")] = value.strip()
    if seed is not None:
        out["seed"] = seed
    return out


@sim.command("serve")
@click.option("--kubeconfig", "kubeconfig_path", metavar="PATH",
              help="Where to write a kubeconfig for the sim (default: the global --kubeconfig).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Loopback port to listen on; 0 picks a free one.")
@click.option("--token", metavar="TOKEN", help="Require this bearer token (401 without it).")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Real seconds per sim second: 0.01 runs ten sim minutes in six real seconds.")
@click.option("--crd-establish-delay", type=click.FloatRange(min=0), default=None,
              help="Sim seconds before a new CRD is Established and served (default: the profile's).")
@click.option("--profile", type=click.Choice(["instant", "realistic", "flaky"]), default="realistic",
              show_default=True, help="Timing of pods, volumes, certificates and CRDs; flaky also injects API faults.")
@click.option("--nodes", type=click.IntRange(min=0), default=1, show_default=True, help="Number of nodes.")
@click.option("--node-cpu", default="8", show_default=True, help="CPU capacity of each node (e.g. 4, 3500m).")
@click.option("--node-memory", default="32Gi", show_default=True, help="Memory capacity of each node (e.g. 16Gi).")
@click.option("--node-gpus", type=click.IntRange(min=0), default=0, show_default=True,
              help="nvidia.com/gpu capacity of each node.")
@click.option("--parallel-image-pulls", is_flag=True,
              help="Let each node pull images side by side (kubelet serializeImagePulls: false, as on EKS); by "
                   "default a node pulls one image at a time.")
@click.option("--no-default-storage-class", is_flag=True,
              help="Start without a default StorageClass (claims without a class stay Pending).")
@click.option("--volume-binding-mode", type=click.Choice(["Immediate", "WaitForFirstConsumer"]),
              default="Immediate", show_default=True, help="volumeBindingMode of the default StorageClass.")
@click.option("--storage-class", "storage_classes", multiple=True, metavar="NAME",
              help="Also provide this (non-default) StorageClass, e.g. standard-rwo to rehearse a GKE install "
                   "(repeatable).")
@click.option("--shape", "shape_file", metavar="FILE",
              help="Shape the cluster from this YAML file: node groups (GPUs, labels, taints, cordoned, NotReady), "
                   "StorageClasses, namespaces with ResourceQuotas/LimitRanges, limited users' tokens, a Helm-installed "
                   "cert-manager/Istio, an older Kubernetes version (format: kfctl/sim/README.md; examples in "
                   "tests/data/shapes/).")
@click.option("--no-behaviour", is_flag=True,
              help="Serve the API machinery only: no nodes, pods, endpoints, volumes, webhooks or certificates.")
@click.option("--namespace-delete-delay", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Sim seconds before a deleted namespace's contents start being removed.")
@click.option("--persist", metavar="FILE", help="Keep the cluster in this SQLite file across restarts.")
@click.option("--fault", "faults", multiple=True, metavar="NAME=VALUE",
              help="Inject faults, e.g. error_503=0.05, error_429=0.1, drop=0.01, latency=0.05 (repeatable). "
                   "Change them later with PUT /_sim/faults.")
@click.option("--seed", type=int, help="Seed of the fault injector and of the profile's delay jitter (same seed, "
                                      "same faults and delays).")
@click.option("--real", is_flag=True,
              help="Serve a REAL control plane instead (etcd, kube-apiserver, controller-manager, scheduler, KWOK "
                   "nodes; built by scripts/build-controlplane). Takes --kubeconfig, --nodes, --node-cpu, "
                   "--node-memory, --node-gpus and --storage-class; see kfctl/realcluster/README.md.")
@click.pass_context
def serve(ctx: click.Context, kubeconfig_path: str | None, port: int, token: str | None, time_scale: float,
          crd_establish_delay: float | None, profile: str, nodes: int, node_cpu: str, node_memory: str,
          node_gpus: int, parallel_image_pulls: bool, no_default_storage_class: bool, volume_binding_mode: str,
          storage_classes: tuple[str, ...], shape_file: str | None, no_behaviour: bool,
          namespace_delete_delay: float, persist: str | None, faults: tuple[str, ...], seed: int | None,
          real: bool) -> None:
    """Serve a simulated Kubernetes API on 127.0.0.1 until interrupted (--real: a real control plane)."""
    from kfctl.sim import Faults, SimCluster
    from kfctl.sim.behaviour import ClusterShape
    from kfctl.sim.behaviour.pods import quantity
    from kfctl.sim.shape import ShapeError

    listed = os.environ.get("KUBECONFIG", "")
    target = kubeconfig_path or getattr(ctx.obj, "kubeconfig", None) or (listed if os.pathsep not in listed else None)
    if not target:
        raise InputError("kfctl sim serve needs a kubeconfig path to write",
                         hint="pass --kubeconfig PATH (the file is created or replaced)")
    if real:
        _serve_real(ctx, target, nodes=nodes, node_cpu=node_cpu, node_memory=node_memory, node_gpus=node_gpus,
                    storage_classes=storage_classes)
        return
    try:
        fault_config = Faults.from_dict(_faults(faults, seed)) if faults else None
    except ValueError as exc:
        raise InputError(f"--fault: {exc}") from None
    for option, value in (("--node-cpu", node_cpu), ("--node-memory", node_memory)):
        if quantity(value) <= 0:
            raise InputError(f"{option} {value!r} is not a positive Kubernetes quantity",
                             hint="write e.g. --node-cpu 4 or 3500m, --node-memory 16Gi")
    shape = ClusterShape.uniform(nodes, cpu=node_cpu, memory=node_memory, gpus=node_gpus,
                                 default_storage_class=not no_default_storage_class,
                                 volume_binding_mode=volume_binding_mode, extra_storage_classes=storage_classes,
                                 serialize_image_pulls=not parallel_image_pulls)
    if shape_file:
        shape = _shape(ctx, shape_file, shape)
    try:
        cluster = SimCluster(port=port, token=token, kubeconfig_path=target, time_scale=time_scale,
                             crd_establish_delay=crd_establish_delay,
                             namespace_delete_delay=namespace_delete_delay, faults=fault_config,
                             persist_path=persist, profile=profile, shape=shape, seed=seed,
                             behaviour=not no_behaviour)
        cluster.start()
    except ShapeError as exc:
        message, _, hint = str(exc).partition("\n  hint: ")
        raise InputError(message, hint=hint or None) from None
    except sqlite3.Error as exc:
        raise InputError(f"--persist {persist}: cannot use it as the sim's SQLite file: {exc}",
                         hint="name a new file, or one an earlier `kfctl sim serve --persist` wrote") from None
    except OSError as exc:
        if persist and exc.filename and str(exc.filename) == str(persist):
            raise InputError(f"--persist {persist}: {exc.strerror or exc}", hint="name a file you can write") from None
        raise InputError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}",
                         hint="pick another --port, or 0 for a free one") from None
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(json.dumps({"url": cluster.url, "kubeconfig": cluster.kubeconfig_path,
                           "persist": persist, "timeScale": time_scale,
                           "profile": profile if not no_behaviour else None,
                           "serializeImagePulls": None if no_behaviour else shape.serialize_image_pulls,
                           "contexts": {u.name: f"kfctl-sim-{u.name}" for u in cluster.shape.users}}))
    click.echo(f"Serving a simulated Kubernetes API at {cluster.url}; kubeconfig written to "
               f"{cluster.kubeconfig_path}. Press Ctrl-C to stop.", err=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    click.echo("Simulated cluster stopped.", err=True)


#: flags that say what a shape file says too: given with --shape, which should win is unclear, so it is refused
SHAPE_FLAGS = ("nodes", "node_cpu", "node_memory", "node_gpus", "no_default_storage_class", "volume_binding_mode",
               "storage_classes")


def _shape(ctx: click.Context, shape_file: str, flags: Any) -> Any:
    """The shape file's ClusterShape; flags that name nodes or StorageClasses may not come with it."""
    import dataclasses

    from click.core import ParameterSource

    from kfctl.sim.shape import ShapeError, load_shape

    given = [name for name in SHAPE_FLAGS if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)]
    if given:
        options = ", ".join("--storage-class" if n == "storage_classes" else "--" + n.replace("_", "-")
                            for n in given)
        raise InputError(f"{options}: --shape {shape_file} describes the nodes and StorageClasses",
                         hint="say it in the shape file (nodes:, storageClasses:), or drop --shape")
    try:
        shape = load_shape(shape_file)
    except ShapeError as exc:
        message, _, hint = str(exc).partition("\n  hint: ")
        raise InputError(message, hint=hint or None) from None
    if not flags.serialize_image_pulls:  # --parallel-image-pulls
        shape = dataclasses.replace(shape, serialize_image_pulls=False)
    return shape


#: options that only the simulated cluster has (refused with --real rather than silently ignored)
SIM_ONLY = ("port", "token", "time_scale", "crd_establish_delay", "profile", "parallel_image_pulls", "shape_file",
            "no_default_storage_class", "volume_binding_mode", "no_behaviour", "namespace_delete_delay", "persist",
            "faults", "seed")


def _serve_real(ctx: click.Context, target: str, *, nodes: int, node_cpu: str, node_memory: str, node_gpus: int,
                storage_classes: tuple[str, ...]) -> None:
    """Serve kfctl.realcluster's control plane until interrupted."""
    from click.core import ParameterSource

    from kfctl.realcluster import MissingBinaries, RealCluster, StartError

    given = [name for name in SIM_ONLY if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)]
    if given:
        options = ", ".join({"faults": "--fault", "shape_file": "--shape"}.get(name) or "--" + name.replace("_", "-")
                            for name in given)
        raise InputError(f"{options}: only the simulated cluster has this; a real control plane runs in real time",
                         hint="drop it, or drop --real")
    try:
        cluster = RealCluster(kubeconfig_path=target, nodes=nodes, node_cpu=node_cpu, node_memory=node_memory,
                              node_gpus=node_gpus, storage_classes=storage_classes)
    except MissingBinaries as exc:
        raise InputError(str(exc)) from None
    click.echo("Starting a real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, "
               "kwok)...", err=True)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        cluster.start()
    except StartError as exc:
        raise InputError(f"the real control plane did not start: {exc}",
                         hint=f"logs are in {cluster.logs}") from None
    try:
        click.echo(json.dumps({"url": cluster.url, "kubeconfig": cluster.kubeconfig_path, "real": True,
                               "logs": str(cluster.logs)}))
        click.echo(f"Serving a real Kubernetes v1.37.2 control plane at {cluster.url}; kubeconfig written to "
                   f"{cluster.kubeconfig_path}; logs in {cluster.logs}. Press Ctrl-C to stop.", err=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    click.echo("Real control plane stopped.", err=True)
