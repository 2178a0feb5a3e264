//! Whether a cloud store has credentials from a source the caller controls (its settings, a
//! credentials directory, the environment), and the error naming every source tried, and what
//! would fill it, when none has: the cloud's SDK would otherwise fall back to the instance
//! metadata service silently, and off a cloud VM report only a failed request to
//! 169.254.169.254.
//!
//! Owns that decision and that message. It must not build stores or fetch credentials.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use object_store::aws::AmazonS3ConfigKey;
use object_store::azure::AzureConfigKey;
use object_store::gcp::GoogleConfigKey;

use super::{StoreError, StoreOptions};
use crate::location::{Provider, StorageLocation};

/// The instance metadata service of a cloud: what a store asks for credentials when nothing
/// else holds any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataService {
    /// The caller did not allow it (`StoreOptions::instance_metadata`).
    NotAsked,
    /// Asked, and it gave no credentials.
    Failed(String),
}

/// No source holds credentials for a cloud store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub provider: &'static str,
    pub location: String,
    /// The credentials directory read, if any.
    pub credentials_dir: Option<PathBuf>,
    /// Whether the process environment was read.
    pub environment: bool,
    /// The names of the settings the caller passed.
    pub settings: Vec<String>,
    pub metadata: MetadataService,
    /// The settings that provide credentials for this provider, as their environment
    /// variables (and secret keys) name them.
    pub wanted: &'static str,
    /// Where the metadata service is for this provider.
    pub metadata_address: &'static str,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no {} credentials were found for {}: ",
            self.provider, self.location
        )?;
        let mut tried = Vec::new();
        if !self.settings.is_empty() {
            tried.push(format!(
                "the settings passed to the store ({}) hold none",
                self.settings.join(", ")
            ));
        }
        tried.push(match &self.credentials_dir {
            Some(dir) => format!("the credentials directory {} holds none", dir.display()),
            None => "no credentials directory (mounted secret) was used".to_string(),
        });
        tried.push(if self.environment {
            "the process environment holds none".to_string()
        } else {
            "the process environment was not read".to_string()
        });
        tried.push(match &self.metadata {
            MetadataService::NotAsked => format!(
                "the instance metadata service ({}) was not asked, as configured",
                self.metadata_address
            ),
            MetadataService::Failed(detail) => format!(
                "the instance metadata service ({}) gave none: {detail}",
                self.metadata_address
            ),
        });
        write!(
            f,
            "{}. Credentials come from {}",
            tried.join("; "),
            self.wanted
        )
    }
}

/// Whether a source the caller controls holds credentials (or says none are needed).
pub(super) fn found(provider: Provider, settings: &BTreeMap<String, String>) -> Option<()> {
    let yes = match provider {
        Provider::File => true,
        Provider::S3 => {
            let keys: Vec<AmazonS3ConfigKey> = present(settings);
            let has = |k: AmazonS3ConfigKey| keys.contains(&k);
            use AmazonS3ConfigKey as K;
            has(K::AccessKeyId)
                || has(K::SecretAccessKey)
                || (has(K::WebIdentityTokenFile) && has(K::RoleArn))
                || has(K::ContainerCredentialsRelativeUri)
                || (has(K::ContainerCredentialsFullUri) && has(K::ContainerAuthorizationTokenFile))
                || is_true(settings, K::SkipSignature)
        }
        Provider::Gcp => {
            let keys: Vec<GoogleConfigKey> = present(settings);
            let has = |k: GoogleConfigKey| keys.contains(&k);
            use GoogleConfigKey as K;
            has(K::ServiceAccount)
                || has(K::ServiceAccountKey)
                || has(K::ApplicationCredentials)
                || has(K::BearerToken)
                || is_true(settings, K::SkipSignature)
                || gcloud_default_credentials().is_some_and(|p| p.exists())
        }
        Provider::Azure => {
            let keys: Vec<AzureConfigKey> = present(settings);
            let has = |k: AzureConfigKey| keys.contains(&k);
            use AzureConfigKey as K;
            is_true(settings, K::UseEmulator)
                || has(K::AccessKey)
                || has(K::SasKey)
                || has(K::Token)
                || (has(K::ClientId) && has(K::ClientSecret) && has(K::AuthorityId))
                || (has(K::ClientId) && has(K::AuthorityId) && has(K::FederatedTokenFile))
                || is_true(settings, K::UseAzureCli)
                || is_true(settings, K::SkipSignature)
                || has(K::FabricTokenServiceUrl)
        }
    };
    yes.then_some(())
}

