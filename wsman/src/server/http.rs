//! Serving the WinRS service over HTTP: the transport layer authenticates
//! and unseals, the service answers.

use super::service::WinrsService;
use crate::transport::{SoapHandler, SoapReply};
use bytes::Bytes;
use std::future::Future;
use std::sync::Arc;

impl SoapHandler for Arc<WinrsService> {
    fn handle(&self, user: &str, body: Bytes) -> impl Future<Output = SoapReply> + Send {
        let service = self.clone();
        let user = user.to_string();
        async move {
            let reply = WinrsService::handle(&service, &user, &body).await;
            SoapReply::new(reply.status, reply.body.into_bytes())
        }
    }
}
