// Command etcd runs the etcd server of go.etcd.io/etcd/server/v3 at the version
// pinned in go.mod, for the e2e tier's API server.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
