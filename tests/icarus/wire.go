// wire.go owns what goes on the wire: request bodies shaped exactly as the Icarus Go client
// (github.com/instaclustr/instaclustr-icarus-go-client, its last commit fc38163 of 2021-06-10)
// marshals them, and that client's headers and response-decoding rule.
//
// The client module is not served by the Go module proxy this project builds with, so it cannot
// be a dependency. What matters for conformance is its wire behaviour, which is small and fixed:
// each request model is a struct whose JSON tags decide which fields are always sent (even empty:
// `restorationStrategyType`, `sourceDir`, `table` of refresh...) and which are left out when zero
// (`omitempty`). The structs below carry the same tags, so a sidecar sees byte-for-byte the bodies
// an application built on that client sends.
package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type cleanupRequest struct {
	Type     string   `json:"type"`
	Keyspace string   `json:"keyspace"`
	Tables   []string `json:"tables,omitempty"`
	Jobs     int32    `json:"jobs,omitempty"`
}

type flushRequest struct {
	Type     string   `json:"type"`
	Keyspace string   `json:"keyspace"`
	Tables   []string `json:"tables,omitempty"`
}

type scrubRequest struct {
	Type                  string   `json:"type"`
	Keyspace              string   `json:"keyspace"`
	Tables                []string `json:"tables,omitempty"`
	Jobs                  int32    `json:"jobs,omitempty"`
	DisableSnapshot       bool     `json:"disableSnapshot,omitempty"`
	SkipCorrupted         bool     `json:"skipCorrupted,omitempty"`
	NoValidate            bool     `json:"noValidate,omitempty"`
	ReinsertOverflowedTTL bool     `json:"reinsertOverflowedTTL,omitempty"`
}

type upgradeSSTablesRequest struct {
	Type               string   `json:"type"`
	Keyspace           string   `json:"keyspace"`
	Tables             []string `json:"tables,omitempty"`
	Jobs               int32    `json:"jobs,omitempty"`
	IncludeAllSStables bool     `json:"includeAllSStables,omitempty"`
}

type refreshRequest struct {
	Type     string `json:"type"`
	Keyspace string `json:"keyspace"`
	Table    string `json:"table"`
}

type tokenRange struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type rebuildRequest struct {
	Type            string       `json:"type"`
	Keyspace        string       `json:"keyspace,omitempty"`
	SourceDC        string       `json:"sourceDC,omitempty"`
	SpecificTokens  []tokenRange `json:"specificTokens,omitempty"`
	SpecificSources []string     `json:"specificSources,omitempty"`
}

type decommissionRequest struct {
	Type  string `json:"type"`
	Force bool   `json:"force,omitempty"`
}

type typeOnlyRequest struct {
	Type string `json:"type"`
}

type truncateRequest struct {
	Type     string `json:"type"`
	Keyspace string `json:"keyspace"`
	Table    string `json:"table"`
}

type importRequest struct {
	Type               string `json:"type"`
	Keyspace           string `json:"keyspace,omitempty"`
	Table              string `json:"table,omitempty"`
	SourceDir          string `json:"sourceDir"`
	KeepLevel          bool   `json:"keepLevel,omitempty"`
	KeepRepaired       bool   `json:"keepRepaired,omitempty"`
	NoVerify           bool   `json:"noVerify,omitempty"`
	NoVerifyTokens     bool   `json:"noVerifyTokens,omitempty"`
	NoInvalidateCaches bool   `json:"noInvalidateCaches,omitempty"`
	Quick              bool   `json:"quick,omitempty"`
	ExtendedVerify     bool   `json:"extendedVerify,omitempty"`
}

type dataRate struct {
	Value int32  `json:"value,omitempty"`
	Unit  string `json:"unit"`
}

type proxySettings struct {
	UseProxy      string `json:"useProxy,omitempty"`
	ProxyHost     string `json:"proxyHost,omitempty"`
	ProxyPort     string `json:"proxyPort,omitempty"`
	ProxyUsername string `json:"proxyUsername,omitempty"`
	ProxyPassword string `json:"proxyPassword,omitempty"`
	ProxyProtocol string `json:"proxyProtocol,omitempty"`
}

type retrySpec struct {
	Interval    int32  `json:"interval,omitempty"`
	Strategy    string `json:"strategy,omitempty"`
	MaxAttempts int32  `json:"maxAttempts,omitempty"`
	Enabled     bool   `json:"enabled,omitempty"`
}

type backupRequest struct {
	Type                   string         `json:"type"`
	StorageLocation        string         `json:"storageLocation"`
	CassandraDirectory     string         `json:"cassandraDirectory,omitempty"`
	Duration               string         `json:"duration,omitempty"`
	Bandwidth              *dataRate      `json:"bandwidth,omitempty"`
	ConcurrentConnections  int32          `json:"concurrentConnections,omitempty"`
	SnapshotTag            string         `json:"snapshotTag,omitempty"`
	Dc                     string         `json:"dc,omitempty"`
	Entities               string         `json:"entities,omitempty"`
	K8sNamespace           string         `json:"k8sNamespace,omitempty"`
	K8sSecretName          string         `json:"k8sSecretName,omitempty"`
	GlobalRequest          bool           `json:"globalRequest,omitempty"`
	Timeout                int32          `json:"timeout,omitempty"`
	MetadataDirective      string         `json:"metadataDirective,omitempty"`
	Insecure               bool           `json:"insecure,omitempty"`
	CreateMissingBucket    bool           `json:"createMissingBucket,omitempty"`
	SkipBucketVerification bool           `json:"skipBucketVerification,omitempty"`
	UploadClusterTopology  bool           `json:"uploadClusterTopology,omitempty"`
	ProxySettings          *proxySettings `json:"proxySettings,omitempty"`
	Retry                  *retrySpec     `json:"retry,omitempty"`
	SkipRefreshing         bool           `json:"skipRefreshing,omitempty"`
}

