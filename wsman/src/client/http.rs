//! The client's HTTP connections: the transport layer's [`Connector`] opens
//! authenticated connections, and each [`Connection`] carries SOAP.

use super::transport::{HttpReply, SoapFuture, SoapTransport, TransportFactory};
use crate::error::Result;
use crate::transport::{Connection, Connector};
use std::future::Future;
use std::pin::Pin;

impl SoapTransport for Connection {
    fn post(&mut self, body: Vec<u8>) -> SoapFuture<'_> {
        Box::pin(async move {
            let (status, body) = Connection::post(self, body.into()).await?;
            Ok(HttpReply {
                status,
                body: body.to_vec(),
            })
        })
    }
}

impl TransportFactory for Connector {
    type Transport = Connection;

    fn connect(&self) -> Pin<Box<dyn Future<Output = Result<Connection>> + Send + '_>> {
        Box::pin(async move { Ok(Connector::connect(self).await?) })
    }
}
