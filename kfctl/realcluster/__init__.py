"""A real Kubernetes control plane on loopback for kfctl's real-cluster test tier and for rehearsals.

kfctl's end-to-end tests run on ``kfctl.sim``, which was written beside the
engine: where both share a misunderstanding of Kubernetes no test can see it.
This package runs the real thing instead (issue #14): etcd, kube-apiserver,
kube-controller-manager and kube-scheduler built from Go modules by
``scripts/build-controlplane``, with KWOK playing the nodes and the kubelet,
and the harness playing what runs inside pods that KWOK does not run
(cert-manager's issuing and CA injection, self-managed webhook CAs, the
webhook servers themselves, a cloud load balancer). Like ``kfctl.sim`` it
never imports kfctl's engine: it is the cluster, not a client.

``RealCluster`` (:mod:`.cluster`) starts and stops it; ``kfctl sim serve
--real`` serves it from the command line; :mod:`.testing` has the pytest
fixtures.
"""

from kfctl.realcluster.binaries import MissingBinaries, bin_dir
from kfctl.realcluster.cluster import RealCluster, StartError

__all__ = ["MissingBinaries", "RealCluster", "StartError", "bin_dir"]