/// The error for `location`: every source tried, and the metadata service's answer if asked.
pub(super) fn missing(
    location: &StorageLocation,
    options: &StoreOptions,
    metadata_failure: Option<String>,
) -> StoreError {
    let (provider, wanted, metadata_address) = match location.provider {
        Provider::S3 => (
            "S3",
            "AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY (in a mounted secret: the keys \
             awsaccesskeyid and awssecretaccesskey), AWS_WEB_IDENTITY_TOKEN_FILE with \
             AWS_ROLE_ARN, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, the instance metadata \
             service of an EC2 instance with a role, or AWS_SKIP_SIGNATURE=true for a public \
             bucket",
            "http://169.254.169.254",
        ),
        Provider::Gcp => (
            "GCS",
            "GOOGLE_SERVICE_ACCOUNT (a key file) or GOOGLE_SERVICE_ACCOUNT_KEY (in a mounted \
             secret: the key gcp), GOOGLE_APPLICATION_CREDENTIALS, gcloud's \
             application_default_credentials.json, GOOGLE_BEARER_TOKEN, the metadata server of \
             a GCE instance with a service account, or GOOGLE_SKIP_SIGNATURE=true for a public \
             bucket",
            "http://metadata.google.internal (169.254.169.254)",
        ),
        Provider::Azure => (
            "Azure",
            "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY (in a mounted secret: \
             the keys azurestorageaccount and azurestoragekey), AZURE_STORAGE_SAS_KEY, \
             AZURE_STORAGE_TOKEN, AZURE_STORAGE_CLIENT_ID with AZURE_STORAGE_CLIENT_SECRET and \
             AZURE_STORAGE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_USE_AZURE_CLI=true, \
             the managed identity of an Azure VM, or AZURE_SKIP_SIGNATURE=true for a public \
             container",
            "http://169.254.169.254/metadata/identity",
        ),
        Provider::File => ("file", "nowhere: a file:// store needs none", "none"),
    };
    StoreError::NoCredentials(Box::new(Missing {
        provider,
        location: location.raw.clone(),
        credentials_dir: options.credentials_dir.clone(),
        environment: options.read_environment,
        settings: options.settings.keys().cloned().collect(),
        metadata: match metadata_failure {
            Some(detail) => MetadataService::Failed(detail),
            None => MetadataService::NotAsked,
        },
        wanted,
        metadata_address,
    }))
}

/// The provider's configuration keys among `settings` (environment-variable names or the
/// keys' own names, as `configured` reads them).
fn present<K: FromStr>(settings: &BTreeMap<String, String>) -> Vec<K> {
    settings
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .filter_map(|(k, _)| k.to_ascii_lowercase().parse::<K>().ok())
        .collect()
}

/// Whether `key` is set to `true` among `settings`.
fn is_true<K: FromStr + PartialEq>(settings: &BTreeMap<String, String>, key: K) -> bool {
    settings.iter().any(|(k, v)| {
        k.to_ascii_lowercase().parse::<K>().is_ok_and(|k| k == key)
            && v.trim().eq_ignore_ascii_case("true")
    })
}

/// gcloud's application default credentials, which the GCS client reads when present.
fn gcloud_default_credentials() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".config/gcloud/application_default_credentials.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn credentials_are_found_in_any_of_the_providers_settings() {
        assert!(found(Provider::S3, &settings(&[("AWS_REGION", "x")])).is_none());
        assert!(found(Provider::S3, &settings(&[("AWS_ACCESS_KEY_ID", "a")])).is_some());
        assert!(found(Provider::S3, &settings(&[("aws_secret_access_key", "a")])).is_some());
        assert!(found(Provider::S3, &settings(&[("AWS_ACCESS_KEY_ID", " ")])).is_none());
        assert!(found(Provider::S3, &settings(&[("AWS_SKIP_SIGNATURE", "true")])).is_some());
        assert!(found(Provider::S3, &settings(&[("AWS_SKIP_SIGNATURE", "false")])).is_none());
        assert!(found(
            Provider::S3,
            &settings(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"), ("AWS_ROLE_ARN", "r")])
        )
        .is_some());
        assert!(found(Provider::S3, &settings(&[("AWS_ROLE_ARN", "r")])).is_none());
        assert!(found(Provider::Gcp, &settings(&[("GOOGLE_BEARER_TOKEN", "t")])).is_some());
        assert!(found(
            Provider::Azure,
            &settings(&[("AZURE_STORAGE_ACCOUNT_NAME", "a")])
        )
        .is_none());
        assert!(found(
            Provider::Azure,
            &settings(&[("AZURE_STORAGE_ACCOUNT_KEY", "k")])
        )
        .is_some());
        assert!(found(
            Provider::Azure,
            &settings(&[("AZURE_STORAGE_USE_EMULATOR", "true")])
        )
        .is_some());
        assert!(found(Provider::File, &settings(&[])).is_some());
    }

    #[test]
    fn the_message_names_every_source_and_what_fills_it() {
        let location = StorageLocation::parse("s3://bucket/c/d/n").unwrap();
        let options = StoreOptions {
            credentials_dir: Some(PathBuf::from("/run/secrets/creds")),
            settings: settings(&[("AWS_REGION", "eu-west-1")]),
            ..StoreOptions::default()
        };
        let text = missing(&location, &options, None).to_string();
        for words in [
            "no S3 credentials",
            "s3://bucket/c/d/n",
            "AWS_REGION",
            "/run/secrets/creds",
            "environment",
            "169.254.169.254",
            "not asked",
            "AWS_ACCESS_KEY_ID",
            "awsaccesskeyid",
        ] {
            assert!(text.contains(words), "{words:?} in {text}");
        }
        let text = missing(
            &location,
            &StoreOptions::default(),
            Some("connection refused".into()),
        )
        .to_string();
        assert!(
            text.contains("gave none: connection refused")
                && text.contains("no credentials directory"),
            "{text}"
        );
    }
}
