// cross.go owns the cross-restore checks: a backup Esop makes (the engine inside Icarus, run as
// its command line) is listed and restored by Daedalus, with both the IMPORT and the HARDLINKS
// strategy, and a backup Daedalus makes is listed and restored by Esop the same two ways; both
// tools back up into one bucket and each removes the other's backup without breaking the one
// left; each of these on file:// and, when an Esop command for it is given, on the local S3
// server; archived commit logs go both ways. Every restore starts from a truncated table and is
// judged by the rows CQL reads back.
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
	// The storage the checks run on in turn: file://, then the local S3 server when set.
	stores []storage
}

// storage is one kind of bucket both tools write: how a bucket of it is named, the command
// running Esop against it, and what names its checks.
type storage struct {
	name string   // "" for file:// (the checks keep their plain names), "s3" for the S3 server
	esop []string // Esop's command for this storage
	// loc is the storage location of node1 in the bucket called bucket.
	loc func(bucket string) string
	// objects counts the SSTable objects of node1 in the bucket called bucket, when it can
	// (file:// only: a directory walk).
	objects func(bucket string) int
	// On cloud storage Esop lists and removes from a local copy of the manifests (its cache),
	// which only a list without --skip-download refreshes, so a backup another tool made is seen
	// by remove-backup only after such a list; on file:// it reads the bucket itself.
	listArgs     []string // Esop's list arguments about the cache
	removeArgs   []string // Esop's remove-backup arguments about the cache
	refreshFirst bool     // list before remove-backup
}

// label prefixes a check's name with the storage it ran on.
func (st storage) label(name string) string {
	if st.name == "" {
		return name
	}
	return st.name + ": " + name
}

// fileStorage is the file:// bucket under the run's scratch directory.
func (c *crossRun) fileStorage() storage {
	node := func(bucket string) string {
		return filepath.Join(c.r.work, "cross", bucket, "bucket", "daedalus-test", "dc1", "node1")
	}
	return storage{
		esop:     c.esop,
		listArgs: []string{"--skip-download"},
		loc:      func(bucket string) string { return "file://" + node(bucket) },
		objects: func(bucket string) int {
			n := 0
			filepath.WalkDir(filepath.Join(node(bucket), "data"), func(_ string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					n++
				}
				return nil
			})
			return n
		},
	}
}

// s3Storage is a bucket of the local S3 server per name (cross-<name>), which Esop reaches
// through its command esop (the server answering for AWS's own host names there), with its
// manifest cache in cache.
func s3Storage(esop []string, cache string) storage {
	return storage{
		name:         "s3",
		esop:         esop,
		loc:          func(bucket string) string { return "s3://cross-" + bucket + "/daedalus-test/dc1/node1" },
		listArgs:     []string{"--cache-dir", cache},
		removeArgs:   []string{"--cache-dir", cache},
		refreshFirst: true,
	}
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
	return c.runEsopOn(storage{esop: c.esop}, name, args...)
}

