// Command etcd is etcd's own server entry point (go.etcd.io/etcd/server/v3
// etcdmain), built at the version k8s.io/kubernetes v1.37.2 requires, so the
// control plane and its store come from one go.sum.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
