// Wrapper module that builds the Cluster API kubeadm control-plane manager
// (KCP) from the Go module proxy, at the same version as the core managers
// (CAPI_VERSION). It is its own component so adding it never rebuilds the
// core cache entry; the Go build cache still shares the compiled packages.
// As in ../capi, the api module is required explicitly (the root module's
// local replace for it is ignored by dependents).
module scvmm-capi.local/testbed/capi-kcp

go 1.26.0

require (
	sigs.k8s.io/cluster-api v1.14.2
	sigs.k8s.io/cluster-api/api v1.14.2
)

tool sigs.k8s.io/cluster-api/controlplane/kubeadm
