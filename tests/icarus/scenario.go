// scenario.go owns the script both sidecars are driven through: every endpoint, every operation
// type of the Icarus API on one real node, the error cases, and the rows read back by CQL after
// the operations that change data. The same script, with the same keyspace, paths and bodies, runs
// against each side in turn, so that every recorded value can be compared key by key.
package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gocql/gocql"
)

const keyspace = "conformance"

type runner struct {
	w       *wire
	obs     *observations
	cql     *gocql.Session
	work    string // scratch directory; the same path on both sides so that request echoes match
	nodeDir string // the node's directory (scripts/cassandra layout: data/ under it)
	patient time.Duration
	started time.Time
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s %5.1fs] %s\n", r.obs.Side, time.Since(r.started).Seconds(), fmt.Sprintf(format, args...))
}

// --- steps -------------------------------------------------------------------------------------

// read records a GET of a read endpoint: status, whether the client decodes it, the body.
func (r *runner) read(name, path string) answer {
	r.logf("%s", name)
	a := r.w.do("GET", path, nil, nil)
	r.obs.set(name+".status", a.status)
	r.obs.set(name+".decodes", a.decodeOK)
	if a.decodeOK {
		if a.status < 300 {
			r.obs.record(name+".body", a.decoded)
		} else {
			r.obs.set(name+".body", bodyShape(a))
		}
	} else {
		r.obs.set(name+".body", bodyShape(a))
	}
	return a
}

// failure records a request expected to be refused: status and body shape.
func (r *runner) failure(name, method, path string, query url.Values, body any) answer {
	a := r.w.do(method, path, query, body)
	r.obs.set(name+".status", a.status)
	r.obs.set(name+".body", bodyShape(a))
	if a.status < 300 && a.decodeOK {
		// Accepted after all: follow it to its end, as a client would.
		if m, ok := a.decoded.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				r.await(name, id)
			}
		}
	}
	return a
}

// op submits one operation and follows it to a terminal state; returns the final record.
func (r *runner) op(name string, body any) map[string]any {
	return r.opWithin(name, body, r.patient)
}

func (r *runner) opWithin(name string, body any, patience time.Duration) map[string]any {
	r.logf("%s", name)
	a := r.w.do("POST", "/operations", nil, body)
	r.obs.set(name+".submit.status", a.status)
	r.obs.set(name+".submit.decodes", a.decodeOK)
	m, _ := a.decoded.(map[string]any)
	if a.status >= 300 || m == nil {
		r.obs.set(name+".submit.body", bodyShape(a))
		return nil
	}
	id, _ := m["id"].(string)
	r.obs.set(name+".submit.location", locationForm(a.location, id))
	// What the record says at submit races with the worker (an operation may already have
	// started, or even ended): only the state's validity is kept of those fields.
	if s, _ := m["state"].(string); terminal[s] || s == "PENDING" || s == "RUNNING" {
		m["state"] = "a valid state"
	}
	for _, racy := range []string{"startTime", "completionTime", "progress", "errors"} {
		delete(m, racy)
	}
	r.obs.record(name+".submit.record", m)
	return r.awaitWithin(name, id, patience)
}

var terminal = map[string]bool{"COMPLETED": true, "FAILED": true, "CANCELLED": true}

func (r *runner) await(name, id string) map[string]any {
	return r.awaitWithin(name, id, r.patient)
}

