//! The process `bench/backup/run.sh` times and measures: uploads a directory tree to an object
//! store, downloads it back with verification, or hashes it, through `backup::transfer`, and
//! prints one line `bytes=<n> seconds=<s>`.
//!
//! ```text
//! transfer_bench upload   <source dir> <store> <list out> [concurrency]
//! transfer_bench download <store> <list in> <destination dir> [concurrency]
//! transfer_bench hash     <source dir>
//! ```
//! `<store>` is a directory (a `file://` store) or `s3://bucket[/prefix]` (credentials, region
//! and endpoint from the `AWS_*` environment variables, the store built as the backup operation
//! builds it). The list holds `key sha256 size` lines.
//! `TRANSFER_PART_MIB` and `TRANSFER_BUDGET_MIB` override the part size and memory budget.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use backup::location::StorageLocation;
use backup::store::{Storage, StoreOptions};
use backup::transfer::{download, hash_file, upload, DownloadFile, TransferOptions, UploadFile};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectKey;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;
use tokio_util::sync::CancellationToken;

type Failure = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> Result<&str, Failure> {
        args.get(i).map(String::as_str).ok_or_else(|| {
            format!("missing argument {i}; see the usage at the top of transfer_bench.rs").into()
        })
    };
    let concurrency = |i: usize| -> Result<usize, Failure> {
        Ok(args
            .get(i)
            .map(|c| c.parse())
            .transpose()?
            .unwrap_or(TransferOptions::default().concurrency))
    };
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let bytes: u64 = match arg(0)? {
        "upload" => {
            let source = PathBuf::from(arg(1)?);
            let store = open_store(arg(2)?).await?;
            let mut files = Vec::new();
            walk(&source, &mut files)?;
            let list = files
                .iter()
                .map(|path| {
                    let relative = path.strip_prefix(&source).expect("walked under source");
                    Ok(UploadFile {
                        path: path.clone(),
                        key: ObjectKey::from(relative.to_str().ok_or("non-UTF-8 path")?),
                        size: std::fs::metadata(path)?.len(),
                    })
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let options = options(concurrency(4)?)?;
            let uploaded = upload(store, list, &options, &cancel).await?;
            let lines: String = uploaded
                .iter()
                .map(|u| format!("{} {} {}\n", u.key, u.sha256, u.size))
                .collect();
            std::fs::write(arg(3)?, lines)?;
            uploaded.iter().map(|u| u.size).sum()
        }
        "download" => {
            let store = open_store(arg(1)?).await?;
            let destination = PathBuf::from(arg(3)?);
            let list = std::fs::read_to_string(arg(2)?)?
                .lines()
                .map(|line| {
                    let mut fields = line.split(' ');
                    let (Some(key), Some(sha256), Some(size)) =
                        (fields.next(), fields.next(), fields.next())
                    else {
                        return Err(format!("bad list line: {line}").into());
                    };
                    Ok(DownloadFile {
                        key: ObjectKey::from(key),
                        destination: destination.join(key),
                        sha256: Some(sha256.to_string()),
                        size: size.parse()?,
                    })
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let options = options(concurrency(4)?)?;
            download(store, list, &options, &cancel)
                .await?
                .iter()
                .map(|d| d.size)
                .sum()
        }
        "hash" => {
            let mut files = Vec::new();
            walk(Path::new(arg(1)?), &mut files)?;
            let mut total = 0;
            for file in files {
                total += hash_file(&file).await?.size;
            }
            total
        }
        other => return Err(format!("unknown mode {other}: upload, download or hash").into()),
    };
    println!(
        "bytes={bytes} seconds={:.3}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn options(concurrency: usize) -> Result<TransferOptions, Failure> {
    let mib = |name: &str| -> Result<Option<usize>, Failure> {
        Ok(std::env::var(name)
            .ok()
            .map(|v| v.parse::<usize>())
            .transpose()?
            .map(|v| v << 20))
    };
    let defaults = TransferOptions::default();
    Ok(TransferOptions {
        concurrency,
        part_size: mib("TRANSFER_PART_MIB")?.unwrap_or(defaults.part_size),
        memory_budget: mib("TRANSFER_BUDGET_MIB")?.unwrap_or(defaults.memory_budget),
        ..defaults
    })
}

async fn open_store(location: &str) -> Result<Arc<dyn ObjectStore>, Failure> {
    if let Some(rest) = location.strip_prefix("s3://") {
        // The store the backup operation builds, so the figures are the operation's.
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let options = StoreOptions {
            skip_bucket_verification: true,
            ..StoreOptions::default()
        };
        let storage = Storage::open(
            &StorageLocation::parse(&format!("s3://{bucket}"))?,
            &options,
        )
        .await?;
        let s3 = storage.store().clone();
        return Ok(if prefix.is_empty() {
            s3
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        });
    }
    std::fs::create_dir_all(location)?;
    Ok(Arc::new(LocalFileSystem::new_with_prefix(location)?))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}
