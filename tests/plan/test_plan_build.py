"""Plan inference: build graphs from inline YAML and check the edges and their reasons."""

from __future__ import annotations

import pytest
import yaml

from kfctl.plan import ObjectRef, PlanError, build_plan

WEBHOOK_APP = """
apiVersion: v1
kind: Namespace
metadata: {name: kubeflow, labels: {app.kubernetes.io/part-of: kubeflow-profile}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: poddefaults.kubeflow.org}
spec:
  group: kubeflow.org
  scope: Namespaced
  names: {kind: PodDefault, plural: poddefaults, singular: poddefault}
  versions: [{name: v1alpha1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: hook-sa, namespace: kubeflow}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: selfsigned, namespace: kubeflow}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: hook-cert, namespace: kubeflow}
spec: {secretName: webhook-certs, issuerRef: {name: selfsigned, kind: Issuer}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: hook, namespace: kubeflow}
spec:
  selector: {matchLabels: {app: hook}}
  template:
    metadata: {labels: {app: hook}}
    spec:
      serviceAccountName: hook-sa
      containers: [{name: hook, image: hook:1}]
      volumes: [{name: certs, secret: {secretName: webhook-certs}}]
---
apiVersion: v1
kind: Service
metadata: {name: hook-svc, namespace: kubeflow}
spec: {selector: {app: hook}, ports: [{port: 443}]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: poddefaults
  annotations: {cert-manager.io/inject-ca-from: kubeflow/hook-cert}
webhooks:
- name: poddefaults.kubeflow.org
  clientConfig: {service: {name: hook-svc, namespace: kubeflow}}
  rules: [{apiGroups: [""], apiVersions: [v1], resources: [pods], operations: [CREATE]}]
  namespaceSelector: {matchLabels: {app.kubernetes.io/part-of: kubeflow-profile}}
---
apiVersion: kubeflow.org/v1alpha1
kind: PodDefault
metadata: {name: add-gcp, namespace: kubeflow}
spec: {selector: {}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: kubeflow}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
"""


def plan_of(text: str, component: str = "app", **kwargs):
    return build_plan([(component, doc) for doc in yaml.safe_load_all(text) if doc], **kwargs)


def deps(plan, ref: ObjectRef) -> dict[str, str]:
    return {str(e.dependency): e.reason for e in plan.requires[ref]}


