//! A stand-in Kubernetes API server for unit tests: a client whose every
//! request is answered in process, so request counts and queries can be
//! checked without a real API server.

use std::time::Duration;

/// A client (default namespace `ns`) whose API server answers each request
/// with the JSON `answer` makes of its query string, after `delay`.
/// `answer` runs when the request is sent, so it can count and record.
pub fn client<F>(delay: Duration, answer: F) -> kube::Client
where
    F: Fn(&str) -> serde_json::Value + Send + Sync + 'static,
{
    let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
        let body = answer(req.uri().query().unwrap_or_default());
        async move {
            tokio::time::sleep(delay).await;
            http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(kube::client::Body::from(body.to_string().into_bytes()))
        }
    });
    kube::Client::new(service, "ns")
}
