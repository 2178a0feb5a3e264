// Command fill writes the table the side-by-side backup benchmark backs up and restores, and
// reads it back: `fill -cql HOST:PORT -mib N` creates bench.blobs (id int, v blob: 64 KiB of
// random bytes, so compression cannot shrink it) with N MiB of rows and flushes nothing itself
// (the sidecars' backups take their own snapshots, which flush); `-truncate` empties it; `-count`
// prints the number of rows and the sum of their first bytes, which a restore must give back;
// `-warm` creates the small benchwarm.t each side backs up once to warm up.
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gocql/gocql"
)

const rowBytes = 64 << 10

func main() {
	addr := flag.String("cql", "127.0.0.22:9042", "node's CQL address")
	mib := flag.Int("mib", 1024, "MiB of rows to write")
	truncate := flag.Bool("truncate", false, "empty the table")
	count := flag.Bool("count", false, "print rows and checksum")
	warm := flag.Bool("warm", false, "create the small warm-up table")
	flag.Parse()
	cluster := gocql.NewCluster(*addr)
	cluster.Timeout = 60 * time.Second
	cluster.ConnectTimeout = 30 * time.Second
	cluster.DisableInitialHostLookup = true
	session, err := cluster.CreateSession()
	if err != nil {
		fail("connect %s: %v", *addr, err)
	}
	defer session.Close()
	switch {
	case *warm:
		exec(session, "CREATE KEYSPACE IF NOT EXISTS benchwarm WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
		exec(session, "CREATE TABLE IF NOT EXISTS benchwarm.t (id int PRIMARY KEY, v text)")
		for id := 0; id < 100; id++ {
			exec(session, fmt.Sprintf("INSERT INTO benchwarm.t (id, v) VALUES (%d, 'row %d')", id, id))
		}
	case *truncate:
		exec(session, "TRUNCATE bench.blobs")
	case *count:
		iter := session.Query("SELECT v FROM bench.blobs").PageSize(64).Iter()
		var v []byte
		n, sum := 0, 0
		for iter.Scan(&v) {
			n++
			sum += int(v[0])
		}
		if err := iter.Close(); err != nil {
			fail("read: %v", err)
		}
		fmt.Printf("%d rows, checksum %d\n", n, sum)
	default:
		exec(session, "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
		exec(session, "DROP TABLE IF EXISTS bench.blobs")
		exec(session, "CREATE TABLE bench.blobs (id int PRIMARY KEY, v blob)")
		rows := *mib * (1 << 20) / rowBytes
		ids := make(chan int)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := make([]byte, rowBytes)
				for id := range ids {
					rand.Read(v)
					if err := session.Query("INSERT INTO bench.blobs (id, v) VALUES (?, ?)", id, v).Exec(); err != nil {
						fail("insert %d: %v", id, err)
					}
				}
			}()
		}
		for id := 0; id < rows; id++ {
			ids <- id
		}
		close(ids)
		wg.Wait()
		fmt.Printf("%d rows of %d KiB\n", rows, rowBytes>>10)
	}
}

func exec(s *gocql.Session, cql string) {
	if err := s.Query(cql).Exec(); err != nil {
		fail("%s: %v", cql, err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fill: "+format+"\n", args...)
	os.Exit(1)
}
