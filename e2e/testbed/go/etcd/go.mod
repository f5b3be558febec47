// Wrapper module that builds the etcd server from the Go module proxy.
module scvmm-capi.local/testbed/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.6.16

tool go.etcd.io/etcd/server/v3
