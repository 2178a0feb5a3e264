use super::*;
use std::collections::BTreeMap;

fn backup(json: &str) -> BackupRequest {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn restore(json: &str) -> RestoreRequest {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn remove(json: &str) -> RemoveBackupRequest {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn field_of<T>(result: Result<T, RequestError>) -> String {
    match result {
        Ok(_) => panic!("expected a validation error"),
        Err(e) => e.field,
    }
}

#[test]
fn contract_backup_example_is_accepted_unchanged() {
    let request = backup(
        r#"{"type": "backup", "storageLocation": "gcp://bucket/cluster/dc/node", "snapshotTag": "hello", "entities": "abc.def"}"#,
    );
    request.validate().unwrap();
    assert_eq!(
        request.entities().unwrap(),
        Entities::Tables(vec![("abc".into(), "def".into())])
    );
    assert_eq!(request.common.connections(), 10);
    assert_eq!(request.timeout_hours(), 5);
    assert!(!request.uploads_topology());
}

#[test]
fn every_backup_field_parses_with_esop_shapes() {
    let request = backup(
        r#"{
        "type": "backup", "storageLocation": "s3://b/c/d/n", "cassandraDirectory": "/var/lib/cassandra",
        "duration": {"value": 2, "unit": "HOURS"}, "bandwidth": {"value": 10, "unit": "MBPS"},
        "concurrentConnections": 4, "snapshotTag": "snap", "dc": "dc1", "entities": "ks1,ks2",
        "k8sNamespace": "ns", "k8sSecretName": "secret", "globalRequest": "true", "timeout": 7,
        "metadataDirective": "COPY", "insecure": true, "createMissingBucket": true,
        "skipBucketVerification": true, "uploadClusterTopology": false,
        "proxySettings": {"useProxy": "true", "proxyHost": "p", "proxyPort": "3128", "proxyProtocol": "HTTP"},
        "retry": {"interval": 0, "strategy": "exponential", "maxAttempts": 5, "enabled": true},
        "skipRefreshing": true, "dataDirs": ["/data1", "/data2"], "schemaVersion": null, "kmsKeyId": "k",
        "somethingNew": {"ignored": true}
    }"#,
    );
    request.validate().unwrap();
    assert_eq!(request.duration.unwrap().as_secs(), 7200);
    assert_eq!(request.bandwidth.unwrap().bytes_per_second(), 10_000_000);
    assert_eq!(request.common.connections(), 4);
    assert!(request.global_request && request.uploads_topology());
    let retry = request.common.retry();
    assert_eq!(
        (retry.interval_seconds(), retry.attempts(), retry.strategy()),
        (10, 5, RetryStrategy::Exponential)
    );
    assert_eq!(
        request.common.proxy_settings.as_ref().unwrap().proxy_port,
        Some(3128)
    );
    assert_eq!(
        request.entities().unwrap(),
        Entities::Keyspaces(vec!["ks1".into(), "ks2".into()])
    );
    assert_eq!(request.snapshot_tag_or_default(5), "snap");
    assert_eq!(
        BackupRequest::default().snapshot_tag_or_default(1700000000),
        "autosnap-1700000000"
    );
}

#[test]
fn contract_string_forms_of_duration_and_bandwidth() {
    let request =
        backup(r#"{"storageLocation": "s3://b", "duration": "1 hour", "bandwidth": "5 KBPS"}"#);
    assert_eq!(request.duration.unwrap().as_secs(), 3600);
    assert_eq!(request.bandwidth.unwrap().bytes_per_second(), 5000);
    assert_eq!(
        backup(r#"{"duration": "30 minutes"}"#)
            .duration
            .unwrap()
            .as_secs(),
        1800
    );
    assert_eq!(
        backup(r#"{"duration": "2d"}"#).duration.unwrap().as_secs(),
        172_800
    );
    assert!(serde_json::from_str::<BackupRequest>(r#"{"duration": "1 fortnight"}"#).is_err());
    assert!(serde_json::from_str::<BackupRequest>(
        r#"{"bandwidth": {"value": 1, "unit": "TBPS"}}"#
    )
    .is_err());
    let huge = TimeSpan {
        value: i64::MAX,
        unit: TimeUnit::Days,
    };
    assert_eq!(huge.as_millis(), u64::MAX);
}

#[test]
fn backup_validation_names_the_field() {
    assert_eq!(field_of(backup("{}").validate()), "storageLocation");
    assert_eq!(
        field_of(backup(r#"{"storageLocation": "ftp://b/c/d/n"}"#).validate()),
        "storageLocation"
    );
    assert_eq!(
        field_of(backup(r#"{"storageLocation": "s3://b/c/d"}"#).validate()),
        "storageLocation"
    );
    let mixed = backup(r#"{"storageLocation": "s3://b", "entities": "ks1,ks2.t2"}"#)
        .validate()
        .unwrap_err();
    assert_eq!(mixed.field, "entities");
    assert!(mixed.reason.contains("mixes"), "{mixed}");
    assert_eq!(
        field_of(backup(r#"{"storageLocation": "s3://b", "entities": "a.b.c"}"#).validate()),
        "entities"
    );
    assert_eq!(
        field_of(backup(r#"{"storageLocation": "s3://b", "snapshotTag": "a/b"}"#).validate()),
        "snapshotTag"
    );
    assert_eq!(
        field_of(backup(r#"{"storageLocation": "s3://b", "snapshotTag": ""}"#).validate()),
        "snapshotTag"
    );
    assert_eq!(
        field_of(backup(r#"{"storageLocation": "s3://b", "dataDirs": ["rel"]}"#).validate()),
        "dataDirs"
    );
    assert_eq!(
        field_of(backup(r#"{"storageLocation": "s3://b", "concurrentConnections": 0}"#).validate()),
        "concurrentConnections"
    );
    assert_eq!(
        field_of(backup(r#"{"storageLocation": "s3://b", "timeout": 0}"#).validate()),
        "timeout"
    );
    assert_eq!(
        field_of(
            backup(r#"{"storageLocation": "s3://b", "duration": {"value": 0, "unit": "HOURS"}}"#)
                .validate()
        ),
        "duration"
    );
    assert_eq!(
        field_of(backup(r#"{"storageLocation": "s3://b", "bandwidth": "0 MBPS"}"#).validate()),
        "bandwidth"
    );
    assert_eq!(
        field_of(
            backup(r#"{"storageLocation": "s3://b", "proxySettings": {"proxyProtocol": "SOCKS"}}"#)
                .validate()
        ),
        "proxySettings.proxyProtocol"
    );
}

#[test]
fn entities_forms() {
    assert_eq!(Entities::parse(None).unwrap(), Entities::All);
    assert_eq!(Entities::parse(Some(" ")).unwrap(), Entities::All);
    assert_eq!(
        Entities::parse(Some("ks1, ks1 ,")).unwrap(),
        Entities::Keyspaces(vec!["ks1".into()])
    );
    let tables = Entities::parse(Some("ks1.t1,ks2.t2")).unwrap();
    assert!(tables.includes("ks2", "t2") && !tables.includes("ks2", "t1"));
    assert!(Entities::Keyspaces(vec!["a".into()]).includes("a", "anything"));
}

#[test]
fn list_request() {
    let request: ListRequest = serde_json::from_str(
        r#"{"type": "list", "storageLocation": "file:///tmp/a/b/c/d", "lastN": "3", "humanUnits": true, "response": {"x": 1}}"#,
    )
    .unwrap();
    request.validate().unwrap();
    assert_eq!(request.last_n, Some(3));
    let bad: ListRequest =
        serde_json::from_str(r#"{"storageLocation": "s3://b", "lastN": -1}"#).unwrap();
    assert_eq!(field_of(bad.validate()), "lastN");
}

#[test]
fn removal_needs_exactly_one_selector() {
    let by_name =
        remove(r#"{"storageLocation": "s3://b/c/d/n", "backupName": "snap-1.json", "dry": true}"#);
    assert_eq!(
        by_name.validate().unwrap(),
        RemovalSelector::Name("snap-1".into())
    );
    let older =
        remove(r#"{"storageLocation": "s3://b/c/d/n", "olderThan": {"value": 2, "unit": "DAYS"}}"#);
    assert_eq!(
        older.validate().unwrap(),
        RemovalSelector::OlderThanMillis(172_800_000)
    );
    let oldest = remove(r#"{"storageLocation": "s3://b/c/d/n", "removeOldest": true}"#);
    assert_eq!(oldest.validate().unwrap(), RemovalSelector::Oldest);
    let none =
        remove(r#"{"storageLocation": "s3://b/c/d/n", "olderThan": {"value": 0, "unit": "DAYS"}}"#)
            .validate()
            .unwrap_err();
    assert!(none.reason.contains("none was given"), "{none}");
    let two =
        remove(r#"{"storageLocation": "s3://b/c/d/n", "backupName": "x", "removeOldest": true}"#)
            .validate()
            .unwrap_err();
    assert_eq!(two.field, "removeOldest");
    assert!(two.reason.contains("more than one"), "{two}");
    let three =
        remove(r#"{"storageLocation": "s3://b/c/d/n", "backupName": "x", "olderThan": "1 hour"}"#)
            .validate();
    assert_eq!(field_of(three), "backupName");
    assert_eq!(
        field_of(remove(r#"{"backupName": "x"}"#).validate()),
        "storageLocation"
    );
}

#[test]
fn contract_restore_example_is_accepted_unchanged() {
    let request = restore(
        r#"{
        "type": "restore", "cassandraDirectory": "/var/lib/cassandra", "cassandraConfigDirectory": "/var/lib/cassandra",
        "storageLocation": "gcp://bucket/cluster/dc/node", "snapshotTag": "hello", "entities": "abc.def",
        "restorationStrategyType": "hardlinks", "restorationPhase": "download",
        "import": {"type": "import", "sourceDir": "/var/lib/cassandra/data/downloadedsstables"},
        "globalRequest": "true"
    }"#,
    );
    assert_eq!(request.strategy(), RestorationStrategy::Hardlinks);
    assert_eq!(request.restoration_phase, Some(RestorationPhase::Download));
    assert!(request.global_request);
    // The contract's own example downloads into the data directory, which Esop refuses too.
    let err = request.validate().unwrap_err();
    assert_eq!(err.field, "import.sourceDir");
}

fn valid_import() -> RestoreRequest {
    restore(
        r#"{"storageLocation": "s3://b/c/d/n", "snapshotTag": "snap", "restorationStrategyType": "IMPORT",
            "restorationPhase": "INIT", "import": {"type": "import", "sourceDir": "/tmp/downloads", "quick": true}}"#,
    )
}

#[test]
fn restore_rules_as_esop() {
    let request = valid_import();
    request.validate().unwrap();
    let flags = request.import.as_ref().unwrap().import_flags();
    assert!(
        !flags.verify
            && !flags.verify_tokens
            && !flags.invalidate_caches
            && flags.reset_level
            && flags.copy_data
    );

    let with = |edit: &dyn Fn(&mut RestoreRequest)| {
        let mut r = valid_import();
        edit(&mut r);
        r.validate()
    };
    assert_eq!(field_of(with(&|r| r.snapshot_tag = None)), "snapshotTag");
    assert_eq!(
        field_of(with(&|r| r.restoration_phase = None)),
        "restorationPhase"
    );
    assert_eq!(field_of(with(&|r| r.import = None)), "import");
    assert_eq!(
        field_of(with(
            &|r| r.import.as_mut().unwrap().kind = Some("nope".into())
        )),
        "import.type"
    );
    assert_eq!(
        field_of(with(
            &|r| r.import.as_mut().unwrap().source_dir = Some("/var/lib/cassandra".into())
        )),
        "import.sourceDir"
    );
    assert_eq!(
        field_of(with(&|r| r.import.as_mut().unwrap().source_dir =
            Some("/var/lib/cassandra/data/x/../y".into()))),
        "import.sourceDir"
    );
    with(&|r| r.import.as_mut().unwrap().source_dir = Some("/var/lib/cassandra/downloads".into()))
        .unwrap();
    assert_eq!(
        field_of(with(&|r| r.restore_system_keyspace = true)),
        "restoreSystemKeyspace"
    );
    assert_eq!(
        field_of(with(&|r| r.schema_version = Some("nope".into()))),
        "schemaVersion"
    );
    with(&|r| r.global_request = true).unwrap();
    let global_download = |r: &mut RestoreRequest| {
        r.global_request = true;
        r.restoration_phase = Some(RestorationPhase::Download);
    };
    assert_eq!(field_of(with(&global_download)), "restorationPhase");
    with(&|r| {
        r.global_request = true;
        r.restoration_phase = Some(RestorationPhase::Download);
        r.single_phase = true;
    })
    .unwrap();
    assert_eq!(
        field_of(with(&|r| r.entities = Some("ks,ks.t".into()))),
        "entities"
    );

    let in_place = |json: &str| {
        restore(&format!(
            r#"{{"storageLocation": "file:///tmp/a/b/c/d", "snapshotTag": "s"{json}}}"#
        ))
    };
    in_place("").validate().unwrap();
    assert_eq!(in_place("").strategy(), RestorationStrategy::InPlace);
    in_place(r#", "restoreSystemKeyspace": true, "restorationStrategyType": "in_place""#)
        .validate()
        .unwrap();
    assert_eq!(
        field_of(in_place(r#", "restorationPhase": "DOWNLOAD""#).validate()),
        "restorationPhase"
    );
    assert_eq!(
        field_of(in_place(r#", "rename": {"a.b": "a.c"}"#).validate()),
        "rename"
    );
    assert!(
        serde_json::from_str::<RestoreRequest>(r#"{"restorationStrategyType": "COPY"}"#).is_err()
    );
    assert!(serde_json::from_str::<RestoreRequest>(r#"{"restorationPhase": "LATER"}"#).is_err());
}

#[test]
fn rename_rules() {
    let with_rename = |rename: &str| {
        let mut r = valid_import();
        r.rename = Some(serde_json::from_str(rename).unwrap());
        r.validate()
    };
    with_rename(r#"{"ks.t1": "ks.t2", "ks.t3": "ks2.t3"}"#).unwrap();
    assert_eq!(field_of(with_rename(r#"{"ks": "ks.t2"}"#)), "rename");
    assert_eq!(field_of(with_rename(r#"{"ks.t1": "ks.t1"}"#)), "rename");
    assert_eq!(
        field_of(with_rename(r#"{"ks.a": "ks.t", "ks.b": "ks.t"}"#)),
        "rename"
    );
    assert_eq!(
        field_of(with_rename(r#"{"ks.a": "ks.b", "ks.b": "ks.c"}"#)),
        "rename"
    );
    let mut r = valid_import();
    r.rename = Some(BTreeMap::from([(
        "ks.t1".to_string(),
        "ks2.t2".to_string(),
    )]));
    assert_eq!(
        r.renames(),
        vec![(("ks".into(), "t1".into()), ("ks2".into(), "t2".into()))]
    );
}

#[test]
fn store_options_and_proxy() {
    let request = backup(
        r#"{"storageLocation": "s3://b", "insecure": true, "skipBucketVerification": true,
            "proxySettings": {"useProxy": true, "proxyHost": "proxy", "proxyPort": 3128, "proxyProtocol": "HTTP",
                              "proxyUsername": "u", "proxyPassword": "p"}}"#,
    );
    let options = request.common.store_options().unwrap();
    assert!(options.insecure && options.skip_bucket_verification);
    assert_eq!(options.proxy_url.as_deref(), Some("http://u:p@proxy:3128"));
    let shown = format!("{:?}", request_with_password("p@ss:w/rd"));
    assert!(!shown.contains("p@ss"), "Debug shows no password: {shown}");
    assert_eq!(
        request_with_password("p@ss:w/rd")
            .common
            .store_options()
            .unwrap()
            .proxy_url
            .as_deref(),
        Some("http://u:p%40ss%3Aw%2Frd@proxy:3128"),
        "a password with URL characters stays one password"
    );
    let unused =
        backup(r#"{"storageLocation": "s3://b", "proxySettings": {"proxyHost": "proxy"}}"#);
    assert_eq!(unused.common.store_options().unwrap().proxy_url, None);
    let no_host = backup(r#"{"storageLocation": "s3://b", "proxySettings": {"useProxy": true}}"#);
    assert_eq!(field_of(no_host.validate()), "proxySettings.proxyHost");
}

#[test]
fn kubernetes_secret_directories() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("my-secret")).unwrap();
    std::fs::create_dir(
        root.path()
            .join("cassandra-backup-restore-secret-cluster-prod"),
    )
    .unwrap();
    let named = backup(r#"{"storageLocation": "s3://b", "k8sSecretName": "my-secret"}"#);
    assert_eq!(
        named
            .common
            .credentials_dir(Some(root.path()), "prod")
            .unwrap(),
        Some(root.path().join("my-secret"))
    );
    let err = named.common.credentials_dir(None, "prod").unwrap_err();
    assert_eq!(err.field, "k8sSecretName");
    assert!(err.reason.contains("mount the secret"), "{err}");
    let missing = backup(r#"{"storageLocation": "s3://b", "k8sSecretName": "other"}"#);
    assert_eq!(
        field_of(missing.common.credentials_dir(Some(root.path()), "prod")),
        "k8sSecretName"
    );
    let escape = backup(r#"{"storageLocation": "s3://b", "k8sSecretName": "../etc"}"#);
    assert_eq!(
        field_of(escape.common.credentials_dir(Some(root.path()), "prod")),
        "k8sSecretName"
    );
    let default = backup(r#"{"storageLocation": "s3://b"}"#);
    assert_eq!(
        default
            .common
            .credentials_dir(Some(root.path()), "prod")
            .unwrap(),
        Some(
            root.path()
                .join("cassandra-backup-restore-secret-cluster-prod")
        )
    );
    assert_eq!(
        default
            .common
            .credentials_dir(Some(root.path()), "dev")
            .unwrap(),
        None
    );
    assert_eq!(default.common.credentials_dir(None, "dev").unwrap(), None);
}

#[test]
fn parse_errors_name_the_field() {
    let cases: [(&str, &str); 7] = [
        (r#"{"insecure": 5}"#, "insecure"),
        (r#"{"createMissingBucket": "maybe"}"#, "createMissingBucket"),
        (r#"{"retry": {"strategy": "x"}}"#, "retry.strategy"),
        (r#"{"duration": "1 fortnight"}"#, "duration"),
        (r#"{"concurrentConnections": 1.5}"#, "concurrentConnections"),
        (r#"[1]"#, "body"),
        (r#"{"storageLocation": "#, "body"),
    ];
    for (json, field) in cases {
        let err = from_json::<BackupRequest>(json.as_bytes()).unwrap_err();
        assert_eq!(err.field, field, "{json}: {err}");
    }
    let err = from_json::<RestoreRequest>(br#"{"import": {"quick": "sometimes"}}"#).unwrap_err();
    assert_eq!(err.field, "import.quick");
    assert!(err.reason.contains("true or false"), "{err}");
    let ok: RemoveBackupRequest =
        from_json(br#"{"storageLocation": "s3://b/c/d/n", "dry": "true", "removeOldest": true}"#)
            .unwrap();
    assert!(ok.dry && ok.remove_oldest);
}

fn request_with_password(password: &str) -> BackupRequest {
    let body = serde_json::json!({"storageLocation": "s3://b",
        "proxySettings": {"useProxy": true, "proxyHost": "proxy", "proxyPort": 3128,
                          "proxyProtocol": "HTTP", "proxyUsername": "u", "proxyPassword": password}});
    backup(&body.to_string())
}