// runEsopOn runs Esop's command line with st's command.
func (c *crossRun) runEsopOn(st storage, name string, args ...string) (string, bool) {
	cmd := exec.Command(st.esop[0], append(append([]string{}, st.esop[1:]...), args...)...)
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
	os.RemoveAll(filepath.Join(r.work, "cross"))
	r.exec("DROP KEYSPACE IF EXISTS " + crossKeyspace)
	r.exec("CREATE KEYSPACE " + crossKeyspace + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	r.exec("CREATE TABLE " + crossKeyspace + ".t (id int PRIMARY KEY, v text)")
	for i := 0; i < 100; i++ {
		r.exec(fmt.Sprintf("INSERT INTO %s.t (id, v) VALUES (%d, 'row %d')", crossKeyspace, i, i))
	}
	c.restored("rows written")
	for _, st := range append([]storage{c.fileStorage()}, c.stores...) {
		c.bothWays(st)
		c.sharedBucket(st)
	}
	c.commitLogs()
	fmt.Printf("cross-restore: %d passed, %d failed\n", c.passed, c.failed)
	return c.failed
}

// bothWays: Esop's backup listed and restored by Daedalus, Daedalus's by Esop, each restore
// with IMPORT and HARDLINKS, each phase its own request, on st.
func (c *crossRun) bothWays(st storage) {
	r := c.r
	data := filepath.Join(r.nodeDir, "data")
	esopLoc, daedalusLoc := st.loc("esop"), st.loc("daedalus")
	source := filepath.Join(r.work, "cross", "restore-source")
	esopTag, daedalusTag := "esop1"+st.name, "daedalus1"+st.name

	fmt.Println(st.label("Esop backs up, Daedalus lists and restores"))
	_, ok := c.runEsopOn(st, "backup", "backup", "--jmx-service", c.jmx, "--storage-location", esopLoc,
		"--data-dir", data, "--entities", crossKeyspace, "--snapshot-tag", esopTag, "--create-missing-bucket")
	c.check(st.label("esop backup"), ok, "see its output above")
	rec := c.daedalusOp(st.label("daedalus list"), `{"type":"list","storageLocation":"`+esopLoc+`"}`)
	c.check(st.label("daedalus list names Esop's backup"), strings.Contains(fmt.Sprint(rec["response"]), esopTag+"-"),
		fmt.Sprint(rec["response"]))
	for _, strategy := range []string{"IMPORT", "HARDLINKS"} {
		name := st.label("daedalus restore " + strategy)
		c.truncate(name)
		for _, phase := range []string{"INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"} {
			c.daedalusOp(name+" "+phase, `{"type":"restore","storageLocation":"`+esopLoc+`","snapshotTag":"`+esopTag+`",`+
				`"entities":"`+crossKeyspace+`.t","restorationStrategyType":"`+strategy+`","restorationPhase":"`+phase+`",`+
				`"cassandraDirectory":"`+r.nodeDir+`","dataDirs":["`+data+`"],"import":{"type":"import","sourceDir":"`+source+`"}}`)
		}
		c.restored(name)
	}

	fmt.Println(st.label("Daedalus backs up, Esop lists and restores"))
	c.daedalusOp(st.label("daedalus backup"), `{"type":"backup","storageLocation":"`+daedalusLoc+`","snapshotTag":"`+daedalusTag+`",`+
		`"entities":"`+crossKeyspace+`","createMissingBucket":true}`)
	out, ok := c.runEsopOn(st, "list", append([]string{"list", "--storage-location", daedalusLoc, "--json"}, st.listArgs...)...)
	c.check(st.label("esop list names Daedalus's backup"), ok && strings.Contains(out, daedalusTag+"-"), tail(out, 10))
	for _, strategy := range []string{"IMPORT", "HARDLINKS"} {
		name := st.label("esop restore " + strategy)
		c.truncate(name)
		for _, phase := range []string{"INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"} {
			_, ok := c.runEsopOn(st, name+" "+phase, "restore", "--jmx-service", c.jmx, "--storage-location", daedalusLoc,
				"--data-dir", data, "--cassandra-dir", r.nodeDir, "--snapshot-tag", daedalusTag,
				"--entities", crossKeyspace+".t", "--restoration-strategy-type", strategy,
				"--restoration-phase-type", phase, "--import-source-dir", source)
			c.check(name+" "+phase, ok, "see its output above")
		}
		c.restored(name)
	}
}

// sharedBucket has Esop and Daedalus back up the same table into the same bucket, where the
// SSTables both upload are one set of objects (same keys: Esop's layout on both sides), then has
// each side remove the other's backup and restores the one left with the other tool: a removal
// must delete only what no remaining backup of the node references, whoever wrote it.
func (c *crossRun) sharedBucket(st storage) {
	r := c.r
	data := filepath.Join(r.nodeDir, "data")
	source := filepath.Join(r.work, "cross", "restore-source")
	fmt.Println(st.label("One bucket, both tools: each removes the other's backup, the other's still restores"))
	loc := st.loc("shared")
	count := func() int {
		if st.objects == nil {
			return -1
		}
		return st.objects("shared")
	}
	esopBackup := func(tag string) {
		_, ok := c.runEsopOn(st, "backup "+tag, "backup", "--jmx-service", c.jmx, "--storage-location", loc,
			"--data-dir", data, "--entities", crossKeyspace, "--snapshot-tag", tag, "--create-missing-bucket")
		c.check(st.label("esop backup "+tag+" into the shared bucket"), ok, "see its output above")
	}
	// The names of the backups in the bucket, as Daedalus lists them.
	names := func() []string {
		rec := c.daedalusOp(st.label("daedalus list of the shared bucket"), `{"type":"list","storageLocation":"`+loc+`"}`)
		var out []string
		list, _ := rec["response"].([]any)
		for _, b := range list {
			if m, ok := b.(map[string]any); ok {
				out = append(out, fmt.Sprint(m["name"]))
			}
		}
		return out
	}
	named := func(prefix string) string {
		for _, n := range names() {
			if strings.HasPrefix(n, prefix+"-") {
				return n
			}
		}
		return ""
	}

	esopBackup("esopshared")
	esopObjects := count()
	rec := c.daedalusOp(st.label("daedalus backup into the shared bucket"), `{"type":"backup","storageLocation":"`+loc+`",`+
		`"snapshotTag":"dshared","entities":"`+crossKeyspace+`"}`)
	c.check(st.label("daedalus reused Esop's objects"), fmt.Sprint(rec["uploadedFiles"]) == "0" && count() == esopObjects,
		fmt.Sprintf("uploadedFiles %v, objects %d then %d", rec["uploadedFiles"], esopObjects, count()))

	// Daedalus removes Esop's backup; Esop restores Daedalus's.
	esopName := named("esopshared")
	c.check(st.label("the shared bucket lists Esop's backup"), esopName != "", fmt.Sprint(names()))
	c.daedalusOp(st.label("daedalus removes Esop's backup"), `{"type":"remove-backup","storageLocation":"`+loc+`","backupName":"`+esopName+`"}`)
	c.check(st.label("Esop's backup is gone"), named("esopshared") == "", fmt.Sprint(names()))
	c.truncate(st.label("esop restores Daedalus's backup after the removal"))
	for _, phase := range []string{"INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"} {
		_, ok := c.runEsopOn(st, "restore dshared "+phase, "restore", "--jmx-service", c.jmx, "--storage-location", loc,
			"--data-dir", data, "--cassandra-dir", r.nodeDir, "--snapshot-tag", "dshared",
			"--entities", crossKeyspace+".t", "--restoration-strategy-type", "IMPORT",
			"--restoration-phase-type", phase, "--import-source-dir", source)
		c.check(st.label("esop restore of Daedalus's backup after the removal "+phase), ok, "see its output above")
	}
	c.restored(st.label("esop restores Daedalus's backup after Daedalus removed Esop's"))

	// Esop removes Daedalus's backup; Daedalus restores Esop's (a new one, the first is gone).
	esopBackup("esopshared2")
	daedalusName := named("dshared")
	c.check(st.label("the shared bucket lists Daedalus's backup"), daedalusName != "", fmt.Sprint(names()))
	if st.refreshFirst {
		out, ok := c.runEsopOn(st, "list", append([]string{"list", "--storage-location", loc, "--json"}, st.listArgs...)...)
		c.check(st.label("esop list (its cache refreshed) names Daedalus's backup"), ok && strings.Contains(out, daedalusName), tail(out, 10))
	}
	_, ok := c.runEsopOn(st, "remove-backup", append([]string{"remove-backup", "--storage-location", loc, "--backup-name", daedalusName}, st.removeArgs...)...)
	c.check(st.label("esop removes Daedalus's backup"), ok, "see its output above")
	c.check(st.label("Daedalus's backup is gone"), named("dshared") == "", fmt.Sprint(names()))
	c.truncate(st.label("daedalus restores Esop's backup after the removal"))
	for _, phase := range []string{"INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"} {
		c.daedalusOp(st.label("daedalus restore of esopshared2 after the removal "+phase), `{"type":"restore","storageLocation":"`+loc+`","snapshotTag":"esopshared2",`+
			`"entities":"`+crossKeyspace+`.t","restorationStrategyType":"IMPORT","restorationPhase":"`+phase+`",`+
			`"cassandraDirectory":"`+r.nodeDir+`","dataDirs":["`+data+`"],"import":{"type":"import","sourceDir":"`+source+`"}}`)
	}
	c.restored(st.label("daedalus restores Esop's backup after Esop removed Daedalus's"))
}

// commitLogs exchanges archived commit-log segments both ways: Esop's commitlog-backup is read by
// Daedalus's commitlog-restore and Daedalus's commitlog-backup by Esop's, each download compared
// byte for byte with the segments uploaded, and the restore section each writes for Cassandra
// checked. The segments are copies of the node's own, with last-modified times set apart so that
// the one-second point between them needs both. Daedalus's commitlog-restore works on a stopped
// node only, so the node is stopped first (this is the run's last step).
func (c *crossRun) commitLogs() {
	r := c.r
	fmt.Println("Commit-log segments both ways")
	base := filepath.Join(r.work, "cross", "commitlog")
	source := filepath.Join(base, "source")
	os.MkdirAll(source, 0o755)
	live, _ := filepath.Glob(filepath.Join(r.nodeDir, "commitlog", "CommitLog-*.log"))
	var names []string
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, path := range live {
		bytes, err := os.ReadFile(path)
		if err != nil {
			fatalf("read %s: %v", path, err)
		}
		to := filepath.Join(source, filepath.Base(path))
		if err := os.WriteFile(to, bytes, 0o644); err != nil {
			fatalf("write %s: %v", to, err)
		}
		at := start.Add(time.Duration(i*10) * time.Second)
		os.Chtimes(to, at, at)
		names = append(names, filepath.Base(path))
	}
	c.check("segments to exchange", len(names) >= 2, fmt.Sprintf("%d segments in %s/commitlog", len(names), r.nodeDir))
	if len(names) < 2 {
		return
	}
	// Between the first segment's close and the second's: both are needed.
	end := start.Add(5 * time.Second).UnixMilli()
	if out, err := exec.Command("scripts/cassandra", "stop", r.nodeDir).CombinedOutput(); err != nil {
		fatalf("stop the node: %v\n%s", err, out)
	}

	esopLoc := "file://" + filepath.Join(base, "esop", "bucket", "daedalus-test", "dc1", "node1")
	_, ok := c.runEsop("commitlog-backup", "commitlog-backup", "--storage-location", esopLoc,
		"--cl-archive", source, "--create-missing-bucket")
	c.check("esop commitlog-backup", ok, "see its output above")
	scratch := func(name string) string {
		dir := filepath.Join(base, name)
		os.MkdirAll(dir, 0o755)
		return dir
	}
	daedalusDownload, daedalusConf := scratch("daedalus-download"), scratch("daedalus-conf")
	rec := c.daedalusOp("daedalus commitlog-restore of Esop's segments",
		`{"type":"commitlog-restore","storageLocation":"`+esopLoc+`","commitlogDownloadDir":"`+daedalusDownload+`",`+
			`"cassandraConfigDirectory":"`+daedalusConf+`","cassandraCommitLogDirectory":"`+scratch("daedalus-live")+`",`+
			fmt.Sprintf(`"timestampStart":0,"timestampEnd":%d}`, end))
	c.check("daedalus commitlog-restore: both segments", fmt.Sprint(rec["segments"]) == "2", fmt.Sprint(rec))
	c.sameFiles("daedalus downloaded Esop's segments", source, daedalusDownload, names)
	c.restoreSection("daedalus", daedalusConf, daedalusDownload, end)

	daedalusLoc := "file://" + filepath.Join(base, "daedalus", "bucket", "daedalus-test", "dc1", "node1")
	c.daedalusOp("daedalus commitlog-backup", `{"type":"commitlog-backup","storageLocation":"`+daedalusLoc+`",`+
		`"commitLogArchiveOverride":"`+source+`","createMissingBucket":true}`)
	esopDownload, esopConf := scratch("esop-download"), scratch("esop-conf")
	_, ok = c.runEsop("commitlog-restore", "commitlog-restore", "--storage-location", daedalusLoc,
		"--commitlog-download-dir", esopDownload, "--config-directory", esopConf,
		"--commit-log-dir", scratch("esop-live"), "--ts", "0", "--te", fmt.Sprint(end))
	c.check("esop commitlog-restore of Daedalus's segments", ok, "see its output above")
	c.sameFiles("esop downloaded Daedalus's segments", source, esopDownload, names)
	c.restoreSection("esop", esopConf, esopDownload, end)
}

// sameFiles checks that every named segment in `got` has the bytes of the one in `want`.
func (c *crossRun) sameFiles(name, want, got string, names []string) {
	for _, n := range names {
		a, errA := os.ReadFile(filepath.Join(want, n))
		b, errB := os.ReadFile(filepath.Join(got, n))
		c.check(name+": "+n, errA == nil && errB == nil && string(a) == string(b),
			fmt.Sprintf("read errors %v %v, %d vs %d bytes", errA, errB, len(a), len(b)))
	}
}

// restoreSection checks the commitlog_archiving.properties a restore wrote: Cassandra's copy
// command, the download directory, and the point to the second, in UTC.
func (c *crossRun) restoreSection(who, conf, download string, end int64) {
	text, err := os.ReadFile(filepath.Join(conf, "commitlog_archiving.properties"))
	point := time.UnixMilli(end).UTC().Format("2006:01:02 15:04:05")
	// Java's Properties escapes ':' in values it writes (Esop's); ours are plain.
	plain := strings.ReplaceAll(string(text), "\\:", ":")
	ok := err == nil && strings.Contains(plain, "restore_directories="+download) &&
		strings.Contains(plain, "restore_point_in_time="+point) && strings.Contains(plain, "restore_command=cp -f %from %to")
	c.check(who+" wrote the restore section", ok, fmt.Sprintf("%v: %s", err, text))
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
