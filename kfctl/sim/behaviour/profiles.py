"""Timing profiles and cluster shape: how long things take and what the nodes look like.

A health-checked install is only worth testing if objects take time to become
ready, and fail, the way they do on a real cluster. Every delay the simulated
controllers use comes from one :class:`Profile` and is *deterministic* for a
given seed: jitter is a hash of (seed, image), never a random draw, so a
benchmark can compute the critical-path lower bound of a plan from the same
functions the sim uses (:func:`expected_ready_delay`, :meth:`Profile.pvc_bind_delay`,
:meth:`Profile.crd_establish_delay`).

Profiles:

``instant``
    Everything happens on the next tick (0 s); controllers still run, so
    status, endpoints, certificates and webhooks behave, only without waiting.
``realistic``
    Delays from public install experience (sources next to each value):

    - CRD Established ~1 s: the apiextensions server establishes a CRD within
      about a second; Argo CD polls only 3 s for it (ENGINE-NOTES).
    - A typical controller pod 5-20 s from scheduling to Ready: image pull of
      a ~50-150 MB Go controller image plus a readiness probe with a few
      seconds' initial delay (kubebuilder scaffolding: ``initialDelaySeconds: 5``).
    - cert-manager webhook ~20 s: cert-manager's "verify" docs show the
      webhook Running last ("The webhook might take a little longer to
      successfully provision than the others"); ``cmctl check api --wait=2m``
      reports "webhook deployment is not ready yet" for several polls; the
      Kubeflow manifests README waits for it before applying issuers.
    - MySQL ~30 s: mysql 8 initialises its data directory on first start
      before the readiness probe passes (katib-mysql, KFP mysql).
    - Large images longer: notebook and KFP images of 1-4 GB take 30-90 s to
      pull on a cloud node.
    - PVC bind ~5 s (dynamic provisioning of a cloud disk), certificate issue
      ~2 s, cainjector ~1 s, a cloud load balancer's address ~30 s.
    - Applications that exit while a Service they dial is unreachable
      (:data:`KUBEFLOW_NEEDS`, sources next to each rule; the Services come
      from the container's settings, :mod:`.needs`): the application
      tries again on its own schedule and connects once the Service serves;
      if its retry window ends first, or a startup/liveness probe kills it,
      it exits and is restarted with the kubelet's back-off
      (:mod:`.backoff`). ``instant`` has no such rules.
``flaky``
    ``realistic`` plus the API machinery's fault injection switched on
    (503/429/500 answers, conflicts, dropped connections, watch cuts).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
from dataclasses import dataclass, field
from typing import Any

from kfctl.sim.shape import ClusterShape, NodeSpec  # noqa: F401  (re-exported)

IMAGE_PULL_BACKOFF, CRASH_LOOP_BACKOFF = "ImagePullBackOff", "CrashLoopBackOff"


@dataclass(frozen=True)
class ImageRule:
    """Timing (and optional failure) of containers whose image matches ``pattern`` (fnmatch).

    ``pull``: sim seconds to pull the image; ``start``: from started to serving
    (and to Ready for a container with a readiness or startup probe; one
    without is Ready as soon as it runs).
    ``fail``: ``ImagePullBackOff`` (the pull never succeeds) or
    ``CrashLoopBackOff`` (the container exits ``crash_after`` s after each
    start; with ``crashes`` > 0 it runs normally after that many crashes).
    """

    pattern: str
    pull: float | None = None
    start: float | None = None
    fail: str = ""
    crashes: int = 0
    crash_after: float = 5.0

    def matches(self, image: str) -> bool:
        return fnmatch.fnmatchcase(image, self.pattern)


@dataclass(frozen=True)
class ServiceNeed:
    """How an application whose image matches ``patterns`` (fnmatch) behaves while a Service it dials is down.

    *Which* Services it dials is not here: :func:`kfctl.sim.behaviour.needs.dials`
    reads them from the container (env vars and flags naming a host or URL,
    ConfigMap-sourced values, the Service's port). What cannot be read from
    objects is: a container started while one of them is not serving tries
    again ``retry`` sim seconds later, each wait ``retry_factor`` times the
    last (at most ``retry_max``), and connects at the first try that finds
    them serving; it exits with code 1 after ``gives_up_after`` sim seconds,
    or earlier when its startup or liveness probe kills it. Waits are the
    applications' own, without their random jitter. ``defaults`` are the
    application's built-in addresses for settings the container leaves
    unset: ``(setting, host[:port])``, the setting an env var or flag name.
    ``source`` says where the behaviour and the numbers come from.
    """

    patterns: tuple[str, ...]
    gives_up_after: float
    source: str = ""
    retry: float = 1.0
    retry_factor: float = 1.0
    retry_max: float = 60.0
    defaults: tuple[tuple[str, str], ...] = ()

    def matches(self, image: str) -> bool:
        return any(fnmatch.fnmatchcase(image, p) for p in self.patterns)

    def retry_after(self, attempt: int) -> float:
        """Sim seconds between try ``attempt`` (0 = the first, at start) and the next."""
        return min(self.retry * self.retry_factor ** attempt, self.retry_max)


def has_readiness_gate(container: dict[str, Any]) -> bool:
    """Whether the kubelet waits for a probe before calling the container ready.

    Without a readiness or startup probe a running container is ready at
    once, whatever the application inside is doing (the Kubernetes default
    readiness state is Success); with one, it is ready once the application
    answers.
    """
    return any(isinstance(container.get(k), dict) and container.get(k) for k in ("readinessProbe", "startupProbe"))


@dataclass(frozen=True)
class Profile:
    """Every delay of the simulated controllers, in sim seconds."""

    name: str = "instant"
    image_pull: float = 0.0
    #: a pull of an image already on the node (policy Always): the registry is asked, no layer moves
    image_check: float = 0.0
    container_start: float = 0.0
    init_run: float = 0.0
    job_run: float = 0.0
    images: tuple[ImageRule, ...] = ()
    #: applications that exit while a Service they dial has no ready endpoint (first match wins)
    needs: tuple[ServiceNeed, ...] = ()
    crd_establish: float = 0.0
    pvc_bind: float = 0.0
    cert_issue: float = 0.0
    ca_inject: float = 0.0
    webhook_self_ca: float = 0.0
    lb_provision: float = 0.0
    #: deterministic jitter: each image's delays are scaled by 1 +/- jitter (hash of seed and image)
    jitter: float = 0.0
    seed: int = 0
    #: kfctl.sim.faults settings switched on with this profile
    faults: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def with_seed(self, seed: int) -> Profile:
        return dataclasses.replace(self, seed=seed)

    # -- per-image ------------------------------------------------------------
    def rule(self, image: str) -> ImageRule | None:
        for rule in self.images:
            if rule.matches(image):
                return rule
        return None

    def _scale(self, image: str) -> float:
        if not self.jitter:
            return 1.0
        digest = hashlib.sha256(f"{self.seed}:{image}".encode()).digest()
        unit = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF  # 0..1, fixed for (seed, image)
        return 1.0 + self.jitter * (2 * unit - 1)

    def pull_delay(self, image: str) -> float:
        rule = self.rule(image)
        base = rule.pull if rule is not None and rule.pull is not None else self.image_pull
        return base * self._scale(image)

    def start_delay(self, image: str) -> float:
        rule = self.rule(image)
        base = rule.start if rule is not None and rule.start is not None else self.container_start
        return base * self._scale(image)

    def failure(self, image: str) -> ImageRule | None:
        rule = self.rule(image)
        return rule if rule is not None and rule.fail else None

    def service_need(self, image: str) -> ServiceNeed | None:
        return next((n for n in self.needs if n.matches(image)), None)

    # -- other delays ---------------------------------------------------------
    def crd_establish_delay(self) -> float:
        return self.crd_establish

    def pvc_bind_delay(self) -> float:
        return self.pvc_bind

    def container_ready_delay(self, container: dict[str, Any]) -> float:
        """From its pull's start to Ready: the pull, then (behind a readiness or startup probe) the start."""
        image = str(container.get("image") or "")
        if not has_readiness_gate(container):
            return self.pull_delay(image)
        return self.pull_delay(image) + self.start_delay(image)


def expected_ready_delay(spec: dict[str, Any], profile: Profile | None = None) -> float:
    """Sim seconds from binding to Ready of a pod (or pod template) spec, if nothing fails.

    Init containers run one after another (pull, then ``init_run``); app
    containers are then started in order, each pulled just before it starts
    (the kubelet's ``SyncPod``), and run side by side, so container *i* is
    ready after the pulls of containers 0..i and its own start. Assumes no
    image is on the node yet and no other pull queued before it (see
    :class:`ClusterShape` ``serialize_image_pulls``). Accepts a Pod, a pod
    template (``{"metadata", "spec"}``), a workload or a bare PodSpec;
    ``profile`` defaults to ``realistic`` (seed 0).
    """
    profile = profile if profile is not None else REALISTIC
    if "spec" in spec and isinstance(spec["spec"], dict):
        spec = spec["spec"]
        if "template" in spec:  # a workload: take its pod template
            spec = (spec["template"] or {}).get("spec") or {}
    total = 0.0
    for init in spec.get("initContainers") or []:
        total += profile.pull_delay(str(init.get("image") or "")) + profile.init_run
    slowest = pulled = 0.0
    for c in spec.get("containers") or []:
        slowest = max(slowest, pulled + profile.container_ready_delay(c))
        pulled += profile.pull_delay(str(c.get("image") or ""))
    return total + slowest


# -- applications that exit while a Service they dial is down (Kubeflow 1.10 and 26.03) ---------------

#: cenkalti/backoff ``NewExponentialBackOff()`` defaults (KFP's Go services): 0.5 s, x1.5, at most 60 s
_CENKALTI = {"retry": 0.5, "retry_factor": 1.5, "retry_max": 60.0}

#: Image patterns cover our bundles (``ghcr.io/kubeflow/kfp-*:2.5.0`` in 1.10, ``:2.16.0`` in 26.03) and
#: upstream's (same names), plus the pre-2.1 ``gcr.io/ml-pipeline/*`` names. The Services each one waits for
#: are read from its container (:mod:`kfctl.sim.behaviour.needs`): KFP 2.5's API server reads
#: ``DBCONFIG_MYSQLCONFIG_HOST=mysql`` from pipeline-install-config and, with ``OBJECTSTORECONFIG_HOST``
#: unset, its built-in ``minio-service``; 2.16's sets ``OBJECTSTORECONFIG_HOST=seaweedfs.kubeflow``
#: and ``OBJECTSTORECONFIG_PORT=9000``.
KUBEFLOW_NEEDS: tuple[ServiceNeed, ...] = (
    ServiceNeed(("*/kfp-api-server:*", "*/api-server:*"), 360.0,
                "KFP apiserver retries its DB and object store with cenkalti/backoff for InitConnectionTimeout "
                "(6m, backend/src/apiserver/config/config.json; initMysql/CreateMinioClientOrFatal); its "
                "startupProbe (failureThreshold 12 x periodSeconds 5 = 60 s, upstream "
                "ml-pipeline-apiserver-deployment.yaml) kills it first; kubeflow/pipelines#6121. With "
                "ObjectStoreConfig.Host unset it reads the service link MINIO_SERVICE_SERVICE_HOST of "
                "minio-service (backend/src/apiserver/client_manager)", **_CENKALTI,
                defaults=(("OBJECTSTORECONFIG_HOST", "minio-service"),)),
    ServiceNeed(("*/kfp-cache-server:*", "*/cache-server:*"), 360.0,
                "KFP cache server: same initMysql retry (cenkalti/backoff, initConnectionTimeout 6m, "
                "backend/src/cache/server); its livenessProbe (tcpSocket, 15 s + 3 x 20 s) kills it while it "
                "is not listening; --db_host defaults to mysql (backend/src/cache/main.go)", **_CENKALTI,
                defaults=(("db_host", "mysql"),)),
    ServiceNeed(("*ml_metadata_store_server*",), 1.0,
                "MLMD store server CHECK-fails at once when mysql_real_connect fails "
                "(\"Can't connect to MySQL server on 'mysql'\": kubeflow/pipelines#3794, #12086)"),
    ServiceNeed(("*/kfp-metadata-writer:*", "*/metadata-writer:*"), 100.0,
                "metadata_helpers.connect_to_mlmd(): 100 attempts 1 s apart, then RuntimeError "
                "(kubeflow/pipelines backend/metadata_writer); kubeflow/pipelines#6121; the address is "
                "METADATA_GRPC_SERVICE_SERVICE_HOST, default metadata-grpc-service", retry=1.0,
                defaults=(("METADATA_GRPC_SERVICE_SERVICE_HOST", "metadata-grpc-service"),)),
    ServiceNeed(("*/kfp-persistence-agent:*", "*/persistenceagent:*"), 120.0,
                "persistence agent: util.WaitForAPIAvailable polls the API's /healthz with cenkalti/backoff for "
                "its initializeTimeout flag (default 2*time.Minute, backend/src/agent/persistence/main.go), "
                "then log.Fatalf; the API is its --mlPipelineAPIServerName flag, default ml-pipeline (port "
                "8888)", **_CENKALTI,
                defaults=(("mlPipelineAPIServerName", "ml-pipeline:8888"),)),
    ServiceNeed(("*katib-db-manager*",), 60.0,
                "katib common.OpenSQLConn pings on a 5 s ticker (connectInterval) until connectTimeout (60 s, "
                "cmd/db-manager connect-timeout flag) and the db-manager exits \"DB open failed\"; the host is "
                "KATIB_MYSQL_DB_HOST, default katib-mysql (pkg/db/v1beta1/common)", retry=5.0,
                defaults=(("KATIB_MYSQL_DB_HOST", "katib-mysql"),)),
)


# -- the three profiles ------------------------------------------------------------

INSTANT = Profile(name="instant")

REALISTIC = Profile(
    name="realistic",
    image_pull=4.0,             # a 50-150 MB controller image
    image_check=0.5,            # a manifest request to the registry; the layers are on the node
    container_start=6.0,        # process start + readiness probe initialDelaySeconds 5
    init_run=3.0,
    job_run=10.0,
    crd_establish=1.0,
    pvc_bind=5.0,
    cert_issue=2.0,
    ca_inject=1.0,
    webhook_self_ca=2.0,
    lb_provision=30.0,          # a cloud load balancer: tens of seconds (GKE/AKS/ELB provisioning)
    jitter=0.3,
    images=(
        ImageRule("quay.io/jetstack/cert-manager-webhook*", pull=5.0, start=15.0),
        ImageRule("quay.io/jetstack/cert-manager-*", pull=5.0, start=5.0),
        ImageRule("*mysql*", pull=10.0, start=20.0),
        ImageRule("*istio*/pilot*", pull=8.0, start=10.0),
        ImageRule("*istio*/proxyv2*", pull=10.0, start=8.0),
        ImageRule("*minio*", pull=8.0, start=8.0),
        ImageRule("*seaweedfs*", pull=8.0, start=8.0),
        ImageRule("*notebook-servers*", pull=60.0, start=10.0),
        ImageRule("*ml-pipeline*", pull=15.0, start=10.0),
        ImageRule("*kfp-*", pull=15.0, start=10.0),
        ImageRule("*ml_metadata_store_server*", pull=15.0, start=10.0),
    ),
    needs=KUBEFLOW_NEEDS,
)

FLAKY = dataclasses.replace(
    REALISTIC, name="flaky",
    faults={"error_503": 0.02, "error_429": 0.02, "error_500": 0.01, "conflict_409": 0.02, "drop": 0.005,
            "watch_cut": 0.02},
)

PROFILES: dict[str, Profile] = {p.name: p for p in (INSTANT, REALISTIC, FLAKY)}


def profile_named(name: str | Profile, *, seed: int | None = None) -> Profile:
    """A profile by name (``instant``, ``realistic``, ``flaky``) or as given; ValueError if unknown."""
    if isinstance(name, Profile):
        profile = name
    else:
        try:
            profile = PROFILES[name]
        except KeyError:
            raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None
    return profile.with_seed(seed) if seed is not None else profile


# -- cluster shape ------------------------------------------------------------------
# ClusterShape and NodeSpec live in kfctl.sim.shape (shape files reach beyond the controllers: users, version);
# they are re-exported here for the callers that import them from the profiles.
