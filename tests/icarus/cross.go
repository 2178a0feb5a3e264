// cross.go owns the cross-restore checks: a backup Esop makes (the engine inside Icarus, run as
// its command line) is listed and restored by Daedalus, with both the IMPORT and the HARDLINKS
// strategy, and a backup Daedalus makes is listed and restored by Esop the same two ways. Every
// restore starts from a truncated table and is judged by the rows CQL reads back.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gocql/gocql"
)

const crossKeyspace = "cross"

type crossRun struct {
	r              *runner
	esop           []string // command running Esop's CLI
	jmx            string
	passed, failed int
}

func (c *crossRun) check(name string, ok bool, detail string) {
	if ok {
		c.passed++
		fmt.Printf("  ok    %s\n", name)
		return
	}
	c.failed++
	fmt.Printf("  FAIL  %s: %s\n", name, detail)
}

// rows reads back the table: the count and the sum of ids (both 100 and 4950 when whole).
func (c *crossRun) rows() (int, int) {
	iter := c.r.cql.Query("SELECT id FROM " + crossKeyspace + ".t").Iter()
	n, sum, id := 0, 0, 0
	for iter.Scan(&id) {
		n++
		sum += id
	}
	if err := iter.Close(); err != nil {
		fatalf("read %s.t: %v", crossKeyspace, err)
	}
	return n, sum
}

func (c *crossRun) truncate(name string) {
	c.r.exec("TRUNCATE " + crossKeyspace + ".t")
	n, _ := c.rows()
	c.check(name+": table empty before the restore", n == 0, fmt.Sprintf("%d rows", n))
}

func (c *crossRun) restored(name string) {
	n, sum := c.rows()
	c.check(name+": 100 rows back", n == 100 && sum == 4950, fmt.Sprintf("%d rows, id sum %d", n, sum))
}

func (c *crossRun) runEsop(name string, args ...string) (string, bool) {
	cmd := exec.Command(c.esop[0], append(append([]string{}, c.esop[1:]...), args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "--- esop %s failed: %v\n%s\n", name, err, tail(string(out), 40))
		return string(out), false
	}
	return string(out), true
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// daedalusOp submits a raw body and waits for its end; returns the final record.
func (c *crossRun) daedalusOp(name, body string) map[string]any {
	a := c.r.w.do("POST", "/operations", nil, rawBody(body))
	m, _ := a.decoded.(map[string]any)
	if a.status != 201 || m == nil {
		c.check(name+": accepted", false, fmt.Sprintf("%d %s", a.status, a.raw))
		return nil
	}
	id, _ := m["id"].(string)
	deadline := time.Now().Add(c.r.patient)
	for time.Now().Before(deadline) {
		g := c.r.w.do("GET", "/operations/"+id, nil, nil)
		rec, _ := g.decoded.(map[string]any)
		if s, _ := rec["state"].(string); terminal[s] {
			c.check(name+": COMPLETED", s == "COMPLETED", fmt.Sprintf("%s %v", s, rec["errors"]))
			return rec
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.check(name+": finished", false, "still running after "+c.r.patient.String())
	return nil
}

func (c *crossRun) run() int {
	r := c.r
	data := filepath.Join(r.nodeDir, "data")
	os.RemoveAll(filepath.Join(r.work, "cross"))
	esopLoc := "file://" + filepath.Join(r.work, "cross", "esop", "bucket", "daedalus-test", "dc1", "node1")
	daedalusLoc := "file://" + filepath.Join(r.work, "cross", "daedalus", "bucket", "daedalus-test", "dc1", "node1")
	source := filepath.Join(r.work, "cross", "restore-source")

	r.exec("DROP KEYSPACE IF EXISTS " + crossKeyspace)
	r.exec("CREATE KEYSPACE " + crossKeyspace + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	r.exec("CREATE TABLE " + crossKeyspace + ".t (id int PRIMARY KEY, v text)")
	for i := 0; i < 100; i++ {
		r.exec(fmt.Sprintf("INSERT INTO %s.t (id, v) VALUES (%d, 'row %d')", crossKeyspace, i, i))
	}
	c.restored("rows written")

	// Esop's backup, Daedalus's list and restores.
	fmt.Println("Esop backs up, Daedalus lists and restores")
	_, ok := c.runEsop("backup", "backup", "--jmx-service", c.jmx, "--storage-location", esopLoc,
		"--data-dir", data, "--entities", crossKeyspace, "--snapshot-tag", "esop1", "--create-missing-bucket")
	c.check("esop backup", ok, "see its output above")
	rec := c.daedalusOp("daedalus list", `{"type":"list","storageLocation":"`+esopLoc+`"}`)
	c.check("daedalus list names Esop's backup", strings.Contains(fmt.Sprint(rec["response"]), "esop1-"),
		fmt.Sprint(rec["response"]))
	for _, strategy := range []string{"IMPORT", "HARDLINKS"} {
		name := "daedalus restore " + strategy
		c.truncate(name)
		for _, phase := range []string{"INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"} {
			c.daedalusOp(name+" "+phase, `{"type":"restore","storageLocation":"`+esopLoc+`","snapshotTag":"esop1",`+
				`"entities":"`+crossKeyspace+`.t","restorationStrategyType":"`+strategy+`","restorationPhase":"`+phase+`",`+
				`"cassandraDirectory":"`+r.nodeDir+`","dataDirs":["`+data+`"],"import":{"type":"import","sourceDir":"`+source+`"}}`)
		}
		c.restored(name)
	}

	// Daedalus's backup, Esop's list and restores.
	fmt.Println("Daedalus backs up, Esop lists and restores")
	c.daedalusOp("daedalus backup", `{"type":"backup","storageLocation":"`+daedalusLoc+`","snapshotTag":"daedalus1",`+
		`"entities":"`+crossKeyspace+`","createMissingBucket":true}`)
	out, ok := c.runEsop("list", "list", "--storage-location", daedalusLoc, "--json", "--skip-download")
	c.check("esop list names Daedalus's backup", ok && strings.Contains(out, "daedalus1-"), tail(out, 10))
	for _, strategy := range []string{"IMPORT", "HARDLINKS"} {
		name := "esop restore " + strategy
		c.truncate(name)
		for _, phase := range []string{"INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"} {
			_, ok := c.runEsop(name+" "+phase, "restore", "--jmx-service", c.jmx, "--storage-location", daedalusLoc,
				"--data-dir", data, "--cassandra-dir", r.nodeDir, "--snapshot-tag", "daedalus1",
				"--entities", crossKeyspace+".t", "--restoration-strategy-type", strategy,
				"--restoration-phase-type", phase, "--import-source-dir", source)
			c.check(name+" "+phase, ok, "see its output above")
		}
		c.restored(name)
	}
	fmt.Printf("cross-restore: %d passed, %d failed\n", c.passed, c.failed)
	return c.failed
}

func newCrossSession(addr string) *gocql.Session {
	cluster := gocql.NewCluster(addr)
	cluster.ProtoVersion = 4
	cluster.Consistency = gocql.One
	cluster.Timeout = 20 * time.Second
	cluster.DisableInitialHostLookup = true
	s, err := cluster.CreateSession()
	if err != nil {
		fatalf("CQL %s: %v", addr, err)
	}
	return s
}