func (r *runner) awaitWithin(name, id string, patience time.Duration) map[string]any {
	deadline := time.Now().Add(patience)
	for {
		a := r.w.do("GET", "/operations/"+id, nil, nil)
		m, _ := a.decoded.(map[string]any)
		if a.status != 200 || m == nil {
			r.obs.set(name+".get.status", a.status)
			r.obs.set(name+".get.body", bodyShape(a))
			return nil
		}
		if s, _ := m["state"].(string); terminal[s] {
			r.obs.set(name+".get.status", a.status)
			r.obs.record(name+".final", m)
			if s == "FAILED" {
				r.logf("  %s FAILED: %v", name, m["errors"])
			}
			return m
		}
		if time.Now().After(deadline) {
			r.obs.set(name+".final.state", "still "+fmt.Sprint(m["state"])+" after "+patience.String())
			return m
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// listed records what a filtered list returns about the operation ids of this run.
func (r *runner) listed(name string, query url.Values, want string, wantState, wantType string) {
	a := r.w.do("GET", "/operations", query, nil)
	r.obs.set(name+".status", a.status)
	r.obs.set(name+".decodes", a.decodeOK)
	items, ok := a.decoded.([]any)
	if !ok {
		r.obs.set(name+".body", bodyShape(a))
		return
	}
	contains, allState, allType := false, true, true
	for _, it := range items {
		m, _ := it.(map[string]any)
		if m["id"] == want {
			contains = true
		}
		if wantState != "" && m["state"] != wantState {
			allState = false
		}
		if wantType != "" && m["type"] != wantType {
			allType = false
		}
	}
	r.obs.set(name+".contains", contains)
	if wantState != "" {
		r.obs.set(name+".allInState", allState)
	}
	if wantType != "" {
		r.obs.set(name+".allOfType", allType)
	}
}

func (r *runner) exec(cql string) {
	if err := r.cql.Query(cql).Exec(); err != nil {
		fatalf("CQL %q: %v", cql, err)
	}
}

func (r *runner) rows(name, table string) {
	var n int
	if err := r.cql.Query("SELECT count(*) FROM " + keyspace + "." + table).Scan(&n); err != nil {
		fatalf("count %s: %v", table, err)
	}
	r.obs.set(name+".rows."+table, n)
}

// --- the script ---------------------------------------------------------------------------------

func (r *runner) run() {
	r.started = time.Now()
	for _, d := range []string{"import", "backups", "restore-source"} {
		os.RemoveAll(filepath.Join(r.work, d))
	}

	// Read endpoints.
	v := r.read("read.version", "/version")
	if m, ok := v.decoded.(map[string]any); ok {
		r.obs.Server = fmt.Sprint(m["version"])
	}
	r.read("read.version-sidecar", "/version/sidecar")
	r.read("read.version-cassandra", "/version/cassandra")
	r.read("read.version-schema", "/version/schema")
	r.read("read.status", "/status")
	r.read("read.topology", "/topology")
	r.read("read.topology-dc1", "/topology/dc1")
	r.read("read.topology-unknown-dc", "/topology/nodc")
	r.read("read.config", "/config")
	// What a browser application sees: Icarus allows any origin by default.
	cors := r.w.doWith("GET", "/version", nil, nil, http.Header{"Origin": {"http://app.example"}})
	r.obs.set("cors.allow-origin", cors.header.Get("Access-Control-Allow-Origin"))

	// Schema and rows.
	r.logf("schema and rows")
	r.exec("DROP KEYSPACE IF EXISTS " + keyspace)
	r.exec("CREATE KEYSPACE " + keyspace + " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	for _, t := range []string{"t", "t2"} {
		r.exec("CREATE TABLE " + keyspace + "." + t + " (id int PRIMARY KEY, v text)")
	}
	for i := 0; i < 100; i++ {
		r.exec(fmt.Sprintf("INSERT INTO %s.t (id, v) VALUES (%d, 'row %d')", keyspace, i, i))
		if i < 50 {
			r.exec(fmt.Sprintf("INSERT INTO %s.t2 (id, v) VALUES (%d, 'row %d')", keyspace, i, i))
		}
	}

	// Requests refused or failing.
	r.logf("error cases")
	r.failure("error.unknown-type", "POST", "/operations", nil, rawBody(`{"type":"nope"}`))
	r.failure("error.malformed-json", "POST", "/operations", nil, rawBody(`{bad`))
	r.failure("error.empty-body", "POST", "/operations", nil, rawBody(``))
	r.failure("error.no-type", "POST", "/operations", nil, rawBody(`{"keyspace":"`+keyspace+`"}`))
	r.failure("error.get-unknown-id", "GET", "/operations/00000000-0000-4000-8000-000000000000", nil, nil)
	r.failure("error.get-not-a-uuid", "GET", "/operations/not-a-uuid", nil, nil)
	r.failure("error.delete-unknown-id", "DELETE", "/operations/00000000-0000-4000-8000-000000000000", nil, nil)
	r.failure("error.put-operations", "PUT", "/operations", nil, rawBody(`{}`))
	r.failure("error.unknown-path", "GET", "/no-such-endpoint", nil, nil)
	// What the Go client sends for a cleanup whose keyspace was left empty: "keyspace":"".
	r.op("error.cleanup-empty-keyspace", cleanupRequest{Type: "cleanup"})
	r.op("error.flush-unknown-keyspace", flushRequest{Type: "flush", Keyspace: "no_such_keyspace"})
	r.op("error.truncate-unknown-table", truncateRequest{Type: "truncate", Keyspace: keyspace, Table: "nope"})
	// In the Icarus spec, not in Icarus 3.0.0; Daedalus runs it only with --restart-command.
	r.op("error.restart", typeOnlyRequest{Type: "restart"})

	// Operations on the table's keyspace.
	flush := r.op("flush", flushRequest{Type: "flush", Keyspace: keyspace, Tables: []string{"t", "t2"}})
	flushID, _ := flush["id"].(string)
	r.failure("error.delete-finished", "DELETE", "/operations/"+flushID, nil, nil)
	r.listed("list.all", nil, flushID, "", "")
	r.listed("list.type-flush", url.Values{"type": {"flush"}}, flushID, "", "flush")
	r.listed("list.type-flush-and-cleanup", url.Values{"type": {"flush", "cleanup"}}, flushID, "", "")
	r.listed("list.state-completed", url.Values{"state": {"COMPLETED"}}, flushID, "COMPLETED", "")
	r.listed("list.state-failed", url.Values{"state": {"FAILED"}}, flushID, "FAILED", "")
	r.listed("list.state-lowercase", url.Values{"state": {"completed"}}, flushID, "COMPLETED", "")
	r.listed("list.state-and-type", url.Values{"state": {"COMPLETED"}, "type": {"flush"}}, flushID, "COMPLETED", "flush")
	// The Go client's filter is named status (the spec's name).
	r.listed("list.status-failed", url.Values{"status": {"FAILED"}}, flushID, "FAILED", "")
	r.listed("list.state-unknown", url.Values{"state": {"BOGUS"}}, flushID, "", "")
	r.listed("list.type-unknown", url.Values{"type": {"nope"}}, flushID, "", "")

	r.op("cleanup", cleanupRequest{Type: "cleanup", Keyspace: keyspace})
	r.op("scrub", scrubRequest{Type: "scrub", Keyspace: keyspace, Tables: []string{"t"}})
	r.op("upgradesstables", upgradeSSTablesRequest{Type: "upgradesstables", Keyspace: keyspace, IncludeAllSStables: true})
	r.op("refresh", refreshRequest{Type: "refresh", Keyspace: keyspace, Table: "t"})
	r.op("rebuild", rebuildRequest{Type: "rebuild"})
	r.rows("after-maintenance", "t")

	// import: the table's own SSTables, copied out of its data directory, imported again (rows
	// unchanged, since every row is already there).
	src := filepath.Join(r.work, "import", keyspace, "t")
	r.copyTableFiles("t", src)
	// The Go client has no tablePath, which Icarus (Esop) imports from: without it every import
	// fails there. The client's body plus that one field is what works against Icarus.
	r.op("import-go-client-body", importRequest{Type: "import", Keyspace: keyspace, Table: "t", SourceDir: src})
	r.op("import", withFields(importRequest{Type: "import", Keyspace: keyspace, Table: "t", SourceDir: src},
		map[string]any{"tablePath": src}))
	r.rows("import", "t")

	r.op("truncate", truncateRequest{Type: "truncate", Keyspace: keyspace, Table: "t2"})
	r.rows("truncate", "t2")

	// backup, list, restore (IMPORT, phase by phase), remove-backup on file://.
	location := "file://" + filepath.Join(r.work, "backups", "bucket", "daedalus-test", "dc1", "node1")
	// Likewise the client has no dataDirs, without which Icarus fails every backup and restore.
	dataDirs := map[string]any{"dataDirs": []string{filepath.Join(r.nodeDir, "data")}}
	backup := backupRequest{Type: "backup", StorageLocation: location, SnapshotTag: "conformance",
		Entities: keyspace, CreateMissingBucket: true, CassandraDirectory: r.nodeDir}
	r.op("backup-go-client-body", backup)
	os.RemoveAll(filepath.Join(r.work, "backups"))
	r.op("backup", withFields(backup, dataDirs))
	r.op("list", rawBody(`{"type":"list","storageLocation":"`+location+`"}`))
	r.exec("TRUNCATE " + keyspace + ".t")
	r.rows("before-restore", "t")
	for _, phase := range []string{"INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"} {
		r.op("restore-"+strings.ToLower(phase), withFields(restoreRequest{Type: "restore",
			StorageLocation: location, SnapshotTag: "conformance", Entities: keyspace + ".t",
			RestorationStrategyType: "IMPORT", RestorationPhase: phase, CassandraDirectory: r.nodeDir,
			Import: &importRequest{Type: "import", SourceDir: filepath.Join(r.work, "restore-source")}},
			dataDirs))
	}
	r.rows("restore", "t")
	// Icarus 3.0.0 removes the backup but leaves this record RUNNING (minutes, at least): a
	// shorter wait keeps the run short.
	r.opWithin("remove-backup", rawBody(`{"type":"remove-backup","storageLocation":"`+location+`","backupName":"`+r.backupName(location)+`"}`), 30*time.Second)
	r.obs.set("remove-backup.manifests-left", r.manifestCount(location))
	// Icarus serves Esop's commit-log backup as an operation too (not in its spec).
	r.op("commitlog-backup", rawBody(`{"type":"commitlog-backup","storageLocation":"`+location+`","cassandraDirectory":"`+r.nodeDir+`"}`))

	// Node-wide operations last: decommission of the only node fails; drain ends the node's service.
	r.op("decommission", decommissionRequest{Type: "decommission"})
	r.op("drain", typeOnlyRequest{Type: "drain"})
	r.read("read.status-after-drain", "/status")
	r.logf("done")
}

// copyTableFiles copies the live SSTable files of table (after a flush) to dst. The directory is
// named after the table's id: an earlier run's dropped table leaves its own beside it.
func (r *runner) copyTableFiles(table, dst string) {
	var id gocql.UUID
	if err := r.cql.Query("SELECT id FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?",
		keyspace, table).Scan(&id); err != nil {
		fatalf("id of %s.%s: %v", keyspace, table, err)
	}
	dirs := []string{filepath.Join(r.nodeDir, "data", keyspace, table+"-"+strings.ReplaceAll(id.String(), "-", ""))}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		fatalf("%v", err)
	}
	entries, err := os.ReadDir(dirs[0])
	if err != nil {
		fatalf("%v", err)
	}
	copied := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		buf, err := os.ReadFile(filepath.Join(dirs[0], e.Name()))
		if err != nil {
			fatalf("%v", err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), buf, 0o644); err != nil {
			fatalf("%v", err)
		}
		copied++
	}
	if copied == 0 {
		fatalf("no SSTable files in %s", dirs[0])
	}
}

func manifestDir(location string) string {
	return filepath.Join(strings.TrimPrefix(location, "file://"), "manifests")
}

// backupName is the newest manifest's name without .json (what remove-backup's backupName wants).
func (r *runner) backupName(location string) string {
	names, _ := filepath.Glob(filepath.Join(manifestDir(location), "*.json"))
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.TrimSuffix(filepath.Base(names[len(names)-1]), ".json")
}

func (r *runner) manifestCount(location string) int {
	names, _ := filepath.Glob(filepath.Join(manifestDir(location), "*.json"))
	return len(names)
}
