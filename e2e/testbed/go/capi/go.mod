// Wrapper module that builds the Cluster API core manager, the kubeadm bootstrap
// manager and clusterctl from the Go module proxy. Since v1.14 the root module
// replaces sigs.k8s.io/cluster-api/api with a local path, which a dependent
// module ignores, so the api module is required explicitly here.
module scvmm-capi.local/testbed/capi

go 1.26.0

require (
	sigs.k8s.io/cluster-api v1.14.2
	sigs.k8s.io/cluster-api/api v1.14.2
)

tool (
	sigs.k8s.io/cluster-api/bootstrap/kubeadm
	sigs.k8s.io/cluster-api/cmd/clusterctl
	sigs.k8s.io/cluster-api/core
)
