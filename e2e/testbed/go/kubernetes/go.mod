// Wrapper module that builds kube-apiserver and kube-controller-manager from the
// Go module proxy. build.sh copies it into the cache, adds one `replace` per
// Kubernetes staging module (read from the k8s.io/kubernetes go.mod the proxy
// serves, so the list never goes stale) and runs `go mod tidy` before building.
module scvmm-capi.local/testbed/kubernetes

go 1.26.0

require k8s.io/kubernetes v1.36.3

tool (
	k8s.io/kubernetes/cmd/kube-apiserver
	k8s.io/kubernetes/cmd/kube-controller-manager
)
