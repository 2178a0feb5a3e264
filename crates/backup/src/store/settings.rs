//! Where a store's settings come from: the provider's environment variables, a mounted
//! secret directory, the caller's settings (later ones win). Reads files and the environment;
//! builds nothing.

use std::collections::BTreeMap;
use std::path::Path as FsPath;

use super::{StoreError, StoreOptions};
use crate::location::Provider;

/// Settings for the location's provider: environment, then the credentials directory, then
/// the caller's settings.
pub(super) fn collect_settings(
    provider: Provider,
    options: &StoreOptions,
) -> Result<BTreeMap<String, String>, StoreError> {
    let prefixes: &[&str] = match provider {
        Provider::S3 => &["AWS_"],
        Provider::Gcp => &["GOOGLE_"],
        Provider::Azure => &["AZURE_", "AZURITE_"],
        Provider::File => &[],
    };
    let mut settings = BTreeMap::new();
    if options.read_environment {
        for (key, value) in std::env::vars() {
            if prefixes.iter().any(|p| key.starts_with(p)) {
                settings.insert(key, value);
            }
        }
    }
    if let Some(dir) = &options.credentials_dir {
        settings.extend(read_credentials_dir(dir, provider)?);
    }
    settings.extend(options.settings.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(settings)
}

fn read_credentials_dir(
    dir: &FsPath,
    provider: Provider,
) -> Result<BTreeMap<String, String>, StoreError> {
    let err = |source| StoreError::CredentialsDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut settings = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let path = entry.path();
        // Mounted secrets are symlinks to files (`..data/KEY`); hidden entries are the mount's own.
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        let value =
            std::fs::read_to_string(&path).map_err(|source| StoreError::CredentialsDir {
                path: path.clone(),
                source,
            })?;
        let value = value.trim().to_string();
        let key = match (provider, name.as_str()) {
            (Provider::S3, "awsaccesskeyid") => "AWS_ACCESS_KEY_ID".to_string(),
            (Provider::S3, "awssecretaccesskey") => "AWS_SECRET_ACCESS_KEY".to_string(),
            (Provider::S3, "awsregion") => "AWS_REGION".to_string(),
            (Provider::S3, "awsendpoint") => "AWS_ENDPOINT_URL".to_string(),
            (Provider::Azure, "azurestorageaccount") => "AZURE_STORAGE_ACCOUNT_NAME".to_string(),
            (Provider::Azure, "azurestoragekey") => "AZURE_STORAGE_ACCOUNT_KEY".to_string(),
            (Provider::Gcp, "gcp") => "GOOGLE_SERVICE_ACCOUNT_KEY".to_string(),
            _ => name,
        };
        settings.insert(key, value);
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_dir_maps_secret_keys_to_settings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("awsaccesskeyid"), "AKIA\n").unwrap();
        std::fs::write(dir.path().join("awssecretaccesskey"), "secret").unwrap();
        std::fs::write(dir.path().join("AWS_REGION"), "eu-west-1").unwrap();
        std::fs::create_dir(dir.path().join("..data")).unwrap();
        let settings = read_credentials_dir(dir.path(), Provider::S3).unwrap();
        assert_eq!(settings["AWS_ACCESS_KEY_ID"], "AKIA");
        assert_eq!(settings["AWS_SECRET_ACCESS_KEY"], "secret");
        assert_eq!(settings["AWS_REGION"], "eu-west-1");
        assert_eq!(settings.len(), 3);
        let missing = read_credentials_dir(&dir.path().join("nope"), Provider::S3).unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }

    #[test]
    fn caller_settings_win_over_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("AWS_REGION"), "eu-west-1").unwrap();
        let options = StoreOptions {
            read_environment: false,
            credentials_dir: Some(dir.path().to_path_buf()),
            settings: BTreeMap::from([("AWS_REGION".to_string(), "us-west-2".to_string())]),
            ..StoreOptions::default()
        };
        assert_eq!(
            collect_settings(Provider::S3, &options).unwrap()["AWS_REGION"],
            "us-west-2"
        );
    }
}