def test_inferred_edges_with_reasons():
    plan = plan_of(WEBHOOK_APP)
    hook = ObjectRef("apps", "Deployment", "kubeflow", "hook")
    assert deps(plan, hook) == {
        "Namespace/kubeflow": "lives in the namespace",
        "ServiceAccount/kubeflow/hook-sa": "runs as the service account",
        "Certificate.cert-manager.io/kubeflow/hook-cert": "mounts secret webhook-certs issued by the certificate",
    }
    cert = ObjectRef("cert-manager.io", "Certificate", "kubeflow", "hook-cert")
    assert "Issuer.cert-manager.io/kubeflow/selfsigned" in deps(plan, cert)
    webhook = ObjectRef("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "", "poddefaults")
    assert deps(plan, webhook) == {
        "Certificate.cert-manager.io/kubeflow/hook-cert": "its CA bundle is injected from the certificate"
    }
    cr = ObjectRef("kubeflow.org", "PodDefault", "kubeflow", "add-gcp")
    assert deps(plan, cr)["CustomResourceDefinition/poddefaults.kubeflow.org"] == "its kind is defined by the CRD"


def test_workload_in_selected_namespace_waits_for_pod_webhook_but_its_own_backend_does_not():
    plan = plan_of(WEBHOOK_APP)
    web = deps(plan, ObjectRef("apps", "Deployment", "kubeflow", "web"))
    assert web["MutatingWebhookConfiguration/poddefaults"] == "its pods are admitted by webhook poddefaults.kubeflow.org"
    assert "Deployment/kubeflow/hook" in web
    assert "Service/kubeflow/hook-svc" in web
    hook = deps(plan, ObjectRef("apps", "Deployment", "kubeflow", "hook"))
    assert "MutatingWebhookConfiguration/poddefaults" not in hook


def test_namespace_selector_limits_webhook_edges():
    text = WEBHOOK_APP.replace("labels: {app.kubernetes.io/part-of: kubeflow-profile}", "labels: {}")
    plan = plan_of(text)
    web = deps(plan, ObjectRef("apps", "Deployment", "kubeflow", "web"))
    assert "MutatingWebhookConfiguration/poddefaults" not in web


def test_validating_ignore_webhook_orders_nothing():
    text = WEBHOOK_APP.replace("kind: MutatingWebhookConfiguration", "kind: ValidatingWebhookConfiguration").replace(
        "  rules: [", "  failurePolicy: Ignore\n  rules: ["
    )
    plan = plan_of(text)
    web = deps(plan, ObjectRef("apps", "Deployment", "kubeflow", "web"))
    assert not any("WebhookConfiguration" in k for k in web)


def test_waves_put_dependencies_first():
    plan = plan_of(WEBHOOK_APP)
    waves = plan.waves()
    position = {ref: i for i, wave in enumerate(waves) for ref in wave}
    for edge in plan.edges:
        assert position[edge.dependency] < position[edge.dependent], edge
    assert str(waves[0][0]) == "Namespace/kubeflow"
    text = plan.format_waves()
    assert text.startswith("wave 1 (")
    assert "Deployment/kubeflow/web  [app]  after" in text


def test_storage_class_and_rbac_edges():
    plan = plan_of("""
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: x
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: ns}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: static, namespace: ns}
spec: {storageClassName: "", accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: ServiceAccount, name: runner, namespace: ns}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ns}
spec:
  selector: {matchLabels: {app: db}}
  serviceName: db
  template:
    metadata: {labels: {app: db}}
    spec:
      serviceAccountName: runner
      containers: [{name: db, image: db:1}]
      volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
""")
    assert deps(plan, ObjectRef("", "PersistentVolumeClaim", "ns", "data")) == {
        "StorageClass/fast": "claims storage of the default class"
    }
    assert deps(plan, ObjectRef("", "PersistentVolumeClaim", "ns", "static")) == {}
    assert deps(plan, ObjectRef("rbac.authorization.k8s.io", "ClusterRoleBinding", "", "reader")) == {
        "ClusterRole/reader": "binds the role"
    }
    db = deps(plan, ObjectRef("apps", "StatefulSet", "ns", "db"))
    assert db["ClusterRoleBinding/reader"] == "its service account is granted permissions by the binding"
    assert db["PersistentVolumeClaim/ns/data"] == "mounts the claim"


def test_component_dependencies_order_custom_resources_only():
    items = [
        ("cert-manager", yaml.safe_load("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cm, namespace: cert-manager}\nspec: {template: {spec: {containers: []}}}")),
        ("katib", yaml.safe_load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: kubeflow}")),
        ("katib", yaml.safe_load("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ctl, namespace: kubeflow}\nspec: {template: {spec: {containers: []}}}")),
        ("katib", yaml.safe_load("apiVersion: cert-manager.io/v1\nkind: Issuer\nmetadata: {name: selfsigned, namespace: kubeflow}\nspec: {selfSigned: {}}")),
    ]
    plan = build_plan(items, component_deps={"katib": ["cert-manager"]})
    assert deps(plan, ObjectRef("", "ConfigMap", "kubeflow", "cfg")) == {}
    assert deps(plan, ObjectRef("apps", "Deployment", "kubeflow", "ctl")) == {}
    assert deps(plan, ObjectRef("cert-manager.io", "Issuer", "kubeflow", "selfsigned")) == {
        "Deployment/cert-manager/cm": "component katib depends on cert-manager"
    }


def test_declared_dependency_and_its_errors():
    base = """
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: ns, annotations: {config.kubernetes.io/depends-on: %s}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: ns}
"""
    plan = plan_of(base % "/namespaces/ns/ConfigMap/b")
    assert deps(plan, ObjectRef("", "ConfigMap", "ns", "a")) == {
        "ConfigMap/ns/b": "declared in config.kubernetes.io/depends-on"
    }
    with pytest.raises(PlanError, match="names ConfigMap/ns/missing, which is not part of this deployment"):
        plan_of(base % "/namespaces/ns/ConfigMap/missing")
    with pytest.raises(PlanError, match="cannot read 'nonsense'"):
        plan_of(base % "nonsense")


def test_cycle_names_its_members():
    text = """
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: ns, annotations: {config.kubernetes.io/depends-on: /namespaces/ns/ConfigMap/b}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: ns, annotations: {config.kubernetes.io/depends-on: /namespaces/ns/ConfigMap/a}}
"""
    with pytest.raises(PlanError) as err:
        plan_of(text)
    assert "dependency cycle: ConfigMap/ns/" in str(err.value)
    assert "ConfigMap/ns/a" in str(err.value) and "ConfigMap/ns/b" in str(err.value)
    assert err.value.exit_code == 2


def test_duplicate_object_is_an_error():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\n"
    with pytest.raises(PlanError, match="rendered twice"):
        build_plan([("x", yaml.safe_load(text)), ("y", yaml.safe_load(text))])


def test_a_claim_only_needs_to_exist_before_its_workload():
    """A WaitForFirstConsumer claim binds only after the workload's pod is scheduled: no deadlock."""
    plan = plan_of("""
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: ns}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ns}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: ns}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: db:1, envFrom: [{configMapRef: {name: cfg}}]}]
      volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
""")
    edges = {str(e.dependency): e.applied_only for e in plan.requires[ObjectRef("apps", "Deployment", "ns", "db")]}
    assert edges == {"PersistentVolumeClaim/ns/data": True, "ConfigMap/ns/cfg": False}
    line = next(x for x in plan.format_waves().splitlines() if x.strip().startswith("Deployment/ns/db"))
    assert "PersistentVolumeClaim/ns/data (applied)" in line and "ConfigMap/ns/cfg (applied)" not in line


def test_a_mount_of_what_istiod_publishes_waits_for_istiod():
    plan = plan_of("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec:
      containers: [{name: discovery, image: gcr.io/istio-release/pilot:1.26.1}]
      volumes: [{name: ca, configMap: {name: istio-ca-root-cert, optional: true}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {matchLabels: {app: gw}}
  template:
    metadata: {labels: {app: gw}}
    spec:
      containers: [{name: proxy, image: gcr.io/istio-release/proxyv2:1.26.1}]
      volumes: [{name: ca, configMap: {name: istio-ca-root-cert}}]
""")
    gateway = deps(plan, ObjectRef("apps", "Deployment", "istio-system", "istio-ingressgateway"))
    assert gateway == {"Deployment/istio-system/istiod": "mounts ConfigMap istio-ca-root-cert, which istiod publishes"}
    assert deps(plan, ObjectRef("apps", "Deployment", "istio-system", "istiod")) == {}


def test_known_kubeflow_runtime_dependencies_order_deployments():
    def deployment(name):
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "kubeflow"},
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}

    names = ("mysql", "minio", "ml-pipeline", "cache-server", "metadata-grpc-deployment", "metadata-writer")
    plan = build_plan([("pipelines", deployment(n)) for n in names])
    assert deps(plan, ObjectRef("apps", "Deployment", "kubeflow", "ml-pipeline")) == {
        "Deployment/kubeflow/mysql": "the Pipelines API server exits until MySQL answers (its startup probe: 60 s)",
        "Deployment/kubeflow/minio": "the Pipelines API server exits until its object store answers",
    }
    assert list(deps(plan, ObjectRef("apps", "Deployment", "kubeflow", "cache-server"))) == ["Deployment/kubeflow/mysql"]
    # 26.03: the object store is SeaweedFS
    plan_26 = build_plan([("pipelines", deployment(n)) for n in ("mysql", "seaweedfs", "ml-pipeline")])
    assert deps(plan_26, ObjectRef("apps", "Deployment", "kubeflow", "ml-pipeline")) == {
        "Deployment/kubeflow/mysql": "the Pipelines API server exits until MySQL answers (its startup probe: 60 s)",
        "Deployment/kubeflow/seaweedfs": "the Pipelines API server exits until its object store answers (26.03: "
                                         "SeaweedFS)",
    }
    # MLMD exits at once without MySQL: it waits for MySQL to be healthy
    [mlmd] = plan.requires[ObjectRef("apps", "Deployment", "kubeflow", "metadata-grpc-deployment")]
    assert mlmd.dependency.name == "mysql" and not mlmd.applied_only
    # the writer retries MLMD for 100 s: it starts as soon as MLMD is applied, their pulls overlapping
    [writer] = plan.requires[ObjectRef("apps", "Deployment", "kubeflow", "metadata-writer")]
    assert writer.dependency.name == "metadata-grpc-deployment" and writer.applied_only


def test_longest_paths_weigh_the_chain_behind_each_object():
    def deployment(name, sa):
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "kubeflow"},
                "spec": {"template": {"spec": {"serviceAccountName": sa, "containers": [{"name": "c", "image": "x"}]}}}}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "db", "namespace": "kubeflow"}}
    plan = build_plan([("p", sa), ("p", deployment("mysql", "db")), ("p", deployment("ml-pipeline", "db"))])
    weight = {"ServiceAccount": 1.0, "Deployment": 10.0}
    paths = plan.longest_paths(lambda ref: weight[ref.kind])
    mysql = ObjectRef("apps", "Deployment", "kubeflow", "mysql")
    api = ObjectRef("apps", "Deployment", "kubeflow", "ml-pipeline")
    assert paths[api] == 10.0 and paths[mysql] == 20.0  # the API server waits for MySQL
    assert paths[ObjectRef("", "ServiceAccount", "kubeflow", "db")] == 21.0
