"""Scheduling and the kubelet as a client sees them: binding, Unschedulable, mounts, init, pulls, crashes, events."""

from __future__ import annotations

from kfctl.sim.behaviour import ClusterShape, ImageRule, NodeSpec, Profile
from simb_helpers import condition, pod


def _phase(kube, name: str) -> str:
    p = kube.core.read_namespaced_pod(name, "default")
    return p.status.phase if p.status else ""


def _status_column(kube, name: str) -> str:
    return kube.kubectl("get", "pod", name, "--no-headers").stdout.split()[2]


def test_pod_that_fits_nowhere_is_unschedulable_with_an_event(behaving) -> None:
    kube = behaving(shape=ClusterShape.uniform(2, cpu="2", memory="4Gi"))
    kube.create(pod("big", container={"resources": {"requests": {"cpu": "3", "memory": "1Gi"}}}))
    cond = kube.wait(lambda: condition(kube.core.read_namespaced_pod("big", "default"), "PodScheduled"))
    assert (cond.status, cond.reason) == ("False", "Unschedulable")
    assert cond.message == ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
                            "2 No preemption victims found for incoming pod.")
    [event] = kube.events(name="big", reason="FailedScheduling")
    assert event.type == "Warning" and event.message == cond.message and event.source.component == "default-scheduler"
    assert _status_column(kube, "big") == "Pending"
    assert "FailedScheduling" in kube.kubectl("get", "events").stdout


