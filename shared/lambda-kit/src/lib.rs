//! Glue every HTTP function shares, so handlers stay thin: one error type mapped to HTTP in one
//! place, VTEX's error envelope, bounded JSON parsing, route matching on the path suffix (the
//! registered fulfillment base may carry any prefix), tracing setup with correlation ids on every
//! line ([`correlation`]), CloudWatch EMF metrics ([`metrics`]) and settings ([`config`]); the
//! simulation's budgeted catalog reads ([`catalog_reads`]). The SQS
//! workers share [`sqs`]: records, batch responses, back-off, acting on the queue.

pub mod auth;
pub mod catalog_reads;
pub mod config;
pub mod correlation;
pub mod error;
pub mod http_util;
pub mod marketplaces;
pub mod metrics;
pub mod routes;
pub mod sqs;
pub mod telemetry;

pub use error::ApiError;
pub use http_util::{
    body_bytes, cache_control, empty_ok, header, json_response, parse_json, query_or, query_param,
};
pub use routes::Route;
