//! What a ServiceAccount may do, asked of the API server itself: a
//! SubjectAccessReview per question (the answer `kubectl auth can-i --as`
//! gives), and a kubeconfig carrying a token minted for the account
//! (TokenRequest), so a process can run as it.

use crate::testbed::{Error, TestCluster, kube_err};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::config::Kubeconfig;
use std::path::{Path, PathBuf};

/// One question: may the account do `verb` on `group`/`resource`
/// (`/subresource`) in `namespace` (empty: cluster-wide)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
}

impl std::fmt::Display for Access<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            self.group
        };
        write!(f, "{} {group}/{}", self.verb, self.resource)?;
        if !self.subresource.is_empty() {
            write!(f, "/{}", self.subresource)?;
        }
        if self.namespace.is_empty() {
            write!(f, " (cluster-wide)")
        } else {
            write!(f, " in {}", self.namespace)
        }
    }
}

/// The user name and groups the API server gives `namespace/name`'s tokens.
pub fn service_account_user(namespace: &str, name: &str) -> (String, Vec<String>) {
    (
        format!("system:serviceaccount:{namespace}:{name}"),
        vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{namespace}"),
            "system:authenticated".into(),
        ],
    )
}

/// Whether `user` (in `groups`) is allowed `access`, as the API server's
/// authorizer answers it.
pub async fn allowed(
    admin: &Client,
    user: &str,
    groups: &[String],
    access: &Access<'_>,
) -> Result<bool, Error> {
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user.to_string()),
            groups: Some(groups.to_vec()),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(access.verb.into()),
                group: Some(access.group.into()),
                resource: Some(access.resource.into()),
                subresource: (!access.subresource.is_empty()).then(|| access.subresource.into()),
                namespace: (!access.namespace.is_empty()).then(|| access.namespace.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = Api::<SubjectAccessReview>::all(admin.clone())
        .create(&PostParams::default(), &review)
        .await
        .map_err(kube_err(format!("asking whether {user} may {access}")))?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Writes `<dir>/<name>.kubeconfig`: the test bed's cluster and CA, with a
/// one-hour token of ServiceAccount `namespace/name` instead of the admin
/// certificate.
pub async fn service_account_kubeconfig(
    bed: &TestCluster,
    namespace: &str,
    name: &str,
    dir: &Path,
) -> Result<PathBuf, Error> {
    let admin = bed.client().await?;
    let request = TokenRequest {
        spec: TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token = Api::<ServiceAccount>::namespaced(admin, namespace)
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .map_err(kube_err(format!(
            "requesting a token for ServiceAccount {namespace}/{name}"
        )))?
        .status
        .map(|s| s.token)
        .ok_or_else(|| Error::Kubeconfig(format!("no token came back for {namespace}/{name}")))?;

    let text = std::fs::read_to_string(bed.kubeconfig_path()).map_err(|source| Error::Io {
        path: bed.kubeconfig_path().to_path_buf(),
        source,
    })?;
    let mut config = Kubeconfig::from_yaml(&text).map_err(|e| Error::Kubeconfig(e.to_string()))?;
    for user in &mut config.auth_infos {
        if let Some(auth) = user.auth_info.as_mut() {
            *auth = kube::config::AuthInfo {
                token: Some(token.clone().into()),
                ..Default::default()
            };
        }
    }
    let yaml = serde_saphyr::to_string(&config).map_err(|e| Error::Kubeconfig(e.to_string()))?;
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&path, yaml).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