def test_scheduler_honours_selector_affinity_taints_gpus_and_capacity(behaving) -> None:
    shape = ClusterShape(nodes=(
        NodeSpec("cpu-1", cpu="4", labels=(("pool", "cpu"),)),
        NodeSpec("gpu-1", cpu="4", gpus=2, labels=(("pool", "gpu"),), taints=(("nvidia.com/gpu", "", "NoSchedule"),)),
    ))
    kube = behaving(shape=shape)
    toleration = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    kube.create(
        pod("trainer", tolerations=toleration, container={"resources": {"limits": {"nvidia.com/gpu": "1"}}}),
        pod("untolerated", container={"resources": {"limits": {"nvidia.com/gpu": "1"}}}),
        pod("selected", nodeSelector={"pool": "cpu"}),
        pod("affine", tolerations=toleration, affinity={"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "pool", "operator": "In", "values": ["gpu"]}]}]}}}),
        pod("nowhere", nodeSelector={"pool": "tpu"}),
    )
    node = lambda name: kube.wait(lambda: kube.core.read_namespaced_pod(name, "default").spec.node_name)  # noqa: E731
    assert node("trainer") == "gpu-1" and node("selected") == "cpu-1" and node("affine") == "gpu-1"
    for name, why in (("untolerated", "1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint "
                                      "{nvidia.com/gpu: }"),
                      ("nowhere", "1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated "
                                  "taint {nvidia.com/gpu: }")):
        cond = kube.wait(lambda: condition(kube.core.read_namespaced_pod(name, "default"), "PodScheduled"))
        assert cond.reason == "Unschedulable" and f"0/2 nodes are available: {why}." in cond.message
    # capacity is accounted: a second 3-cpu pod does not fit on a 4-cpu node next to the first
    kube.create(pod("half-1", nodeSelector={"pool": "cpu"}, container={"resources": {"requests": {"cpu": "3"}}}))
    kube.wait(lambda: _phase(kube, "half-1") == "Running")
    kube.create(pod("half-2", nodeSelector={"pool": "cpu"}, container={"resources": {"requests": {"cpu": "3"}}}))
    cond = kube.wait(lambda: condition(kube.core.read_namespaced_pod("half-2", "default"), "PodScheduled"))
    assert "1 Insufficient cpu" in cond.message
    kube.core.delete_namespaced_pod("half-1", "default", _preload_content=False)  # freed capacity: the waiting pod is retried
    kube.wait(lambda: _phase(kube, "half-2") == "Running", what="retried pod running")


def test_missing_secret_volume_holds_pod_in_container_creating_until_created(kube) -> None:
    kube.create(pod("reader", volumes=[{"name": "creds", "secret": {"secretName": "db-creds"}}]))
    kube.wait(lambda: kube.events(name="reader", reason="FailedMount"))
    [event] = kube.events(name="reader", reason="FailedMount")
    assert event.message == 'MountVolume.SetUp failed for volume "creds" : secret "db-creds" not found'
    assert _status_column(kube, "reader") == "ContainerCreating" and _phase(kube, "reader") == "Pending"
    kube.core.create_namespaced_secret("default", {"metadata": {"name": "db-creds"}, "stringData": {"pw": "x"}})
    kube.wait(lambda: _phase(kube, "reader") == "Running", what="pod running after the secret appears")
    # Running comes before Ready (the start delay); under load the read may fall between the two
    ready = kube.wait(lambda: (c := condition(kube.core.read_namespaced_pod("reader", "default"), "Ready"))
                      and c.status == "True" and c, what="pod ready after the secret appears")
    assert ready.status == "True"


def test_a_secret_created_late_is_mounted_at_the_volume_managers_next_try(behaving) -> None:
    kube = behaving(time_scale=0.02)
    clock = kube.sim.clock
    kube.create(pod("late", volumes=[{"name": "creds", "secret": {"secretName": "late-creds"}}]))
    [failed] = kube.wait(lambda: kube.events(name="late", reason="FailedMount"))
    first = failed.first_timestamp.timestamp()  # the sim's own stamps from here on, not when the test looked
    # tries at +0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 63.5 s (0.5 s doubling): create the secret between 15.5 and 31.5
    tries = [0.5 * (2**n - 1) for n in range(16)]
    kube.wait(lambda: clock.now() >= first + 18, timeout=10)
    secret = kube.core.create_namespaced_secret("default", {"metadata": {"name": "late-creds"},
                                                            "stringData": {"pw": "x"}})
    created = secret.metadata.creation_timestamp.timestamp() - first
    kube.wait(lambda: _phase(kube, "late") == "Running", timeout=10, what="pod running at the next mount try")
    status = kube.core.read_namespaced_pod("late", "default").status.container_statuses[0]
    started = status.state.running.started_at.timestamp() - first
    slack = 2 + kube.slack()  # three 1 s timestamps, and however late the controllers ran
    # not at once: at the first try after the secret appeared (on an idle machine the one at 31.5 s; a try
    # within the 1 s stamps of its creation may or may not have seen it)
    due = [t for t in tries if created - 1 < t <= created + 1] + [next(t for t in tries if t > created + 1)]
    assert any(t - slack <= started <= t + slack for t in due), (started, created, due, slack)
    [event] = kube.events(name="late", reason="FailedMount")
    assert event.count >= 6


def test_env_from_missing_configmap_is_a_config_error(kube) -> None:
    kube.create(pod("env", container={"envFrom": [{"configMapRef": {"name": "settings"}}]}),
                pod("optional", container={"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {
                    "name": "absent", "key": "a", "optional": True}}}]}))
    kube.wait(lambda: _status_column(kube, "env") == "CreateContainerConfigError")
    assert any(e.message == 'Error: configmap "settings" not found' for e in kube.events(name="env", reason="Failed"))
    kube.wait(lambda: _phase(kube, "optional") == "Running")
    kube.core.create_namespaced_config_map("default", {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    kube.wait(lambda: _phase(kube, "env") == "Running")


def test_unbound_claim_holds_pod_until_storage_class_appears(behaving) -> None:
    kube = behaving(shape=ClusterShape(default_storage_class=False))
    kube.core.create_namespaced_persistent_volume_claim("default", {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    kube.create(pod("db", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]))
    kube.wait(lambda: kube.events(name="db", reason="FailedMount"))
    assert "PVC is not bound" in kube.events(name="db", reason="FailedMount")[0].message
    assert _status_column(kube, "db") == "ContainerCreating"
    kube.storage.create_storage_class({"metadata": {"name": "fast", "annotations": {
        "storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "example.com/disk"})
    kube.wait(lambda: _phase(kube, "db") == "Running", what="pod running once the claim binds")


def test_init_containers_run_first(behaving) -> None:
    kube = behaving(profile=Profile(init_run=30))
    kube.create(pod("init", initContainers=[{"name": "migrate", "image": "busybox:1"},
                                            {"name": "seed", "image": "busybox:1"}]))
    kube.wait(lambda: _status_column(kube, "init") == "Init:0/2")
    kube.wait(lambda: _status_column(kube, "init") == "Init:1/2")
    kube.wait(lambda: _phase(kube, "init") == "Running")
    p = kube.core.read_namespaced_pod("init", "default")
    assert [s.state.terminated.reason for s in p.status.init_container_statuses] == ["Completed", "Completed"]
    assert condition(p, "Initialized").status == "True"
    started = [e for e in kube.events(name="init", reason="Started")]
    assert [e.involved_object.field_path for e in sorted(started, key=lambda e: e.metadata.name)][:3] == \
        ["spec.initContainers{migrate}", "spec.initContainers{seed}", "spec.containers{main}"]


def test_image_pull_backoff_and_crash_loop_backoff_with_restarts(behaving) -> None:
    kube = behaving(profile=Profile(images=(ImageRule("missing/*", fail="ImagePullBackOff"),
                                            ImageRule("crash/*", fail="CrashLoopBackOff", crash_after=2))))
    # behind a readiness probe, a container that exits 2 s after each start is never ready (without one it
    # would read 1/1 while it runs)
    kube.create(pod("pull", image="missing/app:1"),
                pod("crash", image="crash/app:1", container={"readinessProbe": {"tcpSocket": {"port": 80}}}))
    kube.wait(lambda: _status_column(kube, "pull") == "ImagePullBackOff")
    assert any(e.message.startswith('Failed to pull image "missing/app:1"') for e in kube.events(name="pull"))
    kube.wait(lambda: (lambda cs: cs and cs[0].restart_count >= 2)(
        kube.core.read_namespaced_pod("crash", "default").status.container_statuses), timeout=15)
    kube.wait(lambda: _status_column(kube, "crash") == "CrashLoopBackOff")
    p = kube.core.read_namespaced_pod("crash", "default")
    [cs] = p.status.container_statuses
    assert cs.last_state.terminated.exit_code == 1 and cs.last_state.terminated.reason == "Error"
    assert condition(p, "Ready").status == "False" and p.status.phase == "Running"
    row = kube.kubectl("get", "pod", "crash", "--no-headers").stdout.split()
    [later] = kube.core.read_namespaced_pod("crash", "default").status.container_statuses
    # the first restart is immediate, so the count may move while kubectl starts (tens of sim seconds)
    assert row[1] == "0/1" and cs.restart_count <= int(row[3]) <= later.restart_count and row[4].startswith("(")
    assert any(e.reason == "BackOff" and "Back-off restarting failed container main" in e.message
               for e in kube.events(name="crash"))


def test_kubelet_events_read_like_a_real_cluster(kube) -> None:
    kube.create(pod("web"))
    kube.wait(lambda: _phase(kube, "web") == "Running")
    reasons = [e.reason for e in sorted(kube.events(name="web"), key=lambda e: e.metadata.name)]
    assert reasons == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    table = kube.kubectl("get", "events", "--field-selector", "involvedObject.name=web").stdout.split("\n")
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("pod/web" in line and "Started container main" in line for line in table)
    wide = kube.kubectl("get", "pod", "web", "-o", "wide", "--no-headers").stdout.split()
    assert wide[5:7] == [kube.core.read_namespaced_pod("web", "default").status.pod_ip, "sim-node-1"]


def test_events_repeat_as_counts_and_expire_after_an_hour(behaving) -> None:
    kube = behaving(time_scale=0.0005)  # an hour of sim time in 1.8 s
    kube.create(pod("lonely", volumes=[{"name": "s", "secret": {"secretName": "never"}}]))
    kube.wait(lambda: kube.events(name="lonely", reason="FailedMount"))
    counted = kube.wait(lambda: [e for e in kube.events(name="lonely", reason="FailedMount") if e.count >= 3])
    assert len(counted) == 1  # repeats of the same failure aggregate into one Event
    assert "(x" in kube.kubectl("get", "events", "--field-selector", "reason=FailedMount").stdout
    kube.core.delete_namespaced_pod("lonely", "default", _preload_content=False)
    kube.wait(lambda: not kube.events(name="lonely"), timeout=10, what="events gone after the event TTL")


PULLS = Profile(image_check=1.0, images=(ImageRule("big/*", pull=40.0), ImageRule("small/*", pull=2.0)))


def _pull_seconds(event) -> tuple[float, float]:
    """(pulling, including waiting) from 'Successfully pulled image "x" in 2s (41.3s including waiting)'."""
    took, _, rest = event.message.partition(" in ")[2].partition("s (")
    return float(took), float(rest.partition("s including")[0])


def _at(event) -> float:
    return event.first_timestamp.timestamp()


def test_a_node_pulls_one_image_at_a_time_and_keeps_what_it_pulled(behaving) -> None:
    kube = behaving(profile=PULLS, time_scale=0.01)
    kube.create(pod("first", image="big/a:1"))
    kube.create(pod("second", image="small/b:1"))
    kube.wait(lambda: _phase(kube, "second") == "Running", timeout=20)
    [pulled] = kube.events(name="second", reason="Pulled")
    took, waited = _pull_seconds(pulled)
    assert took == 2.0 and 35.0 < waited <= 42.0 + kube.slack()  # behind the first pod's 40 s pull
    assert _phase(kube, "first") == "Running"
    # an image on the node is not pulled again (IfNotPresent, the default for a tagged image) ...
    kube.create(pod("third", image="big/a:1"))
    kube.wait(lambda: _phase(kube, "third") == "Running", timeout=5)
    assert not kube.events(name="third", reason="Pulling")
    [present] = kube.events(name="third", reason="Pulled")
    assert present.message == 'Container image "big/a:1" already present on machine'
    # ... unless the policy is Always: then the registry is asked again, without moving layers
    kube.create(pod("always", image="big/a:1", container={"imagePullPolicy": "Always"}))
    kube.wait(lambda: _phase(kube, "always") == "Running", timeout=5)
    assert _pull_seconds(kube.events(name="always", reason="Pulled")[0])[0] == 1.0
    # Never, without the image on the node, never starts
    kube.create(pod("never", image="small/c:1", container={"imagePullPolicy": "Never"}))
    kube.wait(lambda: _status_column(kube, "never") == "ErrImageNeverPull", timeout=5)
    [never] = kube.events(name="never", reason="ErrImageNeverPull")
    assert never.type == "Warning" and "is not present with pull policy of Never" in never.message


def test_containers_of_a_pod_are_pulled_and_started_in_order(behaving) -> None:
    kube = behaving(profile=PULLS, time_scale=0.01)
    kube.create(pod("pair", image="big/a:1", containers=[{"name": "main", "image": "big/a:1"},
                                                        {"name": "side", "image": "small/b:1"}]))
    kube.wait(lambda: _phase(kube, "pair") == "Running" and
              all(s.ready for s in kube.core.read_namespaced_pod("pair", "default").status.container_statuses),
              timeout=20)
    pulling = {e.involved_object.field_path: e for e in kube.events(name="pair", reason="Pulling")}
    started = {e.involved_object.field_path: e for e in kube.events(name="pair", reason="Started")}
    assert _at(pulling["spec.containers{side}"]) >= _at(started["spec.containers{main}"]) >= \
        _at(pulling["spec.containers{main}"]) + 39


def test_without_serialized_pulls_a_node_pulls_side_by_side(behaving) -> None:
    kube = behaving(profile=PULLS, time_scale=0.01, shape=ClusterShape(serialize_image_pulls=False))
    kube.create(pod("first", image="big/a:1"))
    kube.create(pod("second", image="small/b:1"))
    kube.wait(lambda: _phase(kube, "second") == "Running", timeout=5)
    assert _pull_seconds(kube.events(name="second", reason="Pulled")[0]) == (2.0, 2.0)
    assert _phase(kube, "first") != "Running"
    kube.create(pod("again", image="big/a:1"))  # at least 2 s into the first pod's pull of the same image
    kube.wait(lambda: _phase(kube, "again") == "Running", timeout=20)
    # done with it + 1 s check (+ however late the controllers ran)
    assert _pull_seconds(kube.events(name="again", reason="Pulled")[0])[1] <= 39.0 + kube.slack()
