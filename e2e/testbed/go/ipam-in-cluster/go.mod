// Wrapper module that builds the Cluster API in-cluster IPAM provider from the
// Go module proxy. v1.1 is the first series on the CAPI v1beta2 contract: it
// reconciles ipam.cluster.x-k8s.io/v1beta2 IPAddressClaims and IPAddresses,
// the API version CAPI v1.14 serves. It is built with its own dependency set
// (CAPI v1.11 libraries, controller-runtime v0.21), not CAPI_VERSION's.
module scvmm-capi.local/testbed/ipam-in-cluster

go 1.26.2

require sigs.k8s.io/cluster-api-ipam-provider-in-cluster v1.1.0

tool sigs.k8s.io/cluster-api-ipam-provider-in-cluster
