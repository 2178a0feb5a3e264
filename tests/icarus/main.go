// Command icarus-conformance drives an Icarus-API sidecar the way an application built on the
// Icarus Go client does, records what it answers, and compares two such records.
//
//	icarus-conformance run -url URL -side NAME -out FILE -cql HOST:PORT -node-dir DIR -work DIR
//	icarus-conformance compare -expected ICARUS.json -actual DAEDALUS.json -allow docs/ICARUS.md
//	icarus-conformance cross -url DAEDALUS_URL -cql HOST:PORT -jmx HOST:PORT -node-dir DIR -work DIR [-esop-s3 CMD]
//
// `run` needs a real node (CQL for the rows, its data directory for import) and leaves it drained.
// `compare` exits 1 on any difference not listed as deliberate, after printing
// `conformance: N passed, N failed`. `cross` restores Esop's backups with Daedalus and the reverse
// (cross.go), closing with `cross-restore: N passed, N failed`.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gocql/gocql"
)

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "icarus-conformance: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		fatalf("usage: run|compare ...")
	}
	switch os.Args[1] {
	case "run":
		fs := flag.NewFlagSet("run", flag.ExitOnError)
		base := fs.String("url", "", "sidecar base URL")
		side := fs.String("side", "", "name of the side (icarus, daedalus)")
		out := fs.String("out", "", "observations file to write")
		cqlAddr := fs.String("cql", "127.0.0.20:9042", "node's CQL address")
		nodeDir := fs.String("node-dir", "", "node directory (scripts/cassandra layout)")
		work := fs.String("work", "", "scratch directory (same path for both sides)")
		patience := fs.Duration("patience", 120*time.Second, "longest wait for one operation")
		fs.Parse(os.Args[2:])
		if *base == "" || *side == "" || *out == "" || *nodeDir == "" || *work == "" {
			fatalf("run: -url, -side, -out, -node-dir and -work are required")
		}
		// The node stops serving CQL once drained (the last step); the driver's reconnect
		// complaints after that are noise.
		gocql.Logger = log.New(io.Discard, "", 0)
		cluster := gocql.NewCluster(*cqlAddr)
		cluster.ProtoVersion = 4
		cluster.Consistency = gocql.One
		cluster.Timeout = 20 * time.Second
		cluster.DisableInitialHostLookup = true
		session, err := cluster.CreateSession()
		if err != nil {
			fatalf("CQL %s: %v", *cqlAddr, err)
		}
		defer session.Close()
		r := &runner{w: newWire(*base), obs: newObservations(*side), cql: session, work: *work,
			nodeDir: *nodeDir, patient: *patience}
		r.obs.paths = strings.NewReplacer(*nodeDir, "<node>", *work, "<work>")
		r.run()
		r.obs.save(*out)
	case "cross":
		fs := flag.NewFlagSet("cross", flag.ExitOnError)
		base := fs.String("url", "", "Daedalus's base URL")
		cqlAddr := fs.String("cql", "127.0.0.20:9042", "node's CQL address")
		jmx := fs.String("jmx", "127.0.0.20:8199", "node's JMX address, for Esop")
		nodeDir := fs.String("node-dir", "", "node directory (scripts/cassandra layout)")
		work := fs.String("work", "", "scratch directory")
		esop := fs.String("esop", "scripts/icarus esop", "command running Esop's command line")
		esopS3 := fs.String("esop-s3", "", "command running Esop's command line against the local S3 server (none: file:// only)")
		fs.Parse(os.Args[2:])
		if *base == "" || *nodeDir == "" || *work == "" {
			fatalf("cross: -url, -node-dir and -work are required")
		}
		gocql.Logger = log.New(io.Discard, "", 0)
		session := newCrossSession(*cqlAddr)
		defer session.Close()
		r := &runner{w: newWire(*base), obs: newObservations("cross"), cql: session, work: *work,
			nodeDir: *nodeDir, patient: 120 * time.Second}
		c := &crossRun{r: r, esop: strings.Fields(*esop), jmx: *jmx}
		if *esopS3 != "" {
			c.stores = append(c.stores, s3Storage(strings.Fields(*esopS3), filepath.Join(*work, "esop-cache")))
		}
		if c.run() > 0 {
			os.Exit(1)
		}
	case "compare":
		fs := flag.NewFlagSet("compare", flag.ExitOnError)
		expected := fs.String("expected", "", "Icarus's observations")
		actual := fs.String("actual", "", "Daedalus's observations")
		allow := fs.String("allow", "docs/ICARUS.md", "document listing the deliberate differences")
		fs.Parse(os.Args[2:])
		if compare(loadObservations(*expected), loadObservations(*actual), loadAllowances(*allow)) > 0 {
			os.Exit(1)
		}
	default:
		fatalf("unknown command %q", os.Args[1])
	}
}
