// observe.go owns the observations a run records: one value per key, normalized so that two
// sidecars answering the same thing record the same value. What is normalized away is only what
// legitimately differs between two runs or two servers (ids, clock readings, host names, message
// wording, the race between PENDING and RUNNING at submit); everything a client could branch on
// (status codes, field names, JSON types, states, request echoes, error body shapes) is kept.
package main

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

type observation struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type observations struct {
	Side    string        `json:"side"`
	Server  string        `json:"server"`
	Entries []observation `json:"observations"`
	index   map[string]int
	// paths are replaced by placeholders (old, new, old, new...): the node's directory and the
	// scratch directory differ from one checkout to another, and requests echo them.
	paths *strings.Replacer
}

func newObservations(side string) *observations {
	return &observations{Side: side, index: map[string]int{}}
}

// set records key = v (canonical JSON of v); a key recorded twice keeps the last value.
func (o *observations) set(key string, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		fatalf("observation %s: %v", key, err)
	}
	if o.paths != nil {
		buf = []byte(o.paths.Replace(string(buf)))
	}
	if i, ok := o.index[key]; ok {
		o.Entries[i].Value = string(buf)
		return
	}
	o.index[key] = len(o.Entries)
	o.Entries = append(o.Entries, observation{Key: key, Value: string(buf)})
}

func (o *observations) save(path string) {
	buf, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		fatalf("save: %v", err)
	}
	if err := os.WriteFile(path, append(buf, '\n'), 0o644); err != nil {
		fatalf("save %s: %v", path, err)
	}
}

func loadObservations(path string) *observations {
	buf, err := os.ReadFile(path)
	if err != nil {
		fatalf("read %s: %v", path, err)
	}
	o := &observations{index: map[string]int{}}
	if err := json.Unmarshal(buf, o); err != nil {
		fatalf("parse %s: %v", path, err)
	}
	for i, e := range o.Entries {
		o.index[e.Key] = i
	}
	return o
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// jsonKind names a decoded JSON value's type the way a Go client sees it.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// opaqueFields are record fields whose value is the server's own business (wording, host names,
// Java throwables): only their JSON type is kept.
var opaqueFields = map[string]bool{
	"message": true, "source": true, "failureCause": true, "exception": true,
	"version": true, "buildTime": true, "gitCommit": true, "timestamp": true,
}

// normalize returns v with ids, clock readings and opaque fields replaced by placeholders.
func normalize(field string, v any) any {
	if opaqueFields[field] && v != nil {
		return "<" + jsonKind(v) + ">"
	}
	switch x := v.(type) {
	case string:
		switch {
		case uuidRE.MatchString(x):
			return "<uuid>"
		case isTime(x):
			return "<time>"
		}
		// A backup's full name embeds the schema version and a clock reading.
		return uuidInside.ReplaceAllString(x, "<uuid>-<millis>")
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize("", e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(k, e)
		}
		return out
	}
	return v
}

var uuidInside = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}-[0-9]{10,}`)

// record records every field of a JSON object under prefix.field (nested objects flattened, so
// a field missing on one side is its own difference).
func (o *observations) record(prefix string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		o.set(prefix, "<"+jsonKind(v)+">")
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if sub, ok := m[k].(map[string]any); ok && !opaqueFields[k] && len(sub) > 0 {
			o.record(prefix+"."+k, sub)
			continue
		}
		o.set(prefix+"."+k, normalize(k, m[k]))
	}
}

// bodyShape is what a client can tell about a body without reading its wording.
func bodyShape(a answer) string {
	if len(a.raw) == 0 {
		return "empty"
	}
	if !a.decodeOK {
		if strings.Contains(a.contentType, "application/json") {
			return "text labelled application/json"
		}
		return "text"
	}
	if m, ok := a.decoded.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "json object {" + strings.Join(keys, ",") + "}"
	}
	return "json " + jsonKind(a.decoded)
}

// locationForm says how a Location header names the record: absolute URL or path only.
func locationForm(loc, id string) string {
	switch {
	case loc == "":
		return "absent"
	case !strings.HasSuffix(loc, "/operations/"+id):
		return "other: " + loc
	case strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://"):
		return "absolute URL of the record"
	}
	return "path of the record"
}
