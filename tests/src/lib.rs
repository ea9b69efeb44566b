//! Shared test support.

pub mod aws_env;
pub mod contract;
pub mod schema;
pub mod sqs_play;