type restoreRequest struct {
	Type                      string            `json:"type"`
	StorageLocation           string            `json:"storageLocation"`
	ConcurrentConnections     int32             `json:"concurrentConnections,omitempty"`
	CassandraDirectory        string            `json:"cassandraDirectory,omitempty"`
	CassandraConfigDirectory  string            `json:"cassandraConfigDirectory,omitempty"`
	RestoreSystemKeyspace     bool              `json:"restoreSystemKeyspace,omitempty"`
	SnapshotTag               string            `json:"snapshotTag"`
	Entities                  string            `json:"entities,omitempty"`
	UpdateCassandraYaml       bool              `json:"updateCassandraYaml,omitempty"`
	RestorationStrategyType   string            `json:"restorationStrategyType"`
	RestorationPhase          string            `json:"restorationPhase,omitempty"`
	NoDeleteTruncates         bool              `json:"noDeleteTruncates,omitempty"`
	NoDeleteDownloads         bool              `json:"noDeleteDownloads,omitempty"`
	NoDownloadData            bool              `json:"noDownloadData,omitempty"`
	SchemaVersion             string            `json:"schemaVersion,omitempty"`
	ExactSchemaVersion        bool              `json:"exactSchemaVersion,omitempty"`
	Import                    *importRequest    `json:"import,omitempty"`
	GlobalRequest             bool              `json:"globalRequest,omitempty"`
	K8sNamespace              string            `json:"k8sNamespace,omitempty"`
	K8sSecretName             string            `json:"k8sSecretName,omitempty"`
	Timeout                   int32             `json:"timeout,omitempty"`
	ResolveHostIdFromTopology bool              `json:"resolveHostIdFromTopology,omitempty"`
	Insecure                  bool              `json:"insecure,omitempty"`
	SkipBucketVerification    bool              `json:"skipBucketVerification,omitempty"`
	ProxySettings             *proxySettings    `json:"proxySettings,omitempty"`
	Retry                     *retrySpec        `json:"retry,omitempty"`
	Rename                    map[string]string `json:"rename,omitempty"`
	SinglePhase               bool              `json:"singlePhase,omitempty"`
	Dc                        string            `json:"dc,omitempty"`
}

// answer is one HTTP exchange as the client sees it.
type answer struct {
	status      int
	contentType string
	location    string
	header      http.Header
	raw         []byte
	// decoded is the body as the client decodes it; decodeOK is false when the client would
	// fail (a body that is not JSON, or a Content-Type without application/json: the generated
	// client refuses to decode anything else, "undefined response type").
	decoded  any
	decodeOK bool
}

type wire struct {
	base string
	http *http.Client
}

func newWire(base string) *wire {
	return &wire{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 60 * time.Second}}
}

// do sends one request with the headers the generated client sets: Accept and (with a body)
// Content-Type application/json, and its User-Agent.
func (w *wire) do(method, path string, query url.Values, body any) answer {
	return w.doWith(method, path, query, body, nil)
}

// doWith is do with more request headers (a browser's Origin); the answer keeps all headers.
func (w *wire) doWith(method, path string, query url.Values, body any, extra http.Header) answer {
	var reader io.Reader
	if body != nil {
		var buf []byte
		switch b := body.(type) {
		case rawBody:
			buf = []byte(b)
		default:
			var err error
			if buf, err = json.Marshal(body); err != nil {
				fatalf("marshal %T: %v", body, err)
			}
		}
		reader = bytes.NewReader(buf)
	}
	target := w.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, target, reader)
	if err != nil {
		fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "Swagger-Codegen/1.0.0/go")
	for k, vs := range extra {
		req.Header[k] = vs
	}
	resp, err := w.http.Do(req)
	if err != nil {
		fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{
		status:      resp.StatusCode,
		contentType: resp.Header.Get("Content-Type"),
		location:    resp.Header.Get("Location"),
		raw:         raw,
		header:      resp.Header,
	}
	if strings.Contains(a.contentType, "application/json") && json.Unmarshal(raw, &a.decoded) == nil {
		a.decodeOK = true
	}
	return a
}

// rawBody is sent as it is: the bodies no client model produces (bad JSON, unknown types, the
// operation types the Go client has no model for).
type rawBody string

// withFields is body as the client marshals it plus fields its models lack (sent as they are).
func withFields(body any, extra map[string]any) rawBody {
	buf, err := json.Marshal(body)
	if err != nil {
		fatalf("marshal %T: %v", body, err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf, &m); err != nil {
		fatalf("%v", err)
	}
	for k, v := range extra {
		m[k] = v
	}
	if buf, err = json.Marshal(m); err != nil {
		fatalf("%v", err)
	}
	return rawBody(buf)
}
